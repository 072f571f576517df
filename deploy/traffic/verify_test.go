package traffic

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestVerifyPublic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		colour := Blue
		if n > 3 { // the switch lands after a few requests
			colour = Green
		}
		if r.Host != "app.example" {
			http.Error(w, "wrong host", http.StatusMisdirectedRequest)
			return
		}
		w.Header().Set(ColourHeader, colour)
		fmt.Fprintf(w, `{"version":"v1","colour":%q}`, colour)
	}))
	defer srv.Close()
	fast := VerifyOptions{Host: "app.example", Interval: time.Millisecond, Timeout: 5 * time.Second}

	if err := VerifyPublic(ctx, srv.URL, Green, fast); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 6 {
		t.Errorf("%d requests, want 3 blue then 3 green in a row", got)
	}
	byJSON := fast
	byJSON.JSONField = "colour"
	if err := VerifyPublic(ctx, srv.URL, Green, byJSON); err != nil {
		t.Fatalf("JSON field: %v", err)
	}

	short := fast
	short.Timeout = 100 * time.Millisecond
	err := VerifyPublic(ctx, srv.URL, Blue, short)
	is(t, err, ErrWrongColour)
	mustContain(t, err.Error(), `last: GET `+srv.URL+`: check failed: colour "green" (status 200)`)

	short.Host = "other.example"
	err = VerifyPublic(ctx, srv.URL, Green, short)
	is(t, err, ErrWrongColour)
	mustContain(t, err.Error(), "status 421")

	srv.Close()
	err = VerifyPublic(ctx, srv.URL, Green, short)
	if !errors.Is(err, ErrWrongColour) || !strings.Contains(fmt.Sprint(err), "connection refused") {
		t.Errorf("against a closed server: %v", err)
	}
}
