package load_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/traffic/load"
)

// Keep load on an endpoint around a change and check nothing failed.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Blueshift-Colour", "blue")
	}))
	defer srv.Close()

	g, err := load.Start(context.Background(), load.Options{URL: srv.URL, Rate: 300})
	if err != nil {
		panic(err)
	}
	time.Sleep(200 * time.Millisecond) // the deployment happens here
	st := g.Stop()
	fmt.Println("failed:", st.Failed, "all blue:", st.ByColour["blue"] == st.Sent)
	// Output: failed: 0 all blue: true
}
