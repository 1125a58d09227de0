package ews

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Tracer records each request/response pair as files in a directory:
// NNNNNN-Op.request.xml, NNNNNN-Op.response.xml (the bodies as sent and
// received, so `ewsctl decode` can read them) and NNNNNN-Op.meta.txt
// (URL, status, timing and headers with credentials redacted). Tracing is
// for troubleshooting on demand: SOAP bodies hold mailbox content.
type Tracer struct {
	dir string
	mu  sync.Mutex
	seq int
}

// NewTracer creates dir (mode 0700) if needed. Numbering continues after
// any trace files already there.
func NewTracer(dir string) (*Tracer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ews: trace dir: %w", err)
	}
	existing, err := filepath.Glob(filepath.Join(dir, "*.meta.txt"))
	if err != nil {
		return nil, fmt.Errorf("ews: trace dir: %w", err)
	}
	return &Tracer{dir: dir, seq: len(existing)}, nil
}

// Dir is where the files go.
func (t *Tracer) Dir() string { return t.dir }

// redactedHeaders never reach a trace file with their values.
var redactedHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
	"Set-Cookie":          true,
	"Www-Authenticate":    true, // NTLM challenges: not secret, but useless noise
}

func (t *Tracer) record(c *Client, op string, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte, callErr error, d time.Duration) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.seq++
	prefix := filepath.Join(t.dir, fmt.Sprintf("%06d-%s", t.seq, op))
	t.mu.Unlock()

	var meta bytes.Buffer
	fmt.Fprintf(&meta, "operation: %s\nurl: %s\nduration: %s\n", op, req.URL.Redacted(), d.Round(time.Millisecond))
	writeHeaders(&meta, "request headers", req.Header)
	if resp != nil {
		fmt.Fprintf(&meta, "status: %s\n", resp.Status)
		writeHeaders(&meta, "response headers", resp.Header)
	}
	if callErr != nil {
		fmt.Fprintf(&meta, "error: %s\n", callErr)
	}
	// Errors while tracing must not fail the call; the trace is best effort.
	_ = os.WriteFile(prefix+".request.xml", []byte(c.red.String(string(reqBody))), 0o600)
	if resp != nil {
		_ = os.WriteFile(prefix+".response.xml", []byte(c.red.String(string(respBody))), 0o600)
	}
	_ = os.WriteFile(prefix+".meta.txt", []byte(c.red.String(meta.String())), 0o600)
}

func writeHeaders(w *bytes.Buffer, title string, h http.Header) {
	fmt.Fprintf(w, "%s:\n", title)
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		if redactedHeaders[http.CanonicalHeaderKey(k)] {
			v = "[REDACTED]"
		}
		fmt.Fprintf(w, "  %s: %s\n", k, v)
	}
}
