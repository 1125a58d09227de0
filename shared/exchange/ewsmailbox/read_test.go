package ewsmailbox_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

type simEnv struct {
	sim    *ewssim.Sim
	ds     ewssim.Dataset
	tenant domain.Tenant
	cred   domain.Credential
	conn   *ewsmailbox.Connector
}

func newSim(t *testing.T, mailboxes, items int) *simEnv {
	t.Helper()
	sim := ewssim.New(ewssim.Options{Seed: 3, MaxConcurrency: -1})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: mailboxes, ItemsPerMailbox: items, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	secretscan.Register(domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password}) // generated: Harvest cannot see it
	return &simEnv{
		sim: sim, ds: ds,
		tenant: domain.Tenant{ID: "acme", EWSURL: srv.EWSURL, ExchangeVersion: "Exchange2016", AuthKind: domain.AuthBasic},
		cred:   domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password},
		conn:   ewsmailbox.NewConnector(simOptions),
	}
}

func (e *simEnv) access(t *testing.T) domain.MailboxAccess {
	t.Helper()
	a, err := e.conn.Connect(context.Background(), e.tenant, e.cred)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func accessKind(t *testing.T, err error) *domain.AccessError {
	t.Helper()
	var ae *domain.AccessError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want *domain.AccessError", err, err)
	}
	return ae
}

func TestHierarchyAndDistinguishedFolders(t *testing.T) {
	e := newSim(t, 1, 10)
	m := domain.MailboxRef{Address: e.ds.Mailboxes[0], Mode: domain.AccessImpersonation}
	a := e.access(t)
	page, err := a.SyncHierarchy(context.Background(), m, "")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]domain.FolderInfo{}
	for _, f := range page.Created {
		byName[f.DisplayName] = f
	}
	inbox, ok := byName["Inbox"]
	if !page.Done || page.State == "" || !ok || inbox.ParentID == "" || inbox.FolderClass != "IPF.Note" {
		t.Fatalf("hierarchy page: done %v, inbox %+v", page.Done, inbox)
	}
	found, unreadable, err := a.DistinguishedFolders(context.Background(), m, []string{"inbox", "calendar"})
	if err != nil || len(unreadable) != 0 || len(found) != 2 || found[0].ID != inbox.ID || found[0].DistinguishedID != "inbox" || found[1].FolderClass != "IPF.Appointment" {
		t.Fatalf("distinguished: %+v unreadable %v err %v", found, unreadable, err)
	}

	// Folder-level delegate: the inbox is shared, the calendar is not.
	user := e.ds.Account.Username
	if err := e.sim.RevokeDelegate(user, m.Address); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.GrantDelegate(user, m.Address, "inbox"); err != nil {
		t.Fatal(err)
	}
	d := domain.MailboxRef{Address: m.Address, Mode: domain.AccessFolderDelegate}
	found, unreadable, err = a.DistinguishedFolders(context.Background(), d, []string{"inbox", "calendar"})
	if err != nil || len(found) != 1 || found[0].DistinguishedID != "inbox" || !slices.Equal(unreadable, []string{"calendar"}) {
		t.Fatalf("folder delegate: found %+v unreadable %v err %v", found, unreadable, err)
	}
	calID, _ := e.sim.FolderID(m.Address, "calendar")
	_, err = a.SyncItems(context.Background(), d, calID, "", 10)
	if ae := accessKind(t, err); ae.Kind != domain.AccessDenied || ae.Folder != calID {
		t.Errorf("unshared folder: %+v, want access_denied naming the folder", ae)
	}
	st := e.sim.Stats()
	for op := range st.Calls {
		if !slices.Contains([]string{"SyncFolderHierarchy", "GetFolder", "SyncFolderItems"}, op) {
			t.Errorf("unexpected operation %s", op)
		}
	}
}

func TestSyncItemsPagesAndGetItems(t *testing.T) {
	e := newSim(t, 1, 60)
	addr := e.ds.Mailboxes[0]
	m := domain.MailboxRef{Address: addr, Mode: domain.AccessImpersonation}
	a := e.access(t)
	inboxID, _ := e.sim.FolderID(addr, "inbox")
	var ids []string
	state := ""
	for pages := 0; ; pages++ {
		p, err := a.SyncItems(context.Background(), m, inboxID, state, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Changes) > 7 || pages > 100 {
			t.Fatalf("page of %d changes", len(p.Changes))
		}
		for _, c := range p.Changes {
			if c.Kind != domain.ChangeCreate || c.ChangeKey == "" {
				t.Fatalf("full sync change %+v", c)
			}
			ids = append(ids, c.ItemID)
		}
		state = p.State
		if p.Done {
			break
		}
	}
	refs, _ := e.sim.ListItems(addr, "inbox")
	if len(ids) != len(refs) || len(ids) == 0 {
		t.Fatalf("paged sync found %d items, inbox has %d", len(ids), len(refs))
	}

	// A read-flag change is an update; an item deleted between the sync
	// and the fetch is skipped.
	if _, err := e.sim.SetRead(ids[0], true); err != nil {
		t.Fatal(err)
	}
	p, err := a.SyncItems(context.Background(), m, inboxID, state, 7)
	if err != nil || len(p.Changes) != 1 || p.Changes[0].Kind != domain.ChangeUpdate {
		t.Fatalf("after a read-flag change: %+v err %v", p.Changes, err)
	}
	if err := e.sim.DeleteItem(ids[1]); err != nil {
		t.Fatal(err)
	}
	items, err := a.GetItems(context.Background(), m, domain.KindMessage, ids[:3])
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].ID != ids[0] || items[1].ID != ids[2] {
		t.Fatalf("GetItems returned %d items, want ids 0 and 2", len(items))
	}
	if it := items[0]; it.Kind != domain.KindMessage || it.Subject == "" || it.From == nil || it.IsRead == nil || !*it.IsRead || it.FolderID != inboxID {
		t.Errorf("normalized message %+v", it)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	e := newSim(t, 2, 5)
	addr := e.ds.Mailboxes[0]
	if err := e.sim.AddAccount(ewssim.Account{Username: "scoped@contoso.com", Password: "pw-scoped", ImpersonationScope: []string{e.ds.Mailboxes[1]}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	imp := domain.MailboxRef{Address: addr, Mode: domain.AccessImpersonation}
	for _, tc := range []struct {
		name  string
		cred  domain.Credential
		ref   domain.MailboxRef
		fault *ewssim.Fault
		setup func()
		want  domain.AccessErrorKind
		after time.Duration
	}{
		{name: "wrong password", cred: domain.Credential{Kind: domain.AuthBasic, Username: e.cred.Username, Password: "nope"}, ref: imp, want: domain.AccessAuth},
		{name: "outside the impersonation scope", cred: domain.Credential{Kind: domain.AuthBasic, Username: "scoped@contoso.com", Password: "pw-scoped"}, ref: imp, want: domain.AccessOutOfScope},
		{name: "unknown mailbox", ref: domain.MailboxRef{Address: "nobody@contoso.com", Mode: domain.AccessDelegate}, want: domain.AccessMailboxNotFound},
		{name: "server busy", ref: imp, fault: &ewssim.Fault{Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: 2500 * time.Millisecond}, want: domain.AccessThrottled, after: 2500 * time.Millisecond},
		{name: "HTTP 503", ref: imp, fault: &ewssim.Fault{Kind: ewssim.FaultHTTP503, RetryAfter: 7 * time.Second}, want: domain.AccessThrottled, after: 7 * time.Second},
		{name: "mailbox moving", ref: imp, fault: &ewssim.Fault{Kind: ewssim.FaultSOAP, Code: "ErrorMailboxMoveInProgress"}, want: domain.AccessTransient},
		{name: "truncated body", ref: imp, fault: &ewssim.Fault{Kind: ewssim.FaultTruncated}, want: domain.AccessTransient},
		{name: "schema validation", ref: imp, fault: &ewssim.Fault{Kind: ewssim.FaultSOAP, Code: "ErrorSchemaValidation"}, want: domain.AccessPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.sim.ClearFaults()
			if tc.fault != nil {
				e.sim.InjectFault(*tc.fault)
			}
			cred := e.cred
			if tc.cred.Kind != "" {
				cred = tc.cred
			}
			a, err := e.conn.Connect(ctx, e.tenant, cred)
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.SyncHierarchy(ctx, tc.ref, "")
			ae := accessKind(t, err)
			if ae.Kind != tc.want || ae.RetryAfter != tc.after {
				t.Errorf("got %s (retry after %s, code %q), want %s (after %s)", ae.Kind, ae.RetryAfter, ae.Code, tc.want, tc.after)
			}
			for _, s := range cred.SecretValues() {
				if containsStr(err.Error(), s) {
					t.Errorf("error text leaks the password")
				}
			}
		})
	}
	e.sim.ClearFaults()

	// An invalidated sync state asks for a resync.
	a := e.access(t)
	inboxID, _ := e.sim.FolderID(addr, "inbox")
	p, err := a.SyncItems(ctx, imp, inboxID, "", 512)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.InvalidateSyncStates(addr, ""); err != nil {
		t.Fatal(err)
	}
	_, err = a.SyncItems(ctx, imp, inboxID, p.State, 512)
	if ae := accessKind(t, err); ae.Kind != domain.AccessSyncStateInvalid || ae.Code != "ErrorInvalidSyncStateData" {
		t.Errorf("invalidated state: %+v", ae)
	}
}

func containsStr(s, sub string) bool { return sub != "" && strings.Contains(s, sub) }

func TestConnectorRefusesBadConfig(t *testing.T) {
	conn := ewsmailbox.NewConnector(simOptions)
	for _, tc := range []struct {
		name   string
		tenant domain.Tenant
		cred   domain.Credential
	}{
		{"not a URL", domain.Tenant{ID: "a", EWSURL: "::"}, domain.Credential{Kind: domain.AuthBasic, Username: "u", Password: "p"}},
		{"unknown auth kind", domain.Tenant{ID: "a", EWSURL: "https://mail.example.com/EWS/Exchange.asmx"}, domain.Credential{Kind: "kerberos"}},
		{"unknown Exchange version", domain.Tenant{ID: "a", EWSURL: "https://mail.example.com/EWS/Exchange.asmx", ExchangeVersion: "Exchange1999"}, domain.Credential{Kind: domain.AuthBasic, Username: "u", Password: "p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conn.Connect(context.Background(), tc.tenant, tc.cred)
			if ae := accessKind(t, err); ae.Kind != domain.AccessPermanent {
				t.Errorf("kind %s, want permanent", ae.Kind)
			}
		})
	}
}
