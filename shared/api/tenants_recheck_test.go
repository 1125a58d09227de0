package api

import (
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestRotationRechecksFailedMailboxes: after a successful rotation no
// mailbox stays auth_failed waiting for someone to run verify (issue 12):
// the probe shows the check's outcome, the others whose login failed are
// pending with a hint, and mailboxes failing for other reasons keep their
// status. A refused rotation changes no status.
func TestRotationRechecksFailedMailboxes(t *testing.T) {
	e := newEnv(t)
	e.onboard("contoso", basicCred("svc", "Recheck-old-1"), "alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dave@contoso.com")
	authFailed := func(addr string) domain.AccessReport {
		return domain.AccessReport{Mailbox: addr, Status: domain.MailboxAuthFailed, ErrorKind: domain.AccessAuth, Code: "HTTP 401"}
	}
	e.checker.reports["alice@contoso.com"] = authFailed("alice@contoso.com")
	e.checker.reports["bob@contoso.com"] = authFailed("bob@contoso.com")
	e.checker.reports["carol@contoso.com"] = domain.AccessReport{Mailbox: "carol@contoso.com", Status: domain.MailboxOutOfScope, ErrorKind: domain.AccessOutOfScope}
	e.must(req{method: "POST", path: "/tenants/contoso/verify"}, 200)

	statuses := func() map[string]map[string]any {
		t.Helper()
		out := map[string]map[string]any{}
		for _, m := range e.must(req{method: "GET", path: "/tenants/contoso/mailboxes"}, 200)["mailboxes"].([]any) {
			mm := m.(map[string]any)
			out[mm["address"].(string)] = mm
		}
		return out
	}
	if st := statuses(); st["alice@contoso.com"]["status"] != "auth_failed" || st["bob@contoso.com"]["status"] != "auth_failed" {
		t.Fatalf("setup: %v", st)
	}

	newCred := basicCred("svc", "Recheck-new-2")
	cb, _ := domain.MarshalCredential(newCred)

	// Refused (the probe, dave, answers 401 too): nothing changes.
	e.checker.reports["dave@contoso.com"] = authFailed("dave@contoso.com")
	e.must(req{method: "PUT", path: "/tenants/contoso/credentials", body: `{"credentials":` + string(cb) + `,"probeMailbox":"dave@contoso.com"}`}, 502)
	if st := statuses(); st["alice@contoso.com"]["status"] != "auth_failed" {
		t.Fatalf("a refused rotation changed statuses: %v", st)
	}

	// Accepted: Exchange takes the new password everywhere.
	delete(e.checker.reports, "alice@contoso.com")
	delete(e.checker.reports, "bob@contoso.com")
	delete(e.checker.reports, "dave@contoso.com")
	got := e.must(req{method: "PUT", path: "/tenants/contoso/credentials", body: `{"credentials":` + string(cb) + `,"probeMailbox":"alice@contoso.com"}`}, 200)
	if got["recheck"] != float64(1) {
		t.Errorf("recheck = %v, want 1 (bob; alice was the probe)", got["recheck"])
	}
	st := statuses()
	// dave: the refused probe recorded nothing, so it shows what verify
	// found.
	want := map[string]string{"alice@contoso.com": "ok", "bob@contoso.com": "pending", "carol@contoso.com": "out_of_scope", "dave@contoso.com": "ok"}
	for addr, w := range want {
		if st[addr]["status"] != w {
			t.Errorf("%s is %v after the rotation, want %s", addr, st[addr]["status"], w)
		}
	}
	if h, _ := st["bob@contoso.com"]["hint"].(string); !strings.Contains(h, "rotated") || !strings.Contains(h, "verify?mailbox=bob@contoso.com") {
		t.Errorf("bob's hint %q does not say the rotation's next sync re-checks it", h)
	}
	if _, ok := st["bob@contoso.com"]["lastError"]; ok {
		t.Errorf("bob keeps the old lastError: %v", st["bob@contoso.com"])
	}
	if h, _ := st["carol@contoso.com"]["hint"].(string); h == "" {
		t.Error("carol's scope hint was dropped")
	}
}
