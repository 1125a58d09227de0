package graph

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

const (
	testToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.test-bearer-token-value"
	testBase  = "https://graph.microsoft.com/v1.0"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// canned is one answer of the fake transport.
type canned struct {
	status int
	header map[string]string
	body   []byte
}

func answer(status int, body []byte, kv ...string) canned {
	h := map[string]string{"Content-Type": "application/json; charset=utf-8", "request-id": "req-" + strconv.Itoa(status)}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return canned{status: status, header: h, body: body}
}

func (a canned) response(r *http.Request) *http.Response {
	h := http.Header{}
	for k, v := range a.header {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(bytes.NewReader(a.body)),
		ContentLength: int64(len(a.body)), Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}

// recorder is a fake transport: it records requests and answers each
// with the next canned answer (the last one repeats).
type recorder struct {
	mu      sync.Mutex
	reqs    []*http.Request
	bodies  [][]byte
	answers []canned
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var b []byte
	if r.Body != nil {
		b, _ = io.ReadAll(r.Body)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.reqs = append(rec.reqs, r)
	rec.bodies = append(rec.bodies, b)
	a := answer(200, []byte(`{}`))
	if len(rec.answers) > 0 {
		a = rec.answers[0]
		if len(rec.answers) > 1 {
			rec.answers = rec.answers[1:]
		}
	}
	return a.response(r), nil
}

func (rec *recorder) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) == 0 {
		t.Fatal("no request sent")
	}
	return rec.reqs[len(rec.reqs)-1], rec.bodies[len(rec.bodies)-1]
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var testNow = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// newTestClient is a client on testBase whose transport is rt.
func newTestClient(t testing.TB, rt http.RoundTripper, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: testBase, Auth: StaticToken(testToken), Transport: rt, Clock: fixedClock{testNow},
		NewRequestID: func() string { return "00000000-0000-4000-8000-000000000001" }}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var bg = context.Background()
