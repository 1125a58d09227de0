package ewsmailbox_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/testsupport/golden"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

const (
	svcUser     = "svc-mailbridge@contoso.com"
	svcPassword = "Pr0be-Test-Passw0rd"
	appTenant   = "contoso-tenant"
	appClientID = "0c7e1f4e-5a1b-4c8e-9f00-70726f626501"
	appSecret   = "probe-test-client-secret"

	inScope    = "anna@contoso.com" // in the impersonation scope
	outOfScope = "ben@contoso.com"  // neither impersonation nor delegate
	delegated  = "chloe@contoso.com"
	folderDel  = "dan@contoso.com"   // inbox, sent items and calendar shared; contacts not
	busy       = "eva@contoso.com"   // answers ErrorServerBusy
	calOnly    = "farid@contoso.com" // outside the scope, only the calendar shared
	unknown    = "nobody@contoso.com"
)

// checkEnv is one TLS simulator (OAuth needs an https authority) with a
// service account that is also an app registration (secret and cert).
type checkEnv struct {
	sim     *ewssim.Sim
	srv     *ewssim.Server
	certPEM string
	keyPEM  string
	checker scannedChecker
}

var (
	checkEnvOnce   sync.Once
	sharedCheckEnv *checkEnv
	checkEnvErr    error
)

func testCheckEnv(t *testing.T) *checkEnv {
	t.Helper()
	checkEnvOnce.Do(func() { sharedCheckEnv, checkEnvErr = newCheckEnv() })
	if checkEnvErr != nil {
		t.Fatal(checkEnvErr)
	}
	return sharedCheckEnv
}

func newCheckEnv() (*checkEnv, error) {
	sim := ewssim.New(ewssim.Options{Seed: 1})
	for _, a := range []string{inScope, outOfScope, delegated, folderDel, busy, calOnly} {
		if err := sim.AddMailbox(a, strings.Split(a, "@")[0]); err != nil {
			return nil, err
		}
	}
	certPEM, keyPEM, err := newCert()
	if err != nil {
		return nil, err
	}
	if err := sim.AddAccount(ewssim.Account{
		Username: svcUser, Password: svcPassword,
		Tenant: appTenant, ClientID: appClientID, ClientSecret: appSecret, CertPEM: certPEM,
		ImpersonationScope: []string{inScope, busy},
	}); err != nil {
		return nil, err
	}
	if err := sim.GrantDelegate(svcUser, delegated, ""); err != nil {
		return nil, err
	}
	for _, f := range []string{"inbox", "sentitems", "calendar"} {
		if err := sim.GrantDelegate(svcUser, folderDel, f); err != nil {
			return nil, err
		}
	}
	if err := sim.GrantDelegate(svcUser, calOnly, "calendar"); err != nil {
		return nil, err
	}
	sim.InjectFault(ewssim.Fault{Mailbox: busy, Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: 2 * time.Second})
	srv, err := sim.Start(true)
	if err != nil {
		return nil, err
	}
	// The server lives for the whole test binary; the OS reclaims it.
	return &checkEnv{sim: sim, srv: srv, certPEM: certPEM, keyPEM: keyPEM,
		checker: scannedChecker{ewsmailbox.NewChecker(ewsmailbox.CheckerOptions{Client: ewsmailbox.Options{RootCAs: srv.CertPool(), URLGuard: simOptions.URLGuard}})}}, nil
}

func newCert() (certPEM, keyPEM string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "mailbridge-probe-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})), nil
}

func (e *checkEnv) cred(kind domain.AuthKind) domain.Credential {
	switch kind {
	case domain.AuthOAuthSecret:
		return domain.Credential{Kind: kind, EntraTenant: appTenant, ClientID: appClientID, ClientSecret: appSecret, Authority: e.srv.URL}
	case domain.AuthOAuthCert:
		return domain.Credential{Kind: kind, EntraTenant: appTenant, ClientID: appClientID, CertPEM: e.certPEM, KeyPEM: e.keyPEM, Authority: e.srv.URL}
	}
	return domain.Credential{Kind: kind, Username: svcUser, Password: svcPassword}
}

func (e *checkEnv) tenant(mode domain.AccessMode, fallback bool) domain.Tenant {
	return domain.Tenant{ID: "t-probe", EWSURL: e.srv.EWSURL, AccessMode: mode, AllowFallback: fallback, Folders: domain.DefaultFolders}
}

// TestCheckAccess runs the verify cases (impersonation in and out of scope,
// the fallback to delegate access, folder-level delegates, unknown
// mailboxes) and the failure kinds against the simulator, comparing the
// whole report, with the hint the application writes for it, with a golden
// file: what an admin reads in the verify answer and in `ewsctl probe
// --json`.
func TestCheckAccess(t *testing.T) {
	e := testCheckEnv(t)
	tests := []struct {
		name     string
		mode     domain.AccessMode
		fallback bool
		mailbox  string
		cred     func(domain.Credential) domain.Credential
		auth     domain.AuthKind
		status   domain.MailboxStatus
		wantMode domain.AccessMode
		hint     string // a phrase the hint must hold
	}{
		{name: "in-scope", mode: domain.AccessImpersonation, mailbox: inScope, auth: domain.AuthBasic,
			status: domain.MailboxOK, wantMode: domain.AccessImpersonation},
		{name: "out-of-scope", mode: domain.AccessImpersonation, mailbox: outOfScope, auth: domain.AuthNTLM,
			status: domain.MailboxOutOfScope, wantMode: domain.AccessImpersonation, hint: "management scope"},
		{name: "out-of-scope-oauth", mode: domain.AccessImpersonation, mailbox: outOfScope, auth: domain.AuthOAuthSecret,
			status: domain.MailboxOutOfScope, wantMode: domain.AccessImpersonation, hint: "Application Access Policy"},
		{name: "unknown-impersonation", mode: domain.AccessImpersonation, mailbox: unknown, auth: domain.AuthBasic,
			status: domain.MailboxNotFound, wantMode: domain.AccessImpersonation, hint: "no mailbox nobody@contoso.com"},
		{name: "unknown-delegate", mode: domain.AccessDelegate, mailbox: unknown, auth: domain.AuthBasic,
			status: domain.MailboxNotFound, wantMode: domain.AccessDelegate, hint: "no mailbox nobody@contoso.com"},
		{name: "folder-delegate-one-unshared", mode: domain.AccessFolderDelegate, mailbox: folderDel, auth: domain.AuthBasic,
			status: domain.MailboxOK, wantMode: domain.AccessFolderDelegate, hint: `Add-MailboxFolderPermission -Identity "dan@contoso.com:\Contacts" -User svc-mailbridge@contoso.com -AccessRights Reviewer`},
		{name: "fallback-to-delegate", mode: domain.AccessImpersonation, fallback: true, mailbox: delegated, auth: domain.AuthBasic,
			status: domain.MailboxOK, wantMode: domain.AccessDelegate, hint: "charges every call to the service account"},
		{name: "fallback-not-allowed", mode: domain.AccessImpersonation, mailbox: delegated, auth: domain.AuthBasic,
			status: domain.MailboxOutOfScope, wantMode: domain.AccessImpersonation, hint: "allow fallback to delegate access"},
		{name: "fallback-fails-too", mode: domain.AccessImpersonation, fallback: true, mailbox: outOfScope, auth: domain.AuthBasic,
			status: domain.MailboxOutOfScope, wantMode: domain.AccessImpersonation, hint: "management scope"},
		{name: "delegate-no-permission", mode: domain.AccessDelegate, mailbox: outOfScope, auth: domain.AuthBasic,
			status: domain.MailboxAccessDenied, wantMode: domain.AccessDelegate, hint: "Add-MailboxPermission -Identity ben@contoso.com"},
		{name: "mailbox-override-delegate", mode: "", mailbox: delegated, auth: domain.AuthOAuthCert,
			status: domain.MailboxOK, wantMode: domain.AccessDelegate},
		{name: "wrong-password-basic", mode: domain.AccessImpersonation, mailbox: inScope, auth: domain.AuthBasic,
			cred:   func(c domain.Credential) domain.Credential { c.Password = "Wrong-Passw0rd"; return c },
			status: domain.MailboxAuthFailed, wantMode: domain.AccessImpersonation, hint: "locked out"},
		{name: "wrong-password-ntlm", mode: domain.AccessDelegate, mailbox: delegated, auth: domain.AuthNTLM,
			cred:   func(c domain.Credential) domain.Credential { c.Password = "Wrong-Passw0rd"; return c },
			status: domain.MailboxAuthFailed, wantMode: domain.AccessDelegate, hint: "Windows (NTLM) authentication"},
		{name: "wrong-client-secret", mode: domain.AccessImpersonation, mailbox: inScope, auth: domain.AuthOAuthSecret,
			cred:   func(c domain.Credential) domain.Credential { c.ClientSecret = "not-the-secret"; return c },
			status: domain.MailboxAuthFailed, wantMode: domain.AccessImpersonation, hint: "client secret (not the secret's id)"},
		{name: "throttled", mode: domain.AccessImpersonation, mailbox: busy, auth: domain.AuthBasic,
			status: domain.MailboxThrottled, wantMode: domain.AccessImpersonation, hint: "not an access failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.cred(tt.auth)
			if tt.cred != nil {
				c = tt.cred(c)
			}
			tn := e.tenant(tt.mode, tt.fallback)
			m := domain.Mailbox{TenantID: tn.ID, Address: tt.mailbox}
			if tt.name == "mailbox-override-delegate" {
				tn.AccessMode = domain.AccessImpersonation
				m.AccessMode = domain.AccessDelegate
			}
			rep, err := e.checker.CheckAccess(context.Background(), tn, m, c)
			if err != nil {
				t.Fatal(err)
			}
			rep = adminView(t, tn, m, c, rep)
			if rep.Status != tt.status || rep.Mode != tt.wantMode {
				t.Errorf("status %s in mode %s, want %s in mode %s (detail %q)", rep.Status, rep.Mode, tt.status, tt.wantMode, rep.Detail)
			}
			if rep.Mailbox != tt.mailbox {
				t.Errorf("mailbox %q, want %q", rep.Mailbox, tt.mailbox)
			}
			if rep.Status != domain.MailboxOK && rep.Hint == "" {
				t.Error("a problem without a hint")
			}
			if !strings.Contains(rep.Hint, tt.hint) {
				t.Errorf("hint %q lacks %q", rep.Hint, tt.hint)
			}
			raw, _ := json.Marshal(rep)
			for _, s := range append(c.SecretValues(), svcPassword, appSecret) {
				if strings.Contains(string(raw), s) {
					t.Errorf("report holds a secret: %s", raw)
				}
			}
			golden.JSON(t, filepath.Join("testdata", "check", tt.name+".json"), rep)
		})
	}
}

// TestReportDetails checks the facts beyond the status that the golden
// files also pin, so a failure names what went wrong.
func TestReportDetails(t *testing.T) {
	e := testCheckEnv(t)
	ctx := context.Background()
	check := func(mode domain.AccessMode, fallback bool, mailbox string) domain.AccessReport {
		t.Helper()
		tn, m, c := e.tenant(mode, fallback), domain.Mailbox{Address: mailbox}, e.cred(domain.AuthBasic)
		rep, err := e.checker.CheckAccess(ctx, tn, m, c)
		if err != nil {
			t.Fatal(err)
		}
		return adminView(t, tn, m, c, rep)
	}
	t.Run("ok lists every default folder and the server build", func(t *testing.T) {
		rep := check(domain.AccessImpersonation, false, inScope)
		if got := strings.Join(rep.ReadableFolders, ","); got != "inbox,sentitems,calendar,contacts" {
			t.Errorf("readable %s", got)
		}
		if rep.UnreadableFolders != nil || rep.FellBack || rep.Throttled {
			t.Errorf("unexpected problems: %+v", rep)
		}
		if !strings.HasPrefix(rep.ServerVersion, "15.") {
			t.Errorf("server version %q, want the simulator's 15.x build", rep.ServerVersion)
		}
	})
	t.Run("folder delegate lists exactly the unshared folder", func(t *testing.T) {
		rep := check(domain.AccessFolderDelegate, false, folderDel)
		if got := strings.Join(rep.UnreadableFolders, ","); got != "contacts" {
			t.Errorf("unreadable %q, want contacts", got)
		}
		if got := strings.Join(rep.ReadableFolders, ","); got != "inbox,sentitems,calendar" {
			t.Errorf("readable %q", got)
		}
	})
	t.Run("fallback is marked", func(t *testing.T) {
		rep := check(domain.AccessImpersonation, true, delegated)
		if !rep.FellBack || rep.Mode != domain.AccessDelegate {
			t.Errorf("fellBack %v mode %s, want a fallback to delegate", rep.FellBack, rep.Mode)
		}
		if !strings.Contains(rep.Detail, "ErrorImpersonateUserDenied") {
			t.Errorf("detail %q does not say why it fell back", rep.Detail)
		}
	})
	t.Run("throttling is flagged with the back-off", func(t *testing.T) {
		rep := check(domain.AccessImpersonation, false, busy)
		if !rep.Throttled || !strings.Contains(rep.Detail, "ErrorServerBusy") || !strings.Contains(rep.Hint, "after 2s") {
			t.Errorf("got %+v", rep)
		}
	})
	t.Run("calendar permission instead of impersonation", func(t *testing.T) {
		tn := e.tenant(domain.AccessImpersonation, true)
		tn.Folders = []string{domain.FolderCalendar}
		rep, err := e.checker.CheckAccess(ctx, tn, domain.Mailbox{Address: calOnly}, e.cred(domain.AuthBasic))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status != domain.MailboxOK || !rep.FellBack || rep.Mode != domain.AccessDelegate || rep.UnreadableFolders != nil {
			t.Errorf("got %+v, want ok via delegate with nothing unreadable", rep)
		}
		if got := strings.Join(rep.ReadableFolders, ","); got != "calendar" {
			t.Errorf("readable %q, want calendar", got)
		}
		// The same mailbox for a tenant syncing everything: ok, with the
		// unshared folders named.
		rep, err = e.checker.CheckAccess(ctx, e.tenant(domain.AccessImpersonation, true), domain.Mailbox{Address: calOnly}, e.cred(domain.AuthBasic))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status != domain.MailboxOK || strings.Join(rep.UnreadableFolders, ",") != "inbox,sentitems,contacts" {
			t.Errorf("got %+v", rep)
		}
	})
	t.Run("only configured folders count as problems", func(t *testing.T) {
		tn := e.tenant(domain.AccessFolderDelegate, false)
		tn.Folders = []string{domain.FolderCalendar}
		m, c := domain.Mailbox{Address: folderDel}, e.cred(domain.AuthBasic)
		rep, err := e.checker.CheckAccess(ctx, tn, m, c)
		if err != nil {
			t.Fatal(err)
		}
		rep = adminView(t, tn, m, c, rep)
		if rep.Status != domain.MailboxOK || rep.UnreadableFolders != nil || rep.Hint != "" {
			t.Errorf("a calendar-only tenant sees a problem: %+v", rep)
		}
	})
}

// TestBadClientConfig: a credential the client cannot be built from is the
// caller's error, and the message does not quote the key.
func TestBadClientConfig(t *testing.T) {
	e := testCheckEnv(t)
	c := e.cred(domain.AuthOAuthCert)
	c.KeyPEM = "-----BEGIN RSA PRIVATE KEY-----\nbm90LWEta2V5LXNlY3JldA==\n-----END RSA PRIVATE KEY-----\n"
	_, err := e.checker.CheckAccess(context.Background(), e.tenant(domain.AccessImpersonation, false), domain.Mailbox{Address: inScope}, c)
	if err == nil {
		t.Fatal("no error for an unusable certificate")
	}
	if strings.Contains(err.Error(), "bm90LWEta2V5LXNlY3JldA") {
		t.Errorf("error quotes the key: %v", err)
	}
}

// TestConcurrentChecks runs checks of every kind at once through one
// Checker (run with -race): a verify checks many mailboxes in parallel.
func TestConcurrentChecks(t *testing.T) {
	e := testCheckEnv(t)
	want := map[string]domain.MailboxStatus{
		inScope: domain.MailboxOK, outOfScope: domain.MailboxOutOfScope, unknown: domain.MailboxNotFound, busy: domain.MailboxThrottled,
	}
	var wg sync.WaitGroup
	for i := range 24 {
		for addr, status := range want {
			wg.Add(1)
			go func() {
				defer wg.Done()
				kind := []domain.AuthKind{domain.AuthBasic, domain.AuthNTLM, domain.AuthOAuthSecret}[i%3]
				rep, err := e.checker.CheckAccess(context.Background(), e.tenant(domain.AccessImpersonation, false), domain.Mailbox{Address: addr}, e.cred(kind))
				if err != nil {
					t.Error(err)
					return
				}
				if rep.Status != status {
					t.Errorf("%s with %s: %s, want %s", addr, kind, rep.Status, status)
				}
			}()
		}
	}
	wg.Wait()
}

// adminView is the report as an admin reads it: the checker's findings
// with the hint the application writes for them. The checker itself writes
// no hint text.
func adminView(t *testing.T, tn domain.Tenant, m domain.Mailbox, c domain.Credential, rep domain.AccessReport) domain.AccessReport {
	t.Helper()
	if rep.Hint != "" {
		t.Errorf("the checker wrote a hint: %q", rep.Hint)
	}
	rep.Hint = app.ReportHint(tn, m, c, rep)
	return rep
}
