package graph

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
)

// TestStreamLimits: a stream is copied as it comes and never past the
// limit: a Content-Length over it is refused before anything is opened, a
// body without one that runs past it stops after the limit with
// ErrStreamTooLarge, a body shorter than its Content-Length is a
// truncation, an error answer is Graph's error and opens nothing.
func TestStreamLimits(t *testing.T) {
	const max = 8
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		length   int64 // -1: none (chunked)
		want     error
		opened   bool
		received string
	}{
		{"fits", 200, "12345678", 8, nil, true, "12345678"},
		{"fits without a length", 200, "1234", -1, nil, true, "1234"},
		{"length over the limit", 200, "123456789", 9, ErrStreamTooLarge, false, ""},
		{"runs past the limit", 200, "123456789abc", -1, ErrStreamTooLarge, true, "12345678"},
		{"shorter than its length", 200, "1234", 6, ErrTruncated, true, "1234"},
		{"not found", 404, `{"error":{"code":"ErrorItemNotFound","message":"gone"}}`, -1, nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				h := http.Header{"Content-Type": {"message/rfc822"}}
				if tc.status != 200 {
					h.Set("Content-Type", "application/json")
				}
				return &http.Response{StatusCode: tc.status, Header: h, Body: io.NopCloser(bytes.NewReader([]byte(tc.body))),
					ContentLength: tc.length, Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
			})
			c := newTestClient(t, rt)
			var got bytes.Buffer
			opened := false
			err := c.StreamMessageMIME(context.Background(), "ann@contoso.com", "AAMk1", max, func(size int64) (io.Writer, error) {
				opened = true
				if size != tc.length {
					t.Errorf("size %d, want %d", size, tc.length)
				}
				return &got, nil
			})
			switch {
			case tc.status == 404:
				if Classify(err) != ClassNotFound {
					t.Errorf("err = %v, want not found", err)
				}
			case tc.want == nil && err != nil, tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if opened != tc.opened || got.String() != tc.received {
				t.Errorf("opened %v, received %q; want %v, %q", opened, got.String(), tc.opened, tc.received)
			}
		})
	}
}
