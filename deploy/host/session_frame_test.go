package host

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// The end marker is found however the stream is cut into reads, output
// that only begins like the marker is passed on whole, and a stream that
// ends before the marker is an error.
func TestFrameReaderMarkerSplitAcrossReads(t *testing.T) {
	const marker = "bs-0123456789abcdef0123456789abcdef"
	body := "out bs-0123 almost" + "bs-" + "\x00binary\nbs-01234567" // prefixes of the marker, not the marker
	stream := body + marker + " 42\n"
	for _, r := range map[string]io.Reader{
		"one byte at a time": iotest.OneByteReader(strings.NewReader(stream)),
		"all at once":        strings.NewReader(stream),
		"half at a time":     iotest.HalfReader(strings.NewReader(stream)),
	} {
		f := &frameReader{r: r}
		var out bytes.Buffer
		trailer, err := f.copyUntil(&out, marker)
		if err != nil || trailer != " 42" || out.String() != body {
			t.Fatalf("first: out %q, trailer %q, err %v", out.String(), trailer, err)
		}
		if _, err := f.copyUntil(io.Discard, marker); err == nil {
			t.Fatal("a stream that ends before its marker is not an error")
		}
	}
}

// Live output is not held back unless its end could begin the marker.
func TestPartialMarker(t *testing.T) {
	m := []byte("bs-abc")
	for b, want := range map[string]int{"started\n": 0, "x b": 1, "x bs-a": 4, "bs-ab": 5, "": 0, "bs-abd": 0} {
		if got := partialMarker([]byte(b), m); got != want {
			t.Errorf("partialMarker(%q) = %d, want %d", b, got, want)
		}
	}
}
