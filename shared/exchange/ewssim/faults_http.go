package ewssim

// faults_http.go sends the faults that break the HTTP exchange itself
// (Fault.Transport): the EWS handler and graphsim's share them.

import (
	"context"
	"net"
	"net/http"
	"strconv"
)

// AnswerRaw sends f's raw answer (FaultRaw): its status, headers, content
// type and body, nothing of the operation's.
func AnswerRaw(w http.ResponseWriter, f Fault) {
	h := w.Header()
	h.Del("Content-Type")
	for k, v := range f.Header {
		h.Set(k, v)
	}
	if f.ContentType != "" {
		h.Set("Content-Type", f.ContentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(f.Body)))
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(f.Body))
}

// Hang holds a call (FaultHang) until ctx ends: the client gave up and
// closed the connection, or the server is closing.
func Hang(ctx context.Context) { <-ctx.Done() }

// Cut reports whether kind cuts an answer short (SendCut).
func Cut(kind FaultKind) bool {
	return kind == FaultTruncated || kind == FaultReset || kind == FaultStall
}

// SendCut sends an answer cut as kind says. FaultTruncated: the first
// half of body, with a Content-Length that matches it (a well-formed HTTP
// answer whose document stops mid-way). FaultReset: the full
// Content-Length but only the first half of body, then the connection is
// reset (a stream reset over HTTP/2). FaultStall: the full Content-Length
// and the first half of body, then nothing until ctx ends (the client
// gave up).
func SendCut(ctx context.Context, w http.ResponseWriter, kind FaultKind, status int, contentType string, body []byte) {
	half := body[:len(body)/2]
	if kind == FaultStall {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(half)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		Hang(ctx)
		return
	}
	if kind == FaultTruncated {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(half)))
		w.WriteHeader(status)
		_, _ = w.Write(half)
		return
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, rw, err := hj.Hijack(); err == nil {
			_, _ = rw.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n" +
				"Content-Type: " + contentType + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
			_, _ = rw.Write(half)
			_ = rw.Flush()
			reset(conn)
			return
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(half)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	panic(http.ErrAbortHandler) // the server drops the connection or resets the stream
}

// Drop resets the connection without answering (FaultDrop): a stream
// reset over HTTP/2.
func Drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			reset(conn)
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// reset closes conn with a TCP reset rather than an orderly close.
func reset(conn net.Conn) {
	raw := conn
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		raw = nc.NetConn()
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
		_ = tc.Close()
		return
	}
	_ = conn.Close()
}
