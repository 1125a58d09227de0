package api

import (
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestOnboardingChecksCredentials: a tenant created with a wrong password
// says so in its 201 (issue 12: it answered 201 with no hint); strict
// creates nothing; the check uses the new credential on the probe mailbox.
func TestOnboardingChecksCredentials(t *testing.T) {
	const ews = "https://mail.contoso.com/EWS/Exchange.asmx"
	wrong := func(e *env, addr string) {
		e.checker.reports[addr] = domain.AccessReport{Mailbox: addr, Status: domain.MailboxAuthFailed,
			ErrorKind: domain.AccessAuth, Code: "HTTP 401", Detail: "HTTP 401"}
	}
	t.Run("report (default): created, the 201 says what is wrong", func(t *testing.T) {
		e := newEnv(t)
		cred := basicCred("svc", "Onb-wrong-1")
		wrong(e, "ann@contoso.com")
		got := e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", ews, cred, `,"probeMailbox":"Ann@Contoso.com"`)}, 201)
		check, _ := got["credentialCheck"].(map[string]any)
		if check["status"] != "auth_failed" || check["mailbox"] != "ann@contoso.com" || check["hint"] == nil || check["hint"] == "" {
			t.Fatalf("credentialCheck = %v, want auth_failed on ann@contoso.com with a hint", check)
		}
		calls := e.checker.callsFor("contoso")
		if len(calls) != 1 || !calls[0].used(cred) {
			t.Fatalf("checks %v, want one with the new credential", calls)
		}
		if g := e.must(req{method: "GET", path: "/tenants/contoso"}, 200); g["credentialCheck"] != nil {
			t.Error("GET shows the onboarding check; it belongs to the create's answer only")
		}
		if n := len(e.must(req{method: "GET", path: "/tenants/contoso/audit"}, 200)["entries"].([]any)); n != 1 {
			t.Errorf("%d audit entries, want the onboarding check's", n)
		}
	})
	t.Run("nothing to check on: pending with a hint", func(t *testing.T) {
		e := newEnv(t)
		// Not even on the username's own mailbox: a service account
		// often has none.
		got := e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", ews, basicCred("svc@contoso.com", "Onb-np-3"), "")}, 201)
		if check, _ := got["credentialCheck"].(map[string]any); check["status"] != "pending" || !strings.Contains(check["hint"].(string), "probeMailbox") {
			t.Fatalf("credentialCheck = %v, want pending naming probeMailbox", check)
		}
		if len(e.checker.callsFor("contoso")) != 0 {
			t.Fatal("checked with no mailbox to check on")
		}
	})
	t.Run("strict: refused, nothing created", func(t *testing.T) {
		e := newEnv(t)
		wrong(e, "ann@contoso.com")
		before := e.snapshot()
		w := e.do(req{method: "POST", path: "/tenants", body: tenantBody("contoso", ews, basicCred("svc", "Onb-strict-4"), `,"probeMailbox":"ann@contoso.com","credentialCheck":"strict"`)})
		if w.Code != 502 || !strings.Contains(w.Body.String(), "nothing was created") || !strings.Contains(w.Body.String(), `"field":"credentials"`) {
			t.Fatalf("strict with a wrong password = %d %s", w.Code, w.Body)
		}
		if e.snapshot() != before {
			t.Fatal("a refused strict onboarding stored something")
		}
		e.must(req{method: "GET", path: "/tenants/contoso"}, 404)
		e.checker.reports["ann@contoso.com"] = domain.AccessReport{Mailbox: "ann@contoso.com", Status: domain.MailboxThrottled}
		if w := e.do(req{method: "POST", path: "/tenants", body: tenantBody("contoso", ews, basicCred("svc", "Onb-strict-4"), `,"probeMailbox":"ann@contoso.com","credentialCheck":"strict"`)}); w.Code != 503 {
			t.Fatalf("strict while throttled = %d %s", w.Code, w.Body)
		}
		delete(e.checker.reports, "ann@contoso.com")
		e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", ews, basicCred("svc", "Onb-strict-4"), `,"probeMailbox":"ann@contoso.com","credentialCheck":"strict"`)}, 201)
		// strict with nothing to check on is bad input.
		if w := e.do(req{method: "POST", path: "/tenants", body: tenantBody("contoso-2", ews, basicCred("svc", "Onb-strict-5"), `,"credentialCheck":"strict"`)}); w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"probeMailbox"`) {
			t.Fatalf("strict without a probe = %d %s", w.Code, w.Body)
		}
	})
	t.Run("off: no check; bad values are 400 and create nothing", func(t *testing.T) {
		e := newEnv(t)
		wrong(e, "ann@contoso.com")
		got := e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", ews, basicCred("svc", "Onb-off-6"), `,"probeMailbox":"ann@contoso.com","credentialCheck":"off"`)}, 201)
		if _, ok := got["credentialCheck"]; ok || len(e.checker.callsFor("contoso")) != 0 {
			t.Fatalf("off still checked: %v", got["credentialCheck"])
		}
		before := e.snapshot()
		for _, extra := range []string{`,"credentialCheck":"maybe"`, `,"probeMailbox":"not an address"`, `,"credentialCheck":true`} {
			if w := e.do(req{method: "POST", path: "/tenants", body: tenantBody("globex", "https://mail.globex.com/EWS/Exchange.asmx", basicCred("svc", "Onb-bad-7"), extra)}); w.Code != 400 {
				t.Errorf("create with %s = %d %s", extra, w.Code, w.Body)
			}
		}
		if e.snapshot() != before {
			t.Fatal("refused creates stored something")
		}
	})
	t.Run("an unsafe URL is refused before Exchange is called with the credential", func(t *testing.T) {
		e := newEnv(t)
		w := e.do(req{method: "POST", path: "/tenants", body: tenantBody("contoso", "https://metadata.attacker.test/EWS/Exchange.asmx", basicCred("svc", "Onb-ssrf-8"), `,"probeMailbox":"ann@contoso.com"`)})
		if w.Code != 400 || len(e.checker.callsFor("contoso")) != 0 {
			t.Fatalf("unsafe URL = %d (checks %d) %s", w.Code, len(e.checker.callsFor("contoso")), w.Body)
		}
	})
}
