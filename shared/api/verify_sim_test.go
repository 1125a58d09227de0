package api

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

const (
	simUser     = "svc-mailbridge@contoso.com"
	simPassword = "Sim-Verify-Passw0rd"
	simTenant   = "contoso-tenant.onmicrosoft.com"
	simClientID = "0c7e1f4e-5a1b-4c8e-9f00-617069766572"
	simSecret   = "Sim-Verify-Client-Secret"

	inScope    = "anna@contoso.com"   // in the impersonation scope
	outOfScope = "ben@contoso.com"    // neither impersonation nor delegate
	delegated  = "chloe@contoso.com"  // delegate (FullAccess) only
	folderDel  = "dan@contoso.com"    // inbox, sent items, calendar shared; contacts not
	unknownBox = "nobody@contoso.com" // no such mailbox
)

// simEnv is the API wired as in production (URL policy on the EWS client's
// dialer, the EWS probe as AccessChecker) against the EWS simulator on TLS.
func simEnv(t *testing.T) (*env, *ewssim.Server) {
	t.Helper()
	sim := ewssim.New(ewssim.Options{Seed: 4})
	for _, a := range []string{inScope, outOfScope, delegated, folderDel} {
		if err := sim.AddMailbox(a, strings.Split(a, "@")[0]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.AddAccount(ewssim.Account{Username: simUser, Password: simPassword,
		Tenant: simTenant, ClientID: simClientID, ClientSecret: simSecret,
		ImpersonationScope: []string{inScope}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.GrantDelegate(simUser, delegated, ""); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"inbox", "sentitems", "calendar"} {
		if err := sim.GrantDelegate(simUser, folderDel, f); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := sim.Start(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	// The simulator listens on loopback: the local run's dev policy.
	policy := urlguard.Policy{DevLoopback: true}
	tr := policy.Transport()
	tr.TLSClientConfig = &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}
	checker := ewsmailbox.NewChecker(ewsmailbox.CheckerOptions{Client: ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}, HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}}})
	e := newEnv(t, func(d *Deps) {
		d.Checker = checker
		d.URLPolicy = policy
	})
	return e, srv
}

// TestVerifyAgainstSimulator is issue 4's verify must-show, end to end:
// onboard through the API, register mailboxes, POST verify, read back.
func TestVerifyAgainstSimulator(t *testing.T) {
	e, srv := simEnv(t)
	cred := basicCred(simUser, simPassword)
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", srv.EWSURL, cred, "")}, 201) // impersonation, fallback allowed
	e.must(req{method: "POST", path: "/tenants/contoso/mailboxes", body: fmt.Sprintf(`{"mailboxes":[
		{"address":%q},{"address":%q},{"address":%q},{"address":%q,"accessMode":"folder-delegate"},{"address":%q}]}`,
		inScope, outOfScope, unknownBox, folderDel, delegated)}, 200)

	w := e.do(req{method: "POST", path: "/tenants/contoso/verify"})
	if w.Code != 200 {
		t.Fatalf("verify = %d %s", w.Code, w.Body)
	}
	var rep verifyResponse
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]domain.AccessReport{}
	for _, r := range rep.Mailboxes {
		got[r.Mailbox] = r
	}
	tests := []struct {
		name, mailbox string
		status        domain.MailboxStatus
		mode          domain.AccessMode
		unreadable    string
		hint          string
	}{
		{"in scope", inScope, domain.MailboxOK, domain.AccessImpersonation, "", ""},
		{"out of scope", outOfScope, domain.MailboxOutOfScope, domain.AccessImpersonation, "", "management scope"},
		{"unknown", unknownBox, domain.MailboxNotFound, "", "", "nobody@contoso.com"},
		{"folder delegate, contacts unshared", folderDel, domain.MailboxOK, domain.AccessFolderDelegate, "contacts", "Contacts"},
		{"impersonation denied, delegate granted", delegated, domain.MailboxOK, domain.AccessDelegate, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := got[tt.mailbox]
			if !ok {
				t.Fatalf("no report for %s in %s", tt.mailbox, w.Body)
			}
			if r.Status != tt.status || (tt.mode != "" && r.Mode != tt.mode) {
				t.Fatalf("status %s mode %s, want %s mode %s (detail %q, hint %q)", r.Status, r.Mode, tt.status, tt.mode, r.Detail, r.Hint)
			}
			if u := strings.Join(r.UnreadableFolders, ","); u != tt.unreadable {
				t.Fatalf("unreadable folders %q, want %q", u, tt.unreadable)
			}
			if !strings.Contains(r.Hint, tt.hint) {
				t.Fatalf("hint %q does not mention %q", r.Hint, tt.hint)
			}
		})
	}
	if r := got[delegated]; !r.FellBack {
		t.Errorf("%s: want fellBack after impersonation was denied", delegated)
	}

	// What verify found is recorded on each mailbox and in the audit trail.
	page := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes"}, 200)
	recorded := map[string]map[string]any{}
	for _, m := range page["mailboxes"].([]any) {
		mm := m.(map[string]any)
		recorded[mm["address"].(string)] = mm
	}
	if m := recorded[outOfScope]; m["status"] != "out_of_scope" || !strings.Contains(m["hint"].(string), "management scope") {
		t.Errorf("recorded %s = %v", outOfScope, m)
	}
	if m := recorded[folderDel]; fmt.Sprint(m["unreadableFolders"]) != "[contacts]" {
		t.Errorf("recorded %s = %v", folderDel, m)
	}
	if m := recorded[delegated]; m["status"] != "ok" || m["effectiveAccessMode"] != "delegate" {
		t.Errorf("recorded %s = %v", delegated, m)
	}
	if m := recorded[unknownBox]; m["status"] != "not_found" {
		t.Errorf("recorded %s = %v", unknownBox, m)
	}
	audit := e.must(req{method: "GET", path: "/tenants/contoso/audit"}, 200)
	modes := map[string]string{}
	for _, en := range audit["entries"].([]any) {
		m := en.(map[string]any)
		modes[m["mailbox"].(string)] = m["accessMode"].(string) + "/" + m["result"].(string)
	}
	if len(modes) != 5 || modes[delegated] != "delegate/ok" || modes[outOfScope] != "impersonation/out_of_scope" {
		t.Errorf("audit = %v", modes)
	}
}

// TestRotateAgainstSimulator: a wrong password is refused by Exchange and
// the old one kept; an app registration that works replaces it.
func TestRotateAgainstSimulator(t *testing.T) {
	e, srv := simEnv(t)
	cred := basicCred(simUser, simPassword)
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", srv.EWSURL, cred, "")}, 201)
	e.addMailboxes("contoso", inScope)

	wrong := basicCred(simUser, "Wrong-Passw0rd-77")
	wb, _ := domain.MarshalCredential(wrong)
	w := e.do(req{method: "PUT", path: "/tenants/contoso/credentials", body: `{"credentials":` + string(wb) + `}`})
	if w.Code != 502 || !strings.Contains(w.Body.String(), "auth_failed") {
		t.Fatalf("wrong password = %d %s", w.Code, w.Body)
	}
	if c, _ := e.secrets.get("contoso"); c.Password != simPassword {
		t.Fatal("a refused rotation replaced the secret")
	}

	app := domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: simTenant, ClientID: simClientID, ClientSecret: simSecret, Authority: srv.URL}
	noteSecret(app)
	ab, _ := domain.MarshalCredential(app)
	out := e.must(req{method: "PUT", path: "/tenants/contoso/credentials", body: `{"credentials":` + string(ab) + `}`}, 200)
	if tv := out["tenant"].(map[string]any)["credentials"].(map[string]any); tv["kind"] != "oauth_secret" || tv["fingerprint"] != app.Fingerprint() {
		t.Fatalf("after rotation credentials = %v", tv)
	}
	if c, _ := e.secrets.get("contoso"); c.ClientSecret != simSecret {
		t.Fatal("an accepted rotation did not store the new credential")
	}
	// The new credential works for verify too.
	rep := e.must(req{method: "POST", path: "/tenants/contoso/verify"}, 200)
	if ms := rep["mailboxes"].([]any); ms[0].(map[string]any)["status"] != "ok" {
		t.Fatalf("verify with the new credential = %v", rep)
	}
}
