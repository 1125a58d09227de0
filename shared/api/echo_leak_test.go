package api

import (
	"crypto/tls"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// echoingExchange is the simulator behind a proxy that, once a request is
// authenticated, answers a SOAP fault quoting the Authorization header it
// got (as some Exchange front ends and proxies do). It remembers every
// header value it saw, so the test can look for those too.
type echoingExchange struct {
	sim  http.Handler
	mu   sync.Mutex
	seen []string
}

func (x *echoingExchange) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.URL.Path, ewssim.EWSPath) {
		x.sim.ServeHTTP(w, r) // the token endpoint
		return
	}
	rec := httptest.NewRecorder()
	x.sim.ServeHTTP(rec, r)
	if rec.Code == http.StatusUnauthorized {
		// A step of the NTLM handshake: pass it on.
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	auth := r.Header.Get("Authorization")
	x.mu.Lock()
	x.seen = append(x.seen, auth)
	if _, tok, ok := strings.Cut(auth, " "); ok {
		x.seen = append(x.seen, tok)
	}
	x.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode>s:Client</faultcode>
<faultstring>The request was rejected by the proxy. Authorization: %s (header as received)</faultstring>
<detail><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">Rejected %s</e:Message></detail>
</s:Fault></s:Body></s:Envelope>`, html.EscapeString(auth), html.EscapeString(auth))
}

func (x *echoingExchange) headers() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.seen...)
}

// TestEchoedCredentialNeverLeaks: an Exchange or proxy that echoes the
// Authorization header in its fault must leave no form of the credential
// (raw, base64 of user:password, NTLM message, bearer token, ...) in the
// verify answer, the stored lastError or the logs, for Basic, NTLM and
// OAuth (Bearer).
func TestEchoedCredentialNeverLeaks(t *testing.T) {
	const (
		user     = "svc-echo@contoso.com"
		password = "Echo-Passw0rd:with/odd+chars"
		tenant   = "contoso-echo.onmicrosoft.com"
		clientID = "0c7e1f4e-5a1b-4c8e-9f00-6563686f0001"
		secret   = "Echo-Client-Secret~42"
	)
	sim := ewssim.New(ewssim.Options{Seed: 9})
	if err := sim.AddMailbox(inScope, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddAccount(ewssim.Account{Username: user, Password: password, Tenant: tenant, ClientID: clientID,
		ClientSecret: secret, ImpersonationScope: []string{inScope}}); err != nil {
		t.Fatal(err)
	}
	proxy := &echoingExchange{sim: sim.Handler()}
	srv, err := sim.StartWith(true, proxy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	creds := map[string]domain.Credential{
		"basic": {Kind: domain.AuthBasic, Username: user, Password: password},
		"ntlm":  {Kind: domain.AuthNTLM, Username: user, Password: password},
		"bearer": {Kind: domain.AuthOAuthSecret, EntraTenant: tenant, ClientID: clientID, ClientSecret: secret,
			Authority: srv.URL},
	}
	for name, cred := range creds {
		t.Run(name, func(t *testing.T) {
			noteSecret(cred)
			policy := urlguard.Policy{DevLoopback: true}
			tr := policy.Transport()
			tr.TLSClientConfig = &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}
			checker := ewsmailbox.NewChecker(ewsmailbox.CheckerOptions{Client: ewsmailbox.Options{URLGuard: &policy,
				HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}}})
			e := newEnv(t, func(d *Deps) { d.Checker = checker; d.URLPolicy = policy })
			id := "echo-" + name
			e.must(req{method: "POST", path: "/tenants", body: tenantBody(id, srv.EWSURL, cred, "")}, 201)
			e.must(req{method: "POST", path: "/tenants/" + id + "/mailboxes", body: fmt.Sprintf(`{"mailboxes":[{"address":%q}]}`, inScope)}, 200)
			verify := e.do(req{method: "POST", path: "/tenants/" + id + "/verify"})
			mailboxes := e.do(req{method: "GET", path: "/tenants/" + id + "/mailboxes"})
			if verify.Code != 200 || mailboxes.Code != 200 {
				t.Fatalf("verify %d %s, mailboxes %d %s", verify.Code, verify.Body, mailboxes.Code, mailboxes.Body)
			}
			seen := proxy.headers()
			if len(seen) == 0 {
				t.Fatal("the proxy saw no authenticated request: nothing was echoed")
			}
			if !strings.Contains(mailboxes.Body.String(), `"lastError"`) || !strings.Contains(verify.Body.String(), "proxy") {
				t.Fatalf("the fault did not reach the answer, the test proves nothing: %s", verify.Body)
			}
			if n := len(mailboxes.Body.String()); n > 4000 {
				t.Errorf("mailbox listing is %d bytes: the stored lastError is not bounded", n)
			}
			for what, text := range map[string]string{
				"verify answer": verify.Body.String(), "mailbox lastError": mailboxes.Body.String(), "logs": e.logs.buf.String(),
			} {
				secretscan.NoLeak(t, what, text, []domain.Credential{cred}, seen...)
			}
		})
	}
}
