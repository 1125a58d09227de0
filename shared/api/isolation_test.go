package api

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestTenantIsolation: every route is scoped by {id}; naming another
// tenant's mailbox through one's own tenant finds nothing, changes nothing,
// and never uses the other tenant's secret.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	contosoCred := basicCred("svc", "Iso-contoso-pw")
	globexCred := basicCred("svc", "Iso-globex-pw")
	e.onboard("contoso", contosoCred, "alice@contoso.com")
	e.onboard("globex", globexCred, "bob@globex.com", "carl@globex.com")
	ctx := context.Background()
	if _, err := e.store.ApplyChanges(ctx, "globex", "bob@globex.com", []domain.ItemChange{
		{Kind: domain.ChangeCreate, ItemID: "g1", ChangeKey: "k1", Item: &domain.Item{ID: "g1", ChangeKey: "k1", Kind: domain.KindMessage, Subject: "globex secret plans"}},
	}); err != nil {
		t.Fatal(err)
	}
	e.must(req{method: "POST", path: "/tenants/globex/verify"}, 200)
	globexBefore := e.tenantSnapshot("globex")

	// Reads through contoso never show globex's data.
	for _, path := range []string{
		"/tenants/contoso/mailboxes", "/tenants/contoso/audit", "/tenants/contoso/changes",
	} {
		w := e.do(req{method: "GET", path: path})
		if w.Code != 200 {
			t.Fatalf("GET %s = %d", path, w.Code)
		}
		if s := w.Body.String(); strings.Contains(s, "globex") {
			t.Fatalf("GET %s shows globex data: %s", path, s)
		}
	}
	// Cursors are per tenant: globex's cursors used on contoso's routes
	// never surface globex's rows.
	gfeed := e.must(req{method: "GET", path: "/tenants/globex/changes?limit=1"}, 200)
	gpage := e.must(req{method: "GET", path: "/tenants/globex/mailboxes?limit=1"}, 200)
	for _, path := range []string{
		"/tenants/contoso/changes?cursor=" + url.QueryEscape(gfeed["nextCursor"].(string)),
		"/tenants/contoso/mailboxes?cursor=" + url.QueryEscape(gpage["nextCursor"].(string)),
		"/tenants/contoso/mailboxes?cursor=" + url.QueryEscape("bob@globex.com"),
	} {
		w := e.do(req{method: "GET", path: path})
		if w.Code != 200 && w.Code != 400 {
			t.Fatalf("GET %s = %d", path, w.Code)
		}
		if strings.Contains(w.Body.String(), "globex") && w.Code == 200 {
			t.Fatalf("GET %s shows globex data: %s", path, w.Body)
		}
	}

	// Globex's mailbox named under contoso is not found, and not touched.
	e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/bob@globex.com/changes"}, 404)
	e.must(req{method: "POST", path: "/tenants/contoso/verify?mailbox=bob@globex.com"}, 404)
	e.must(req{method: "DELETE", path: "/tenants/contoso/mailboxes/bob@globex.com"}, 404)

	// A whole-tenant verify of contoso checks only contoso's mailboxes,
	// with contoso's credential.
	e.must(req{method: "POST", path: "/tenants/contoso/verify"}, 200)
	// Both tenants' credentials are user "svc": only the password tells
	// them apart.
	contosoCalls, globexCalls := e.checker.callsFor("contoso"), e.checker.callsFor("globex")
	if len(contosoCalls) == 0 || len(globexCalls) == 0 {
		t.Fatalf("%d contoso and %d globex checks: the test wants both", len(contosoCalls), len(globexCalls))
	}
	for _, c := range contosoCalls {
		if c.Mailbox != "alice@contoso.com" || !c.used(contosoCred) {
			t.Fatalf("contoso verify checked %s with contoso's credential %v, want only alice with it", c.Mailbox, c.used(contosoCred))
		}
	}
	for _, c := range globexCalls {
		if !c.used(globexCred) {
			t.Fatalf("a globex check of %s used another credential", c.Mailbox)
		}
	}

	// Rotating contoso's credential never touches globex's secret.
	e.must(req{method: "PUT", path: "/tenants/contoso/credentials", body: `{"credentials":{"kind":"basic","username":"svc","password":"Iso-contoso-pw2"},"probeMailbox":"alice@contoso.com"}`}, 200)
	noteSecret(domain.Credential{Password: "Iso-contoso-pw2"})
	if c, _ := e.secrets.get("globex"); c.Password != globexCred.Password {
		t.Fatal("contoso's rotation changed globex's secret")
	}

	// Globex is exactly as it was.
	if after := e.tenantSnapshot("globex"); after != globexBefore {
		t.Fatalf("globex's data changed:\nbefore %s\nafter  %s", globexBefore, after)
	}
}
