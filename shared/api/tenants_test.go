package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

func TestOnboardAndGet(t *testing.T) {
	e := newEnv(t)
	cred := basicCred(`CONTOSO\svc-mailbridge`, "Onboard-pw-7731!")
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", cred,
		`,"folders":["inbox","calendar"],"syncIntervalSeconds":600,"exchangeVersion":"Exchange2013_SP1"`)}, 201)

	stored, ok := e.secrets.get("contoso")
	if !ok || stored.Password != cred.Password {
		t.Fatal("the credential was not stored in the secret store")
	}
	w := e.do(req{method: "GET", path: "/tenants/contoso"})
	if w.Code != 200 {
		t.Fatalf("GET = %d: %s", w.Code, w.Body)
	}
	goldenAnswer(t, "get-tenant.json", w.Body.Bytes())
	if strings.Contains(w.Body.String(), cred.Password) || strings.Contains(w.Body.String(), "svc-mailbridge") {
		t.Fatalf("GET shows credential material: %s", w.Body)
	}
	var v tenantView
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Credentials == nil || v.Credentials.Kind != domain.AuthBasic || v.Credentials.Fingerprint != cred.Fingerprint() {
		t.Fatalf("credentials = %+v, want kind basic and fingerprint %s", v.Credentials, cred.Fingerprint())
	}
	// The main store never holds the secret.
	tn, err := e.store.GetTenant(context.Background(), "contoso")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(tn)
	if strings.Contains(string(raw), cred.Password) {
		t.Fatal("the tenant record holds the password")
	}

	e.must(req{method: "GET", path: "/tenants/unknown"}, 404)
	w = e.do(req{method: "POST", path: "/tenants", body: tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("x", "Other-pw-1"), "")})
	if w.Code != 409 {
		t.Fatalf("second create = %d, want 409", w.Code)
	}
	if got, _ := e.secrets.get("contoso"); got.Password != cred.Password {
		t.Fatal("a conflicting create replaced the existing tenant's secret")
	}
}

func TestOnboardSecretFailureLeavesNothing(t *testing.T) {
	e := newEnv(t)
	e.secrets.failPut = errors.New("secrets manager: throttled")
	before := e.snapshot()
	w := e.do(req{method: "POST", path: "/tenants", body: tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("u", "Fail-pw-1"), "")})
	if w.Code != 500 {
		t.Fatalf("= %d, want 500", w.Code)
	}
	if strings.Contains(w.Body.String(), "throttled") {
		t.Fatalf("internal cause leaked to the client: %s", w.Body)
	}
	if !strings.Contains(e.logs.String(), "secrets manager: throttled") || !strings.Contains(e.logs.String(), w.Header().Get("X-Request-Id")) {
		t.Fatalf("the cause and request id are not in the log:\n%s", e.logs)
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("a failed onboarding left data behind:\n%s", after)
	}
	e.secrets.failPut = nil
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("u", "Fail-pw-1"), "")}, 201)
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	body := tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("u", "Idem-pw-1"), "")
	h := map[string]string{"Idempotency-Key": "create-contoso-1"}
	first := e.do(req{method: "POST", path: "/tenants", body: body, header: h})
	second := e.do(req{method: "POST", path: "/tenants", body: body, header: h})
	if first.Code != 201 || second.Code != 201 {
		t.Fatalf("codes %d, %d; want 201 twice", first.Code, second.Code)
	}
	if first.Body.String() != second.Body.String() {
		t.Fatalf("replay differs:\n%s\n%s", first.Body, second.Body)
	}
	if second.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatal("the replay is not marked")
	}
	other := tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("another-user", "Idem-pw-1"), "")
	w := e.do(req{method: "POST", path: "/tenants", body: other, header: h})
	if w.Code != 409 || !strings.Contains(w.Body.String(), "different request body") {
		t.Fatalf("key reuse = %d %s, want 409 naming the reuse", w.Code, w.Body)
	}
	// The stored request hash holds nothing derived from the password, so a
	// reuse that differs only in the password cannot be told apart: it is
	// answered with the original outcome and changes nothing.
	samePWless := tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("u", "Idem-pw-2"), "")
	w = e.do(req{method: "POST", path: "/tenants", body: samePWless, header: h})
	if w.Code != 201 || w.Body.String() != first.Body.String() {
		t.Fatalf("reuse differing only in the password = %d %s, want the original answer", w.Code, w.Body)
	}
	if c, _ := e.secrets.get("contoso"); c.Password != "Idem-pw-1" {
		t.Fatal("key reuse changed the secret")
	}
	// Without a key a repeated create is a plain conflict.
	w = e.do(req{method: "POST", path: "/tenants", body: body})
	if w.Code != 409 || !strings.Contains(w.Body.String(), "already exists") {
		t.Fatalf("repeat without key = %d %s", w.Code, w.Body)
	}
}

// A key reused with another body is refused before anything is created:
// no second tenant, no secret, and the answer names the header.
func TestIdempotencyKeyReuseCreatesNothing(t *testing.T) {
	e := newEnv(t)
	h := map[string]string{"Idempotency-Key": "create-1"}
	e.must(req{method: "POST", path: "/tenants", header: h,
		body: tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("u", "Reuse-pw-1"), "")}, 201)
	before := e.snapshot()
	w := e.do(req{method: "POST", path: "/tenants", header: h,
		body: tenantBody("globex", "https://mail.globex.com/EWS/Exchange.asmx", basicCred("g", "Reuse-pw-2"), "")})
	if w.Code != 409 || !strings.Contains(w.Body.String(), "Idempotency-Key") {
		t.Fatalf("key reused for another tenant = %d %s, want 409 naming the Idempotency-Key", w.Code, w.Body)
	}
	if _, err := e.store.GetTenant(context.Background(), "globex"); !domain.IsNotFound(err) {
		t.Fatalf("the reused key created tenant globex (err %v)", err)
	}
	if _, ok := e.secrets.get("globex"); ok {
		t.Fatal("the reused key stored a secret for globex")
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("the refused request changed data:\n%s\nwas\n%s", after, before)
	}
}

// Offboarding forgets the keys of the tenant's creation: a retry with the
// old key is a new request (a fresh tenant, a fresh answer), never a
// replay of the answer about the tenant that is gone.
func TestIdempotencyKeyForgottenWithTheTenant(t *testing.T) {
	e := newEnv(t)
	h := map[string]string{"Idempotency-Key": "create-1"}
	body := tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("u", "Forget-pw-1"), "")
	e.must(req{method: "POST", path: "/tenants", header: h, body: body}, 201)
	e.must(req{method: "PATCH", path: "/tenants/contoso", body: `{"displayName":"Renamed"}`}, 200)
	e.must(req{method: "DELETE", path: "/tenants/contoso"}, 204)
	w := e.do(req{method: "POST", path: "/tenants", header: h, body: body})
	if w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("create after offboarding with the old key = %d replayed=%q %s, want a fresh 201",
			w.Code, w.Header().Get("Idempotent-Replayed"), w.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	stored := e.must(req{method: "GET", path: "/tenants/contoso"}, 200)
	if got["version"] != stored["version"] || got["displayName"] != "contoso Inc" {
		t.Fatalf("answer %v does not describe the tenant stored now %v", got, stored)
	}
	// Once that tenant is gone too, the key is free for another request.
	e.must(req{method: "DELETE", path: "/tenants/contoso"}, 204)
	e.must(req{method: "POST", path: "/tenants", header: h,
		body: tenantBody("globex", "https://mail.globex.com/EWS/Exchange.asmx", basicCred("g", "Forget-pw-2"), "")}, 201)
}

func TestPatchTenant(t *testing.T) {
	e := newEnv(t)
	e.onboard("contoso", basicCred("u", "Patch-pw-1"))
	out := e.must(req{method: "PATCH", path: "/tenants/contoso", body: `{"displayName":"Contoso Ltd","accessMode":"delegate","maxConcurrentJobs":4,"folders":["all"],"syncIntervalSeconds":900,"version":2}`}, 200)
	if out["displayName"] != "Contoso Ltd" || out["accessMode"] != "delegate" || out["maxConcurrentJobs"] != 4.0 ||
		out["syncIntervalSeconds"] != 900.0 || out["version"] != 3.0 {
		t.Fatalf("patched tenant = %v", out)
	}
	w := e.do(req{method: "PATCH", path: "/tenants/contoso", body: `{"displayName":"Stale","version":2}`})
	if w.Code != 409 {
		t.Fatalf("stale version = %d, want 409", w.Code)
	}
	got := e.must(req{method: "GET", path: "/tenants/contoso"}, 200)
	if got["displayName"] != "Contoso Ltd" {
		t.Fatalf("stale patch applied: %v", got)
	}
}

func TestMailboxesBulkAddListDelete(t *testing.T) {
	e := newEnv(t)
	e.onboard("contoso", basicCred("u", "Mbx-pw-1"), "existing@contoso.com")
	out := e.must(req{method: "POST", path: "/tenants/contoso/mailboxes", body: `{"mailboxes":[
		{"address":"Alice@Contoso.com"},
		{"address":"existing@contoso.com"},
		{"address":"Bob <bob@contoso.com>"},
		{"address":"alice@contoso.com"},
		{"address":"room1@contoso.com","accessMode":"delegate","ewsUrl":"https://mail.globex.com/EWS/Exchange.asmx"},
		{"address":"room2@contoso.com","ewsUrl":"https://10.0.0.5/EWS/Exchange.asmx"},
		{"address":"room3@contoso.com","accessMode":"root"}
	]}`}, 200)
	b, _ := json.Marshal(out)
	goldenAnswer(t, "bulk-add.json", append(b, '\n'))

	page := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes"}, 200)
	var addrs []string
	for _, m := range page["mailboxes"].([]any) {
		addrs = append(addrs, m.(map[string]any)["address"].(string))
	}
	if got := strings.Join(addrs, ","); got != "alice@contoso.com,existing@contoso.com,room1@contoso.com" {
		t.Fatalf("stored mailboxes = %s", got)
	}

	// Paging with a limit, then a status filter.
	p1 := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes?limit=2"}, 200)
	if n := len(p1["mailboxes"].([]any)); n != 2 || p1["nextCursor"] == nil {
		t.Fatalf("first page = %v", p1)
	}
	p2 := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes?limit=2&cursor=" + p1["nextCursor"].(string)}, 200)
	if n := len(p2["mailboxes"].([]any)); n != 1 {
		t.Fatalf("second page = %v", p2)
	}
	if n := len(e.must(req{method: "GET", path: "/tenants/contoso/mailboxes?status=ok"}, 200)["mailboxes"].([]any)); n != 0 {
		t.Fatalf("status=ok lists %d mailboxes before any verify", n)
	}

	e.must(req{method: "DELETE", path: "/tenants/contoso/mailboxes/Alice@contoso.com"}, 204)
	e.must(req{method: "DELETE", path: "/tenants/contoso/mailboxes/alice@contoso.com"}, 404)
	e.must(req{method: "DELETE", path: "/tenants/contoso/mailboxes/room1%40contoso.com"}, 204)
}

func TestVerifyRecordsStatusesAndAudits(t *testing.T) {
	e := newEnv(t)
	e.onboard("contoso", basicCred("u", "Verify-pw-1"), "ok@contoso.com", "far@contoso.com", "gone@contoso.com", "shared@contoso.com", "down@contoso.com")
	e.checker.reports["far@contoso.com"] = domain.AccessReport{Mailbox: "far@contoso.com", Status: domain.MailboxOutOfScope,
		Detail: "ErrorImpersonateUserDenied", ErrorKind: domain.AccessOutOfScope, Code: "ErrorImpersonateUserDenied"}
	e.checker.reports["gone@contoso.com"] = domain.AccessReport{Mailbox: "gone@contoso.com", Status: domain.MailboxNotFound, Detail: "ErrorNonExistentMailbox"}
	e.checker.reports["shared@contoso.com"] = domain.AccessReport{Mailbox: "shared@contoso.com", Status: domain.MailboxOK, Mode: domain.AccessDelegate,
		FellBack: true, UnreadableFolders: []string{"contacts"}}
	e.checker.errs["down@contoso.com"] = errors.New("dial tcp 52.96.10.1:443: connection refused")

	w := e.do(req{method: "POST", path: "/tenants/contoso/verify"})
	if w.Code != 200 {
		t.Fatalf("verify = %d %s", w.Code, w.Body)
	}
	goldenAnswer(t, "verify.json", w.Body.Bytes())
	if strings.Contains(w.Body.String(), "connection refused") {
		t.Fatal("a transport error's text reached the client")
	}
	if !strings.Contains(e.logs.String(), "connection refused") {
		t.Fatal("the transport error is not in the log")
	}
	if !strings.Contains(e.logs.String(), `"route":"POST /tenants/{id}/verify","status":200,`) ||
		!strings.Contains(e.logs.String(), `"tenantId":"contoso"`) {
		t.Fatalf("no access log line for the verify:\n%s", e.logs)
	}

	ctx := context.Background()
	far, _ := e.store.GetMailbox(ctx, "contoso", "far@contoso.com")
	if far.Status != domain.MailboxOutOfScope || far.Hint == "" || far.LastError != "ErrorImpersonateUserDenied" {
		t.Fatalf("out-of-scope mailbox recorded as %+v", far)
	}
	shared, _ := e.store.GetMailbox(ctx, "contoso", "shared@contoso.com")
	if shared.Status != domain.MailboxOK || shared.EffectiveMode != domain.AccessDelegate || strings.Join(shared.UnreadableFolders, ",") != "contacts" {
		t.Fatalf("fallback mailbox recorded as %+v", shared)
	}
	audit := e.must(req{method: "GET", path: "/tenants/contoso/audit"}, 200)
	entries := audit["entries"].([]any)
	if len(entries) != 5 {
		t.Fatalf("audit has %d entries, want 5: %v", len(entries), audit)
	}
	for _, en := range entries {
		m := en.(map[string]any)
		if m["operation"] != "verify" || m["requestId"] != w.Header().Get("X-Request-Id") {
			t.Fatalf("audit entry %v", m)
		}
	}

	// One mailbox only.
	one := e.must(req{method: "POST", path: "/tenants/contoso/verify?mailbox=FAR@contoso.com"}, 200)
	if ms := one["mailboxes"].([]any); len(ms) != 1 || ms[0].(map[string]any)["status"] != "out_of_scope" {
		t.Fatalf("single verify = %v", one)
	}
	e.must(req{method: "POST", path: "/tenants/contoso/verify?mailbox=nobody@contoso.com"}, 404)
}

// In a synctest bubble the checker's pause is fake time: it ends only
// once every check that can run has started, so the peak is exact.
func TestVerifyConcurrencyBoundForDelegate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		var addrs []string
		for i := range 12 {
			addrs = append(addrs, fmt.Sprintf("user%02d@contoso.com", i))
		}
		e.onboard("contoso", basicCred("u", "Conc-pw-1"), addrs...)
		e.must(req{method: "PATCH", path: "/tenants/contoso", body: `{"accessMode":"delegate","maxConcurrentJobs":2}`}, 200)
		e.must(req{method: "POST", path: "/tenants/contoso/verify"}, 200)
		if n := len(e.checker.callsFor("contoso")); n != 12 {
			t.Fatalf("%d checks, want 12", n)
		}
		if e.checker.maxSeen > 2 {
			t.Fatalf("%d checks ran at once for a delegate tenant limited to 2", e.checker.maxSeen)
		}
		if e.checker.maxSeen < 2 {
			t.Fatalf("the verify ran its checks one at a time, want 2 at once")
		}
	})
}

// TestVerifyTimeLimit: a verify that runs out of time records what it
// checked and lists the rest as not checked, leaving their status alone.
func TestVerifyTimeLimit(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.VerifyTimeout = 200 * time.Millisecond })
	e.onboard("contoso", basicCred("u", "Slow-pw-1"), "fast@contoso.com", "slow@contoso.com")
	e.checker.block["slow@contoso.com"] = true
	out := e.must(req{method: "POST", path: "/tenants/contoso/verify"}, 200)
	if nc, _ := out["notChecked"].([]any); len(nc) != 1 || nc[0] != "slow@contoso.com" {
		t.Fatalf("notChecked = %v", out["notChecked"])
	}
	if ms := out["mailboxes"].([]any); len(ms) != 1 || ms[0].(map[string]any)["mailbox"] != "fast@contoso.com" {
		t.Fatalf("mailboxes = %v", ms)
	}
	ctx := context.Background()
	if m, _ := e.store.GetMailbox(ctx, "contoso", "slow@contoso.com"); m.Status != domain.MailboxPending {
		t.Fatalf("unchecked mailbox recorded as %s", m.Status)
	}
	if m, _ := e.store.GetMailbox(ctx, "contoso", "fast@contoso.com"); m.Status != domain.MailboxOK {
		t.Fatalf("checked mailbox recorded as %s", m.Status)
	}
}

func TestRotateCredentials(t *testing.T) {
	e := newEnv(t)
	old := basicCred("svc", "Rotate-old-1")
	e.onboard("contoso", old)
	// Another user name, so the fingerprint (derived from no secret)
	// changes with the rotation and the checks on it below can fail.
	newCred := basicCred("svc-rotated", "Rotate-new-2")
	cb, _ := domain.MarshalCredential(newCred)
	body := `{"credentials":` + string(cb) + `}`

	// No mailbox to try them on.
	w := e.do(req{method: "PUT", path: "/tenants/contoso/credentials", body: body})
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"probeMailbox"`) {
		t.Fatalf("rotate without mailboxes = %d %s", w.Code, w.Body)
	}
	e.addMailboxes("contoso", "alice@contoso.com")

	// Exchange refuses them: the old ones stay.
	e.checker.reports["alice@contoso.com"] = domain.AccessReport{Mailbox: "alice@contoso.com", Status: domain.MailboxAuthFailed,
		Detail: "HTTP 401", ErrorKind: domain.AccessAuth, Code: "HTTP 401"}
	w = e.do(req{method: "PUT", path: "/tenants/contoso/credentials", body: body})
	if w.Code != 502 || !strings.Contains(w.Body.String(), "auth_failed") || !strings.Contains(w.Body.String(), "old credentials are kept") {
		t.Fatalf("refused rotation = %d %s", w.Code, w.Body)
	}
	if c, _ := e.secrets.get("contoso"); c.Password != old.Password {
		t.Fatal("a refused rotation replaced the secret")
	}
	if got := e.must(req{method: "GET", path: "/tenants/contoso"}, 200); got["credentials"].(map[string]any)["fingerprint"] != old.Fingerprint() {
		t.Fatal("a refused rotation changed the fingerprint")
	}

	// Throttled: try later.
	e.checker.reports["alice@contoso.com"] = domain.AccessReport{Mailbox: "alice@contoso.com", Status: domain.MailboxThrottled}
	if w := e.do(req{method: "PUT", path: "/tenants/contoso/credentials", body: body}); w.Code != 503 {
		t.Fatalf("throttled rotation = %d", w.Code)
	}

	// A probe mailbox given in the body is used instead.
	e.must(req{method: "PUT", path: "/tenants/contoso/credentials", body: `{"credentials":` + string(cb) + `,"probeMailbox":"probe@contoso.com"}`}, 200)
	calls := e.checker.callsFor("contoso")
	if last := calls[len(calls)-1]; last.Mailbox != "probe@contoso.com" || !last.used(newCred) {
		t.Fatalf("last check of %s (new credential: %v), want the probe mailbox with the new credential", last.Mailbox, last.used(newCred))
	}
	if c, _ := e.secrets.get("contoso"); c.Password != newCred.Password {
		t.Fatal("an accepted rotation did not replace the secret")
	}
	if got := e.must(req{method: "GET", path: "/tenants/contoso"}, 200); got["credentials"].(map[string]any)["fingerprint"] != newCred.Fingerprint() {
		t.Fatal("an accepted rotation did not record the new fingerprint")
	}
	audit := e.must(req{method: "GET", path: "/tenants/contoso/audit"}, 200)
	if n := len(audit["entries"].([]any)); n != 3 {
		t.Fatalf("%d audit entries for 3 credential checks", n)
	}
}

func TestOffboard(t *testing.T) {
	e := newEnv(t)
	e.onboard("contoso", basicCred("u", "Off-pw-1"), "alice@contoso.com")
	e.onboard("globex", basicCred("u", "Off-pw-2"), "bob@globex.com")
	globexBefore, _, _ := e.store.ListMailboxes(context.Background(), "globex", domain.MailboxQuery{Limit: 10})

	// A failure midway (the secret's deletion) leaves the tenant marked
	// offboarded, refusing changes; a retry finishes.
	e.secrets.failDel = errors.New("secrets manager unavailable")
	e.must(req{method: "DELETE", path: "/tenants/contoso"}, 500)
	got := e.must(req{method: "GET", path: "/tenants/contoso"}, 200)
	if got["status"] != "offboarded" {
		t.Fatalf("after a failed offboard the tenant is %v", got["status"])
	}
	e.must(req{method: "PATCH", path: "/tenants/contoso", body: `{"displayName":"x"}`}, 409)
	e.must(req{method: "POST", path: "/tenants/contoso/verify"}, 409)
	if len(e.checker.callsFor("contoso")) != 0 {
		t.Fatal("an offboarded tenant was verified")
	}

	e.must(req{method: "DELETE", path: "/tenants/contoso"}, 204)
	if _, ok := e.secrets.get("contoso"); ok {
		t.Fatal("the secret was not deleted")
	}
	e.must(req{method: "GET", path: "/tenants/contoso"}, 404)
	ms, _, _ := e.store.ListMailboxes(context.Background(), "contoso", domain.MailboxQuery{Limit: 10})
	if len(ms) != 0 {
		t.Fatalf("mailboxes survived the purge: %v", ms)
	}
	e.must(req{method: "DELETE", path: "/tenants/contoso"}, 404)

	// The other tenant is untouched.
	if _, ok := e.secrets.get("globex"); !ok {
		t.Fatal("offboarding contoso deleted globex's secret")
	}
	globexAfter, _, _ := e.store.ListMailboxes(context.Background(), "globex", domain.MailboxQuery{Limit: 10})
	if len(globexAfter) != len(globexBefore) {
		t.Fatal("offboarding contoso changed globex's mailboxes")
	}
}

func TestChangeFeed(t *testing.T) {
	e := newEnv(t)
	e.onboard("contoso", basicCred("u", "Feed-pw-1"), "alice@contoso.com", "carol@contoso.com")
	e.synced("contoso", "alice@contoso.com", "carol@contoso.com")
	ctx := context.Background()
	for _, mb := range []string{"alice@contoso.com", "carol@contoso.com"} {
		_, err := e.store.ApplyChanges(ctx, "contoso", mb, []domain.ItemChange{
			{Kind: domain.ChangeCreate, ItemID: "id-" + mb, ChangeKey: "ck1", Item: &domain.Item{ID: "id-" + mb, ChangeKey: "ck1", Kind: domain.KindMessage, Subject: "hello"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	all := e.must(req{method: "GET", path: "/tenants/contoso/changes"}, 200)
	var kinds []string
	for _, c := range all["changes"].([]any) {
		ch := c.(map[string]any)
		kinds = append(kinds, fmt.Sprint(ch["changeType"], " ", ch["mailbox"]))
	}
	if want := "[mailboxSynced alice@contoso.com mailboxSynced carol@contoso.com create alice@contoso.com create carol@contoso.com]"; fmt.Sprint(kinds) != want {
		t.Fatalf("tenant feed has %v, want %s", kinds, want)
	}
	next := all["nextCursor"].(string)
	again := e.must(req{method: "GET", path: "/tenants/contoso/changes?cursor=" + next}, 200)
	if n := len(again["changes"].([]any)); n != 0 || again["nextCursor"] != next {
		t.Fatalf("feed after its end = %v", again)
	}
	one := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/alice@contoso.com/changes?limit=10"}, 200)
	chs := one["changes"].([]any)
	if len(chs) != 1 || chs[0].(map[string]any)["mailbox"] != "alice@contoso.com" {
		t.Fatalf("mailbox feed = %v", one)
	}
	e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/nobody@contoso.com/changes"}, 404)
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "GET", path: "/admin"})
	if w.Code != 404 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("unknown route = %d %s", w.Code, w.Header())
	}
	w = e.do(req{method: "PUT", path: "/tenants/contoso"})
	if w.Code != 405 || !strings.Contains(w.Header().Get("Allow"), "PATCH") {
		t.Fatalf("wrong method = %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// TestInterruptedOnboardingIsFixedByRotation: a tenant whose onboarding
// stopped after claiming the id shows no credentials, refuses verify, and a
// rotation completes it.
func TestInterruptedOnboardingIsFixedByRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.store.CreateTenant(ctx, domain.Tenant{ID: "contoso", DisplayName: "Contoso", EWSURL: "https://mail.contoso.com/EWS/Exchange.asmx",
		ExchangeVersion: "Exchange2016", AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, Folders: domain.DefaultFolders,
		SyncInterval: domain.DefaultSyncInterval, MaxConcurrentJobs: 10, Status: domain.TenantActive, CreatedAt: testNow, UpdatedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	got := e.must(req{method: "GET", path: "/tenants/contoso"}, 200)
	if got["credentials"] != nil {
		t.Fatalf("credentials = %v, want null", got["credentials"])
	}
	e.addMailboxes("contoso", "alice@contoso.com")
	w := e.do(req{method: "POST", path: "/tenants/contoso/verify"})
	if w.Code != 409 || !strings.Contains(w.Body.String(), "no stored credentials") {
		t.Fatalf("verify without credentials = %d %s", w.Code, w.Body)
	}
	c := basicCred("svc", "Resume-pw-1")
	cb, _ := domain.MarshalCredential(c)
	e.must(req{method: "PUT", path: "/tenants/contoso/credentials", body: `{"credentials":` + string(cb) + `}`}, 200)
	got = e.must(req{method: "GET", path: "/tenants/contoso"}, 200)
	if cv, _ := got["credentials"].(map[string]any); cv == nil || cv["fingerprint"] != c.Fingerprint() {
		t.Fatalf("credentials after rotation = %v", got["credentials"])
	}
	e.must(req{method: "POST", path: "/tenants/contoso/verify"}, 200)
}

// TestVerifySurvivesCheckerPanic: a panicking check (on its own goroutine)
// becomes that mailbox's error instead of ending the process.
func TestVerifySurvivesCheckerPanic(t *testing.T) {
	e := newEnv(t)
	e.onboard("contoso", basicCred("u", "Panic-pw-1"), "alice@contoso.com", panicMailbox)
	out := e.must(req{method: "POST", path: "/tenants/contoso/verify"}, 200)
	if s := out["summary"].(map[string]any); s["ok"] != 1.0 || s["error"] != 1.0 {
		t.Fatalf("summary = %v", s)
	}
	if !strings.Contains(e.logs.String(), "checker bug") {
		t.Fatal("the panic is not logged")
	}
}

// A reader whose cursor fell behind the feed retention is told so with
// 410 and the code "gone", not silently moved past the dropped changes.
func TestChangeFeedCursorExpired(t *testing.T) {
	clock := storetest.NewClock(testNow)
	st := openStore(t, boltstore.Options{Clock: clock, FeedRetention: 24 * time.Hour})
	e := newEnvOn(t, st, openSecrets(t))
	e.onboard("contoso", basicCred("u", "Feed-pw-1"), "alice@contoso.com")
	e.synced("contoso", "alice@contoso.com")
	ctx := context.Background()
	add := func(id string) {
		t.Helper()
		if _, err := st.ApplyChanges(ctx, "contoso", "alice@contoso.com", []domain.ItemChange{
			{Kind: domain.ChangeCreate, ItemID: id, ChangeKey: "ck1", Item: &domain.Item{ID: id, ChangeKey: "ck1", Kind: domain.KindMessage, Subject: "hello"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	add("m1")
	first := e.must(req{method: "GET", path: "/tenants/contoso/changes?limit=1"}, 200)
	mfirst := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/alice@contoso.com/changes?limit=1"}, 200)
	add("m2") // never read
	clock.Advance(25 * time.Hour)
	add("m3") // drops m1 and m2
	for _, path := range []string{
		"/tenants/contoso/changes?cursor=" + first["nextCursor"].(string),
		"/tenants/contoso/mailboxes/alice@contoso.com/changes?cursor=" + mfirst["nextCursor"].(string),
	} {
		body := e.must(req{method: "GET", path: path}, 410)
		if code := body["error"].(map[string]any)["code"]; code != "gone" {
			t.Fatalf("%s: error code %v, want gone", path, code)
		}
	}
	fresh := e.must(req{method: "GET", path: "/tenants/contoso/changes"}, 200)
	if chs := fresh["changes"].([]any); len(chs) != 1 || chs[0].(map[string]any)["itemId"] != "m3" {
		t.Fatalf("reading again from the start: %v, want m3", fresh)
	}
	// A cursor of another feed, or a bare number past the head, is bad
	// input: it must not wrap around to the first changes.
	for _, path := range []string{
		"/tenants/contoso/changes?cursor=18446744073709551615",
		"/tenants/contoso/mailboxes/alice@contoso.com/changes?cursor=" + first["nextCursor"].(string),
	} {
		body := e.must(req{method: "GET", path: path}, 400)
		if f := body["error"].(map[string]any)["field"]; f != "cursor" {
			t.Fatalf("%s: field %v, want cursor", path, f)
		}
	}
}

// lossyIdempotency loses the first idempotency record it is asked to save,
// as a crash (or an API Gateway timeout) between the create and the save
// would.
type lossyIdempotency struct {
	domain.Store
	lost bool
}

func (s *lossyIdempotency) SaveIdempotent(ctx context.Context, tenantID, scope, key string, value []byte, ttl time.Duration) ([]byte, bool, error) {
	if !s.lost {
		s.lost = true
		return nil, false, errors.New("process died before saving")
	}
	return s.Store.SaveIdempotent(ctx, tenantID, scope, key, value, ttl)
}

// A create whose idempotency record was never saved (the process died, or
// the caller timed out and retried) answers its retry with 201 and the
// tenant, not 409: the tenant carries the request's token.
func TestCreateRetryAfterLostIdempotencyRecord(t *testing.T) {
	e := newEnvOn(t, &lossyIdempotency{Store: openStore(t, boltstore.Options{Clock: fixedClock{testNow}})}, openSecrets(t))
	body := tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("u", "Lost-pw-1"), "")
	h := map[string]string{"Idempotency-Key": "create-contoso-1"}
	first := e.do(req{method: "POST", path: "/tenants", body: body, header: h})
	if first.Code != 201 {
		t.Fatalf("first create = %d %s", first.Code, first.Body)
	}
	retry := e.do(req{method: "POST", path: "/tenants", body: body, header: h})
	if retry.Code != 201 || !strings.Contains(retry.Body.String(), `"id":"contoso"`) {
		t.Fatalf("retry with the same key = %d %s, want 201 with the tenant", retry.Code, retry.Body)
	}
	// Now recorded: a third try replays it; another key is a conflict.
	if w := e.do(req{method: "POST", path: "/tenants", body: body, header: h}); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("third try = %d %v", w.Code, w.Header())
	}
	if w := e.do(req{method: "POST", path: "/tenants", body: body, header: map[string]string{"Idempotency-Key": "another"}}); w.Code != 409 {
		t.Fatalf("another key = %d, want 409", w.Code)
	}
	if got := e.must(req{method: "GET", path: "/tenants/contoso"}, 200); got["createToken"] != nil {
		t.Fatalf("the tenant view shows its create token: %v", got)
	}
}

// TestTenantBodyFormat: a tenant is created with a body format and keeps
// it; a patch changes it; the default is text.
func TestTenantBodyFormat(t *testing.T) {
	e := newEnv(t)
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("svc", "Body-pw-1"),
		`,"bodyFormat":"html"`)}, 201)
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("fabrikam", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("svc", "Body-pw-2"), "")}, 201)
	format := func(id string) string {
		t.Helper()
		w := e.do(req{method: "GET", path: "/tenants/" + id})
		var v tenantView
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		return v.BodyFormat
	}
	if got := format("contoso"); got != domain.BodyFormatHTML {
		t.Errorf("contoso created with html: %q", got)
	}
	if got := format("fabrikam"); got != domain.BodyFormatText {
		t.Errorf("fabrikam's default: %q", got)
	}
	e.must(req{method: "PATCH", path: "/tenants/contoso", body: `{"bodyFormat":"text"}`}, 200)
	if got := format("contoso"); got != domain.BodyFormatText {
		t.Errorf("contoso after the patch: %q", got)
	}
	tn, err := e.store.GetTenant(context.Background(), "fabrikam")
	if err != nil || tn.BodyFormat != domain.BodyFormatText {
		t.Errorf("stored %q, %v", tn.BodyFormat, err)
	}
}

// TestTenantArchive: archive export is off by default; turning it on
// starts it now and says so, asking again keeps its start (a repeated
// PATCH leaves no message out), off forgets it, and the stored tenant
// follows.
func TestTenantArchive(t *testing.T) {
	e := newEnv(t)
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("svc", "Archive-pw-1"),
		`,"archive":{"enabled":true}`)}, 201)
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("fabrikam", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("svc", "Archive-pw-2"), "")}, 201)
	view := func(id string) archiveView {
		t.Helper()
		w := e.do(req{method: "GET", path: "/tenants/" + id})
		var v tenantView
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		return v.Archive
	}
	on := view("contoso")
	if !on.Enabled || on.Since == nil {
		t.Fatalf("contoso created with archive on: %+v", on)
	}
	if off := view("fabrikam"); off.Enabled || off.Since != nil {
		t.Fatalf("fabrikam's default: %+v, want off", off)
	}
	e.must(req{method: "PATCH", path: "/tenants/contoso", body: `{"archive":{"enabled":true}}`}, 200)
	if again := view("contoso"); !again.Enabled || !again.Since.Equal(*on.Since) {
		t.Errorf("on again moved its start: %v, was %v", again.Since, on.Since)
	}
	e.must(req{method: "PATCH", path: "/tenants/contoso", body: `{"archive":{"enabled":false}}`}, 200)
	if off := view("contoso"); off.Enabled || off.Since != nil {
		t.Errorf("after off: %+v", off)
	}
	tn, err := e.store.GetTenant(context.Background(), "contoso")
	if err != nil || tn.Archive != (domain.ArchiveSettings{}) {
		t.Errorf("stored after off: %+v, %v", tn.Archive, err)
	}
	e.must(req{method: "PATCH", path: "/tenants/fabrikam", body: `{"archive":{"enabled":true}}`}, 200)
	if tn, err := e.store.GetTenant(context.Background(), "fabrikam"); err != nil || !tn.Archive.Enabled || tn.Archive.Since.IsZero() {
		t.Errorf("fabrikam stored after on: %+v, %v", tn.Archive, err)
	}
}
