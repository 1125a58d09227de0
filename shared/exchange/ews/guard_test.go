package ews

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// loopbackGuard lets tests reach their httptest servers on 127.0.0.1, as
// the local run's dev mode does; production guards refuse loopback.
var loopbackGuard = &urlguard.Policy{DevLoopback: true}

// TestNewRequiresAURLGuard: a client that could reach any address cannot
// be built, so safety does not depend on careful wiring.
func TestNewRequiresAURLGuard(t *testing.T) {
	_, err := New(Config{URL: "https://mail.contoso.com/EWS/Exchange.asmx", Auth: BasicAuth("a", "b")})
	if err == nil || !strings.Contains(err.Error(), "URLGuard is required") {
		t.Fatalf("err = %v, want a missing URL guard refused", err)
	}
}

// TestGuardRefusesLoopback: with the strict guard (what the cloud
// deployment uses) a connection to a loopback server is refused before any
// request reaches it, on the built-in transport and on a caller's transport
// with its own dial hook; the refusal is permanent, not a network hiccup.
func TestGuardRefusesLoopback(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	dialed := 0
	hook := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed++
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	// By name, so the caller's dial hook is called and only the check of
	// the address it connected to can refuse it.
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/EWS/Exchange.asmx"
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"built-in transport", nil},
		{"caller's transport with a dial hook", func(c *Config) { c.HTTPClient = &http.Client{Transport: hook} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, byName, func(c *Config) {
				c.URLGuard = &urlguard.Policy{}
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			_, err := c.SyncFolderHierarchy(context.Background(), imp, "")
			var ge *urlguard.Error
			if !errors.As(err, &ge) || !strings.Contains(ge.Reason, "loopback") {
				t.Fatalf("err = %v, want the URL guard's loopback refusal", err)
			}
			if got := Classify(err); got != ClassPermanent {
				t.Errorf("class %s, want permanent", got)
			}
			if hits != 0 {
				t.Errorf("the loopback server got %d requests", hits)
			}
		})
	}
	if dialed == 0 {
		t.Error("the caller's dial hook was not used")
	}
	// The same server is reachable once the guard allows loopback.
	c := newTestClient(t, srv.URL+"/EWS/Exchange.asmx", func(c *Config) { c.URLGuard = &urlguard.Policy{DevLoopback: true} })
	_, _ = c.SyncFolderHierarchy(context.Background(), imp, "")
	if hits != 1 {
		t.Errorf("with loopback allowed the server got %d requests, want 1", hits)
	}
}
