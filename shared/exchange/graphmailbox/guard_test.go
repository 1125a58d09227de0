package graphmailbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// TestURLGuardRequired: a connector cannot reach a tenant without the URL
// guard, and the guard it is given decides which addresses it may reach
// (the simulator listens on loopback, which production refuses).
func TestURLGuardRequired(t *testing.T) {
	e := newSimEnv(t)
	cases := []struct {
		name     string
		opts     graphmailbox.Options
		wantCode string // "" = the sync call succeeds
	}{
		{name: "no guard", opts: graphmailbox.Options{RootCAs: e.srv.CertPool()}, wantCode: "ClientConfig"},
		{name: "production guard refuses loopback", opts: graphmailbox.Options{URLGuard: &urlguard.Policy{}, RootCAs: e.srv.CertPool()}, wantCode: "any"},
		{name: "guard allowing loopback", opts: graphmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}, RootCAs: e.srv.CertPool()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.graph.Stats().Requests
			conn := graphmailbox.NewConnector(tc.opts)
			acc, err := conn.Connect(context.Background(), e.tenant, e.cred)
			if err == nil {
				_, err = acc.SyncHierarchy(context.Background(), domain.MailboxRef{Address: alice, Mode: domain.AccessApplication}, "")
			}
			switch {
			case tc.wantCode == "" && err != nil:
				t.Fatalf("sync with a loopback-allowing guard: %v", err)
			case tc.wantCode == "ClientConfig":
				var ae *domain.AccessError
				if !errors.As(err, &ae) || ae.Code != "ClientConfig" {
					t.Fatalf("Connect without a guard = %v, want ClientConfig", err)
				}
			case tc.wantCode == "any" && err == nil:
				t.Fatal("a production guard let the connector reach a loopback server")
			}
			if tc.wantCode != "" && e.graph.Stats().Requests != before {
				t.Fatalf("a refused connector reached the server (%d requests)", e.graph.Stats().Requests-before)
			}
		})
	}
}
