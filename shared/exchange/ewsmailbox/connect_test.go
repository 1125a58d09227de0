package ewsmailbox_test

import (
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// The cache hands back the same client (and so the same connections and
// OAuth token) for the same tenant, endpoint and credential, and a new one
// when any of them changes: a rotated password must never reuse the old
// client.
func TestClientCacheReusesOnlyForTheSameTenantEndpointAndCredential(t *testing.T) {
	const url, other = "https://mail.example.com/EWS/Exchange.asmx", "https://mail2.example.com/EWS/Exchange.asmx"
	acme := domain.Tenant{ID: "acme", EWSURL: url}
	cred := domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "old"}
	rotated := cred
	rotated.Password = "new"

	cache := ewsmailbox.NewClientCache(ewsmailbox.Options{URLGuard: &urlguard.Policy{}}, 10)
	client := func(t *testing.T, tn domain.Tenant, c domain.Credential, u string) *ews.Client {
		t.Helper()
		cl, err := cache.For(tn, c).Client(u)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	first := client(t, acme, cred, url)
	if client(t, acme, cred, url) != first {
		t.Error("the same tenant, endpoint and credential got a new client")
	}
	for _, tc := range []struct {
		name   string
		tenant domain.Tenant
		cred   domain.Credential
		url    string
	}{
		{"rotated credential", acme, rotated, url},
		{"mailbox endpoint override", acme, cred, other},
		{"other tenant", domain.Tenant{ID: "globex", EWSURL: url}, cred, url},
		{"other Exchange version", domain.Tenant{ID: "acme", EWSURL: url, ExchangeVersion: "Exchange2013"}, cred, url},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if client(t, tc.tenant, tc.cred, tc.url) == first {
				t.Error("got the cached client of another tenant, endpoint, version or credential")
			}
		})
	}
}

func TestClientCacheTargetPicksEndpointAndMode(t *testing.T) {
	const url, other = "https://mail.example.com/EWS/Exchange.asmx", "https://mail2.example.com/EWS/Exchange.asmx"
	tc := ewsmailbox.NewClientCache(ewsmailbox.Options{URLGuard: &urlguard.Policy{}}, 10).For(domain.Tenant{ID: "acme", EWSURL: url},
		domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "pw"})
	tenantClient, err := tc.Client(url)
	if err != nil {
		t.Fatal(err)
	}
	overrideClient, err := tc.Client(other)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		ref    domain.MailboxRef
		client *ews.Client
		mode   ews.Mode
	}{
		{"impersonation on the tenant endpoint", domain.MailboxRef{Address: "anna@example.com", Mode: domain.AccessImpersonation}, tenantClient, ews.ModeImpersonation},
		{"delegate on an override", domain.MailboxRef{Address: "bob@example.com", Mode: domain.AccessDelegate, EWSURL: other}, overrideClient, ews.ModeDelegate},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, target, err := tc.Target(c.ref)
			if err != nil {
				t.Fatal(err)
			}
			if cl != c.client || target.Mailbox != c.ref.Address || target.Mode != c.mode {
				t.Errorf("target %+v (same client: %v), want %s on %s", target, cl == c.client, c.mode, c.ref.Address)
			}
		})
	}
	bad := ewsmailbox.NewClientCache(ewsmailbox.Options{URLGuard: &urlguard.Policy{}}, 10).For(domain.Tenant{ID: "acme", EWSURL: "::"},
		domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "pw"})
	if _, _, err := bad.Target(domain.MailboxRef{Address: "anna@example.com"}); accessKind(t, err).Kind != domain.AccessPermanent {
		t.Errorf("a client that cannot be built: %v, want a permanent access error", err)
	}
}
