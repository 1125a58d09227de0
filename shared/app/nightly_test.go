package app_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// scriptedChecker is a domain.AccessChecker answering from a table.
type scriptedChecker struct {
	mu      sync.Mutex
	reports map[string]domain.AccessReport
	checked []string
}

func (c *scriptedChecker) CheckAccess(_ context.Context, _ domain.Tenant, m domain.Mailbox, _ domain.Credential) (domain.AccessReport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked = append(c.checked, m.Address)
	return c.reports[m.Address], nil
}

func TestNightlyVerifierUpdatesStatuses(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, "ok@acme.com", "gone@acme.com", "shy@acme.com")
	e.addTenant("globex", domain.AccessImpersonation, nil, "x@globex.com")
	e.addTenant("nocreds", domain.AccessImpersonation, nil, "y@nocreds.com")
	_ = e.syncer.Secrets.DeleteCredential(context.Background(), "nocreds")
	tn := e.tenant("globex")
	tn.Status = domain.TenantOffboarded
	if err := e.store.UpdateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	// ok@ was out of scope yesterday; an admin fixed it.
	m := e.mailbox("acme", "ok@acme.com")
	m.Status, m.Hint = domain.MailboxOutOfScope, "add it to the scope"
	if err := e.store.PutMailbox(context.Background(), m); err != nil {
		t.Fatal(err)
	}

	checker := &scriptedChecker{reports: map[string]domain.AccessReport{
		"ok@acme.com":   {Status: domain.MailboxOK, Mode: domain.AccessImpersonation},
		"gone@acme.com": {Status: domain.MailboxOutOfScope, Detail: "ErrorImpersonateUserDenied", ErrorKind: domain.AccessOutOfScope, Code: "ErrorImpersonateUserDenied"},
		"shy@acme.com":  {Status: domain.MailboxOK, Mode: domain.AccessDelegate, FellBack: true, UnreadableFolders: []string{"Calendar"}},
	}}
	tenants := &app.Tenants{Store: e.bolt, Secrets: e.syncer.Secrets, Checker: checker, Clock: e.clock, Log: quiet}
	n := &app.Nightly{Store: e.bolt, Tenants: tenants, Log: quiet}
	sum, err := n.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Tenants != 1 || sum.Offboarded != 1 || !slices.Equal(sum.FailedTenants, []string{"nocreds"}) || sum.Mailboxes != 3 ||
		sum.ByStatus[domain.MailboxOK] != 2 || sum.ByStatus[domain.MailboxOutOfScope] != 1 {
		t.Errorf("summary %+v", sum)
	}
	if slices.Contains(checker.checked, "x@globex.com") {
		t.Errorf("an offboarded tenant's mailbox was checked")
	}
	for _, tc := range []struct {
		addr   string
		status domain.MailboxStatus
		hint   string // a phrase of the hint the application writes; "" for none
		mode   domain.AccessMode
		folder []string
	}{
		{"ok@acme.com", domain.MailboxOK, "", domain.AccessImpersonation, nil},
		{"gone@acme.com", domain.MailboxOutOfScope, "Add gone@acme.com to the management scope", "", nil},
		{"shy@acme.com", domain.MailboxOK, `Add-MailboxFolderPermission -Identity "shy@acme.com:\Calendar"`, domain.AccessDelegate, []string{"Calendar"}},
	} {
		m := e.mailbox("acme", tc.addr)
		hintOK := strings.Contains(m.Hint, tc.hint) && (tc.hint != "") == (m.Hint != "")
		if m.Status != tc.status || !hintOK || m.EffectiveMode != tc.mode || !slices.Equal(m.UnreadableFolders, tc.folder) {
			t.Errorf("%s: status %q hint %q mode %q unreadable %v; want %q %q %q %v", tc.addr, m.Status, m.Hint, m.EffectiveMode, m.UnreadableFolders, tc.status, tc.hint, tc.mode, tc.folder)
		}
	}
	audit, _, _ := e.bolt.ListAudit(context.Background(), "acme", domain.AuditQuery{Limit: 10})
	if len(audit) != 3 || audit[0].Operation != "verify" {
		t.Errorf("audit %+v, want three verify entries", audit)
	}
}
