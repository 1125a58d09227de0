package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// startLimited serves a handler that reads the whole body, bounded by lim.
func startLimited(t *testing.T, lim serverLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, lln := newAPIServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}), ln, lim)
	go func() { _ = srv.Serve(lln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// closedWithin reads c until the server closes it, failing if that takes
// longer than max.
func closedWithin(t *testing.T, c net.Conn, max time.Duration) {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(max))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("connection still open after %v", max)
	}
}

// TestLocalAPIClosesSlowClients: half-sent bodies, a trickled body and an
// idle keep-alive are closed within the (here short) timeouts, and more
// connections than the limit do not keep a well-behaved client out.
func TestLocalAPIClosesSlowClients(t *testing.T) {
	lim := serverLimits{ReadHeader: 200 * time.Millisecond, Read: 400 * time.Millisecond, Write: time.Second, Idle: 300 * time.Millisecond, MaxConns: 8}
	addr := startLimited(t, lim)
	bound := lim.Read + 2*time.Second

	t.Run("half-sent bodies", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":")
				// Waits in the backlog count too: 32 connections over 8
				// slots take 4 rounds of the read timeout at most.
				closedWithin(t, c, 4*lim.Read+bound)
			}()
		}
		wg.Wait()
	})

	t.Run("trickled body", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
		start := time.Now()
		for time.Since(start) < bound {
			if _, err := c.Write([]byte("x")); err != nil {
				break // closed by the server
			}
			time.Sleep(50 * time.Millisecond)
		}
		closedWithin(t, c, bound)
		if d := time.Since(start); d > bound+lim.Read {
			t.Errorf("trickled body kept open %v", d)
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(lim.Idle + 2*time.Second))
		if _, err := br.ReadByte(); err == nil || isTimeout(err) {
			t.Fatalf("idle keep-alive not closed: %v", err)
		}
		if d := time.Since(start); d > lim.Idle+time.Second {
			t.Errorf("idle keep-alive closed after %v, want about %v", d, lim.Idle)
		}
	})

	t.Run("headers never finished", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		closedWithin(t, c, lim.ReadHeader+2*time.Second)
	})

	t.Run("limit holds, then serves", func(t *testing.T) {
		var held []net.Conn
		for i := 0; i < lim.MaxConns+4; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
		}
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		cl := &http.Client{Timeout: 4*lim.ReadHeader + bound}
		resp, err := cl.Post("http://"+addr+"/", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("a well-behaved client was kept out: %v", err)
		}
		resp.Body.Close()
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
