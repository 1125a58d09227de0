package ews_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

const (
	simUser     = `CONTOSO\svc-ews`
	simPassword = "Ntlm-pw-for-test"
	simMailbox  = "anna@contoso.com"
)

// startNTLMSim serves a simulator over TLS whose service account may
// impersonate one mailbox. The simulator checks the NTLMv2 response of
// each connection and answers 401 (with a body) to a request on a
// connection that has not finished its handshake.
func startNTLMSim(t *testing.T, latency time.Duration) (*ewssim.Sim, *ewssim.Server) {
	t.Helper()
	sim := ewssim.New(ewssim.Options{Seed: 1, Latency: latency, MaxConcurrency: -1})
	if err := sim.AddMailbox(simMailbox, "Anna"); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddAccount(ewssim.Account{Username: simUser, Password: simPassword, ImpersonationScope: []string{simMailbox}}); err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return sim, srv
}

// TestNTLMConcurrentCalls sends many calls at once through one NTLM
// client, as the sync engine's parallel jobs of a tenant do. NTLM
// authenticates a connection, so every call succeeds only if each
// handshake stays on one connection; a leg sent on another call's
// connection gets 401, which callers would report as auth_failed.
func TestNTLMConcurrentCalls(t *testing.T) {
	const calls, conns = 50, 6
	// The production transport is the caller's own *http.Transport with a
	// dialer hook (urlguard's Control). Counting its dials shows the client
	// keeps using the caller's dialer and bounds its connections.
	callerTransport := func(srv *ewssim.Server, dials *atomic.Int64) *http.Transport {
		return &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}
	}
	tests := []struct {
		name string
		// config returns the client's transport settings; dials counts
		// the connections the caller's transport opens (unused for the
		// built-in transport).
		config func(srv *ewssim.Server, dials *atomic.Int64) ews.Config
		// maxConns bounds the connections, and so the concurrent calls.
		maxConns   int
		countDials bool
	}{
		{name: "built-in transport", maxConns: conns,
			config: func(srv *ewssim.Server, _ *atomic.Int64) ews.Config {
				return ews.Config{RootCAs: srv.CertPool()}
			}},
		{name: "caller's transport", maxConns: conns, countDials: true,
			config: func(srv *ewssim.Server, dials *atomic.Int64) ews.Config {
				return ews.Config{HTTPClient: &http.Client{Transport: callerTransport(srv, dials)}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, srv := startNTLMSim(t, 20*time.Millisecond)
			var dials atomic.Int64
			cfg := tt.config(srv, &dials)
			cfg.URL = srv.EWSURL
			cfg.Auth = ews.NTLMAuth("svc-ews", simPassword, "CONTOSO")
			cfg.NTLMConnections = conns
			cfg.URLGuard = &urlguard.Policy{DevLoopback: true} // the simulator listens on 127.0.0.1
			cfg.Timeout = 20 * time.Second
			c, err := ews.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			target := ews.Target{Mailbox: simMailbox, Mode: ews.ModeImpersonation}
			inbox := []ews.FolderRef{{Distinguished: "inbox"}}
			var wg sync.WaitGroup
			errs := make(chan error, calls)
			for range calls {
				wg.Go(func() {
					res, err := c.GetFolder(context.Background(), target, inbox)
					if err != nil {
						errs <- err
					} else if res[0].Err != nil {
						errs <- res[0].Err
					}
				})
			}
			wg.Wait()
			close(errs)
			failed := 0
			for err := range errs {
				if failed++; failed <= 3 {
					t.Errorf("call failed (class %s): %v", ews.Classify(err), err)
				}
			}
			if failed > 0 {
				t.Fatalf("%d of %d concurrent NTLM calls failed", failed, calls)
			}
			st := sim.Stats()
			if st.AuthFailures != 0 {
				t.Errorf("the simulator rejected %d NTLM authentications", st.AuthFailures)
			}
			if got := st.Calls["GetFolder"]; got != calls {
				t.Errorf("simulator answered %d GetFolder calls, want %d", got, calls)
			}
			for owner, peak := range st.PeakConcurrency {
				if peak > tt.maxConns {
					t.Errorf("%s ran %d calls at once, want at most %d", owner, peak, tt.maxConns)
				}
			}
			if !tt.countDials {
				return
			}
			first := dials.Load()
			if first < 1 || first > int64(tt.maxConns) {
				t.Errorf("%d connections dialed through the caller's dialer, want 1..%d", first, tt.maxConns)
			}
			// Later calls reuse the authenticated connections.
			for range conns {
				if _, err := c.GetFolder(context.Background(), target, inbox); err != nil {
					t.Fatal(err)
				}
			}
			if n := dials.Load(); n != first {
				t.Errorf("sequential calls dialed %d new connections, want 0", n-first)
			}
		})
	}
}
