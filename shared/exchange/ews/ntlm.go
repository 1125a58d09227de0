package ews

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/Azure/go-ntlmssp"

	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// DefaultNTLMConnections is Config.NTLMConnections' default: how many
// calls an NTLM client runs at once.
const DefaultNTLMConnections = 8

// max401Body bounds how much of a 401 answer is kept during a handshake.
const max401Body = 64 << 10

type ntlmAuth struct{ user, pass, domain string }

// NTLMAuth performs the NTLM (or Negotiate/NTLM) handshake with
// github.com/Azure/go-ntlmssp. domain may be empty when user is a UPN.
//
// NTLM authenticates a TCP connection, not a request, so each call gets a
// connection of its own for its whole handshake and request (see
// Config.NTLMConnections); concurrent calls never share one.
func NTLMAuth(user, pass, domain string) Authenticator {
	return &ntlmAuth{user: user, pass: pass, domain: domain}
}

func (a *ntlmAuth) String() string {
	if a.domain != "" {
		return "ntlm(" + a.domain + `\` + a.user + ")"
	}
	return "ntlm(" + a.user + ")"
}
func (a *ntlmAuth) GoString() string { return a.String() }
func (a *ntlmAuth) redactor() *redact.Redactor {
	ids := []string{a.user}
	if a.domain != "" {
		ids = append(ids, a.domain+`\`+a.user, a.user+"@"+a.domain)
	}
	return redact.New([]string{a.pass}, ids...)
}

// RoundTripper runs up to DefaultNTLMConnections calls at once, each on a
// connection of its own (Client uses Config.NTLMConnections instead).
func (a *ntlmAuth) RoundTripper(base http.RoundTripper) http.RoundTripper {
	return a.pooled(base, DefaultNTLMConnections)
}

// pooled returns a round tripper that lends each call one whole transport
// of a single connection, so the three legs of a handshake and the
// request cannot be spread over connections by a shared pool
// (Azure/go-ntlmssp#43: concurrent calls got 401). A call keeps its
// transport until its response body is closed. When base is not an
// *http.Transport its connections cannot be limited, so calls go through
// base one at a time (keep-alive then reuses the one idle connection).
func (a *ntlmAuth) pooled(base http.RoundTripper, n int) http.RoundTripper {
	if n <= 0 {
		n = DefaultNTLMConnections
	}
	var rts []http.RoundTripper
	if tr, ok := base.(*http.Transport); ok {
		for range n {
			rts = append(rts, a.negotiator(singleConnTransport(tr)))
		}
	} else {
		rts = []http.RoundTripper{a.negotiator(base)}
	}
	return &transportPool{slots: make(chan struct{}, len(rts)), idle: rts}
}

// negotiator authenticates every request sent through rt.
func (a *ntlmAuth) negotiator(rt http.RoundTripper) http.RoundTripper {
	neg := ntlmssp.Negotiator{RoundTripper: release401{rt}}
	user := a.user
	if a.domain != "" {
		user = a.domain + `\` + a.user
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		// The Negotiator takes the credentials from the Basic header and
		// never sends them as Basic (AllowBasicAuth is false).
		r.SetBasicAuth(user, a.pass)
		return neg.RoundTrip(r)
	})
}

// singleConnTransport clones tr (TLS config, dialer and its Control hook,
// proxy, timeouts) into a transport that holds at most one connection and
// speaks HTTP/1.1 only: HTTP/2 would multiplex calls on the connection
// NTLM authenticated.
func singleConnTransport(tr *http.Transport) *http.Transport {
	c := tr.Clone()
	c.MaxConnsPerHost = 1
	c.MaxIdleConnsPerHost = 1
	c.DisableKeepAlives = false // the handshake needs the connection kept
	c.Protocols = new(http.Protocols)
	c.Protocols.SetHTTP1(true)
	c.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	if c.TLSClientConfig != nil {
		// A used transport may have added "h2" to its ALPN list.
		c.TLSClientConfig.NextProtos = slices.DeleteFunc(slices.Clone(c.TLSClientConfig.NextProtos),
			func(p string) bool { return p != "http/1.1" })
	}
	return c
}

// release401 reads a 401 answer's body at once. The Negotiator keeps the
// first 401 open while it sends the next leg; unread, that body would
// hold the transport's only connection and the next leg would wait for
// it forever.
type release401 struct{ rt http.RoundTripper }

func (r release401) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	// A longer body is cut (closing it unread drops the connection); a
	// 401 page is a few KiB and the client does not read it.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, max401Body))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// transportPool lends each call one of its round trippers.
type transportPool struct {
	slots chan struct{} // one token per round tripper lent out
	mu    sync.Mutex
	// idle is a stack, so a quiet client keeps reusing its most recently
	// used (still authenticated) connection.
	idle []http.RoundTripper
}

func (p *transportPool) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case p.slots <- struct{}{}:
	case <-r.Context().Done():
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, r.Context().Err()
	}
	p.mu.Lock()
	rt := p.idle[len(p.idle)-1]
	p.idle = p.idle[:len(p.idle)-1]
	p.mu.Unlock()
	resp, err := rt.RoundTrip(r)
	if err != nil {
		p.put(rt)
		return nil, err
	}
	resp.Body = &lentBody{ReadCloser: resp.Body, pool: p, rt: rt}
	return resp, nil
}

// put gives back a round tripper taken by RoundTrip.
func (p *transportPool) put(rt http.RoundTripper) {
	p.mu.Lock()
	p.idle = append(p.idle, rt)
	p.mu.Unlock()
	<-p.slots
}

// lentBody gives the call's round tripper back once the body is closed
// and its connection is free again.
type lentBody struct {
	io.ReadCloser
	once sync.Once
	pool *transportPool
	rt   http.RoundTripper
}

func (b *lentBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.pool.put(b.rt) })
	return err
}
