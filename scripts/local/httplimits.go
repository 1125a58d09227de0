package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// serverLimits bound what a slow or idle client can hold of the local API:
// without them, half-sent bodies, bodies trickled a byte at a time and idle
// keep-alives each kept a connection (and a goroutine) open indefinitely.
type serverLimits struct {
	ReadHeader time.Duration // request line and headers
	Read       time.Duration // whole request, body included
	Write      time.Duration // from the end of the headers to the end of the answer
	Idle       time.Duration // keep-alive between requests
	MaxConns   int           // open connections; more wait in the kernel's backlog
}

// defaultServerLimits: Write covers the slowest call, a verify of many
// mailboxes (20 s budget), with room to spare.
var defaultServerLimits = serverLimits{
	ReadHeader: 5 * time.Second,
	Read:       30 * time.Second,
	Write:      60 * time.Second,
	Idle:       60 * time.Second,
	MaxConns:   256,
}

// newAPIServer returns the local API's server and the listener to serve it
// on, both bounded by lim.
func newAPIServer(h http.Handler, ln net.Listener, lim serverLimits) (*http.Server, net.Listener) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeader,
		ReadTimeout:       lim.Read,
		WriteTimeout:      lim.Write,
		IdleTimeout:       lim.Idle,
		MaxHeaderBytes:    64 << 10,
	}
	return srv, &limitListener{Listener: ln, sem: make(chan struct{}, lim.MaxConns)}
}

// limitListener accepts at most cap(sem) connections at a time. Since
// every connection is closed within the timeouts above, slow clients can
// hold a slot only that long and cannot exhaust the server for good.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
