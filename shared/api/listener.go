package api

import (
	"bytes"
	"encoding/json"
	"net"
	"strconv"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// JSONErrorListener wraps the listener of a net/http server serving the
// API. net/http refuses some requests before any handler runs (a malformed
// percent-encoding in the path, a malformed request line or header) with a
// plain-text answer; this rewrites those answers into the API's JSON error
// so every refusal has the same shape.
func JSONErrorListener(l net.Listener) net.Listener { return jsonErrorListener{l} }

type jsonErrorListener struct{ net.Listener }

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return jsonErrorConn{c}, nil
}

type jsonErrorConn struct{ net.Conn }

// serverErrorHeaders is what net/http writes after the status line of its
// own error answers; the API's handlers never answer text/plain.
const serverErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c jsonErrorConn) Write(b []byte) (int, error) {
	// Only a write that starts with a 4xx status line can be net/http's
	// own answer: anything else (every handler's response, bodies
	// included) passes without being scanned.
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 4")) {
		return c.Conn.Write(b)
	}
	status, body, ok := bytes.Cut(b, []byte(serverErrorHeaders))
	code := 0
	if ok && len(status) >= 12 && !bytes.Contains(status, []byte("\r\n")) {
		code, _ = strconv.Atoi(string(status[9:12]))
	}
	if code < 400 || code > 499 {
		return c.Conn.Write(b)
	}
	detail := strings.TrimPrefix(string(body), string(status[9:]))
	detail = strings.TrimPrefix(detail, ": ")
	msg := "the request line or path is malformed (for example a bad percent-encoding)"
	if detail != "" {
		msg = "the request is malformed: " + detail
	}
	field := ""
	if code == 400 && detail == "" {
		// net/http gives no detail for a path it cannot unescape.
		field = "path"
	}
	code2 := domain.CodeInvalid
	if code == 431 {
		code2 = domain.CodeTooLarge
	}
	out, _ := jsonMarshal(errorBody{Error: errorDetail{Code: code2, Message: msg, Field: field}})
	var resp bytes.Buffer
	resp.Write(status)
	resp.WriteString("\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: ")
	resp.WriteString(strconv.Itoa(len(out)))
	resp.WriteString("\r\n\r\n")
	resp.Write(out)
	if _, err := c.Conn.Write(resp.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	return append(b, '\n'), err
}
