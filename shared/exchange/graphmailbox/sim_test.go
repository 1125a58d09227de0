package graphmailbox_test

import (
	"context"
	"errors"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

const (
	entraTenant = "contoso-tenant"
	clientID    = "11111111-2222-3333-4444-555555555555"
	secret      = "graph-secret-value"
	alice       = "alice@contoso.com"
	bob         = "bob@contoso.com"
	carol       = "carol@contoso.com" // outside the app's scope
)

// simEnv is a graphsim with three mailboxes on a TLS loopback host (MSAL
// wants https) and a Connector pointed at it.
type simEnv struct {
	t      *testing.T
	sim    *ewssim.Sim
	graph  *graphsim.Server
	srv    *graphsim.Running
	clock  *fakeClock
	conn   *graphmailbox.Connector
	tenant domain.Tenant
	cred   domain.Credential
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newSimEnv(t *testing.T) *simEnv {
	t.Helper()
	sim := ewssim.New(ewssim.Options{Seed: 1})
	for _, m := range []struct{ addr, name string }{{alice, "Alice Park"}, {bob, "Bob Welker"}, {carol, "Carol Gross"}} {
		if err := sim.AddMailbox(m.addr, m.name); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.AddAccount(ewssim.Account{Tenant: entraTenant, ClientID: clientID, ClientSecret: secret, ImpersonationScope: []string{alice, bob}}); err != nil {
		t.Fatal(err)
	}
	g := graphsim.New(sim, graphsim.Options{Seed: 1})
	srv, err := g.Start(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	e := &simEnv{t: t, sim: sim, graph: g, srv: srv, clock: &fakeClock{now: time.Now().UTC()}}
	e.tenant = domain.Tenant{ID: "t1", Protocol: domain.ProtocolGraph, IDFormat: domain.IDFormatGraph, GraphURL: srv.GraphURL, AuthKind: domain.AuthOAuthSecret, AccessMode: domain.AccessApplication}
	e.cred = domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: entraTenant, ClientID: clientID, ClientSecret: secret, Authority: srv.URL}
	e.conn = graphmailbox.NewConnector(graphmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}, RootCAs: srv.CertPool(), Clock: e.clock, PageSize: 5})
	return e
}

func (e *simEnv) access() domain.MailboxAccess {
	e.t.Helper()
	a, err := e.conn.Connect(context.Background(), e.tenant, e.cred)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *simEnv) add(mailbox, where string, it ewssim.Item) string {
	e.t.Helper()
	ref, err := e.sim.AddItem(mailbox, where, it)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.graphID(ref.ID)
}

func (e *simEnv) graphID(ewsID string) string {
	e.t.Helper()
	id, err := e.sim.ImmutableID(ewsID)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *simEnv) calls(op string) int64 { return e.graph.Stats().Calls[op] }

// mirror plays the sync use case against a MailboxAccess: hierarchy,
// well-known folders, then each folder's pages with GetItems right after
// SyncItems, a resync from scratch after AccessSyncStateInvalid (deleting
// what it did not see), and the store's rule that an unchanged change key
// appends nothing to the feed.
type mirror struct {
	hier     string
	folders  map[string]domain.FolderInfo
	states   map[string]string
	items    map[string]domain.Item
	feed     []domain.ChangeKind
	resyncs  int
	requests int // SyncHierarchy, SyncItems, GetItems and DistinguishedFolders calls
	// distinguished counts the DistinguishedFolders calls: the well-known
	// folders the hierarchy did not name.
	distinguished int
}

func newMirror() *mirror {
	return &mirror{folders: map[string]domain.FolderInfo{}, states: map[string]string{}, items: map[string]domain.Item{}}
}

func (m *mirror) sync(ctx context.Context, a domain.MailboxAccess, mailbox string) error {
	ref := domain.MailboxRef{Address: mailbox, Mode: domain.AccessApplication}
	for reset := false; ; {
		m.requests++
		p, err := a.SyncHierarchy(ctx, ref, m.hier)
		if err != nil {
			var ae *domain.AccessError
			if errors.As(err, &ae) && ae.Kind == domain.AccessSyncStateInvalid && m.hier != "" && !reset {
				m.hier, reset = "", true
				continue
			}
			return err
		}
		for _, f := range slices.Concat(p.Created, p.Updated) {
			if old, ok := m.folders[f.ID]; ok && f.DistinguishedID == "" {
				f.DistinguishedID = old.DistinguishedID
			}
			m.folders[f.ID] = f
		}
		for _, id := range p.Deleted {
			delete(m.folders, id)
		}
		m.hier = p.State
		if p.Done {
			break
		}
	}
	var missing []string
	for _, n := range []string{domain.FolderInbox, domain.FolderSentItems} {
		known := false
		for _, f := range m.folders {
			known = known || f.DistinguishedID == n
		}
		if !known {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		m.requests++
		m.distinguished++
		found, _, err := a.DistinguishedFolders(ctx, ref, missing)
		if err != nil {
			return err
		}
		for _, f := range found {
			m.folders[f.ID] = f
		}
	}
	ids := make([]string, 0, len(m.folders))
	for id := range m.folders {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := m.syncFolder(ctx, a, ref, id); err != nil {
			return err
		}
	}
	return nil
}

func (m *mirror) syncFolder(ctx context.Context, a domain.MailboxAccess, ref domain.MailboxRef, id string) error {
	kind := domain.KindOfFolderClass(m.folders[id].FolderClass)
	var seen map[string]bool
	for {
		m.requests++
		page, err := a.SyncItems(ctx, ref, id, m.states[id], 5)
		if err != nil {
			var ae *domain.AccessError
			if errors.As(err, &ae) && ae.Kind == domain.AccessSyncStateInvalid && m.states[id] != "" && seen == nil {
				m.states[id], seen = "", map[string]bool{}
				m.resyncs++
				continue
			}
			return err
		}
		var fetch []string
		for _, c := range page.Changes {
			if c.Kind != domain.ChangeDelete {
				fetch = append(fetch, c.ItemID)
				if seen != nil {
					seen[c.ItemID] = true
				}
			}
		}
		got := map[string]domain.Item{}
		for chunk := range slices.Chunk(fetch, domain.MaxGetItems) {
			m.requests++
			items, err := a.GetItems(ctx, ref, kind, chunk)
			if err != nil {
				return err
			}
			for _, it := range items {
				got[it.ID] = it
			}
		}
		for _, c := range page.Changes {
			if c.Kind == domain.ChangeDelete {
				if _, ok := m.items[c.ItemID]; ok {
					delete(m.items, c.ItemID)
					m.feed = append(m.feed, domain.ChangeDelete)
				}
				continue
			}
			it, ok := got[c.ItemID]
			if !ok {
				continue
			}
			it.FolderID = id
			old, had := m.items[it.ID]
			m.items[it.ID] = it
			switch {
			case !had:
				m.feed = append(m.feed, domain.ChangeCreate)
			case old.ChangeKey != it.ChangeKey || old.FolderID != it.FolderID:
				m.feed = append(m.feed, domain.ChangeUpdate)
			}
		}
		m.states[id] = page.State
		if page.Done {
			if seen != nil {
				for iid, it := range m.items {
					if it.FolderID == id && !seen[iid] {
						delete(m.items, iid)
						m.feed = append(m.feed, domain.ChangeDelete)
					}
				}
			}
			return nil
		}
	}
}

func (m *mirror) folderNamed(name string) string {
	for id, f := range m.folders {
		if f.DisplayName == name {
			return id
		}
	}
	return ""
}

// seed fills alice's mailbox with a little of everything.
func (e *simEnv) seed() map[string]string {
	now := e.clock.Now()
	ids := map[string]string{}
	ids["m1"] = e.add(alice, "inbox", ewssim.Item{Subject: "Quarterly numbers", Body: "see attached", From: ewssim.Address{Name: "Bob", Email: "Bob@Contoso.com"}, To: []ewssim.Address{{Name: "Alice", Email: alice}}, Received: now.Add(-time.Hour)})
	ids["m2"] = e.add(alice, "inbox", ewssim.Item{Subject: "Lunch?", From: ewssim.Address{Email: bob}, Received: now.Add(-2 * time.Hour), IsRead: true})
	ids["m3"] = e.add(alice, "inbox", ewssim.Item{Subject: "Old thread", From: ewssim.Address{Email: bob}, Received: now.Add(-48 * time.Hour)})
	ids["s1"] = e.add(alice, "sentitems", ewssim.Item{Subject: "Re: Lunch?", From: ewssim.Address{Email: alice}, To: []ewssim.Address{{Email: bob}}, Received: now.Add(-time.Hour)})
	ids["e1"] = e.add(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Standup", Start: now.Add(24 * time.Hour), End: now.Add(25 * time.Hour), TimeZone: "W. Europe Standard Time", Location: "Room 1", Organizer: ewssim.Address{Email: alice}, IsRecurring: true})
	ids["e2"] = e.add(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Dentist", Start: now.Add(72 * time.Hour), End: now.Add(73 * time.Hour), TimeZone: "Pacific Standard Time", Organizer: ewssim.Address{Email: alice}})
	ids["eOld"] = e.add(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Long ago", Start: now.Add(-90 * 24 * time.Hour), End: now.Add(-90*24*time.Hour + time.Hour), Organizer: ewssim.Address{Email: alice}})
	ids["c1"] = e.add(alice, "contacts", ewssim.Item{Kind: ewssim.KindContact, DisplayName: "Dana Scott", GivenName: "Dana", Surname: "Scott", Emails: []string{"dana@example.com"}, Phones: []string{"+1 555 0100", "+1 555 0101"}})
	sub, err := e.sim.AddFolder(alice, "contacts", "Suppliers", "IPF.Contact")
	if err != nil {
		e.t.Fatal(err)
	}
	ids["c2"] = e.add(alice, sub, ewssim.Item{Kind: ewssim.KindContact, DisplayName: "Acme Sales", Emails: []string{"sales@acme.example"}})
	return ids
}

func TestSimFullSyncThenChanges(t *testing.T) {
	e := newSimEnv(t)
	ids := e.seed()
	ctx := context.Background()
	m := newMirror()
	if err := m.sync(ctx, e.access(), alice); err != nil {
		t.Fatal(err)
	}
	inbox := ""
	for id, f := range m.folders {
		if f.DistinguishedID == domain.FolderInbox {
			inbox = id
		}
	}
	if inbox == "" {
		t.Fatalf("inbox not resolved: %+v", m.folders)
	}
	suppliers := m.folderNamed("Suppliers")
	t.Run("folders", func(t *testing.T) {
		if f := m.folders["calendar"]; f.FolderClass != "IPF.Appointment" || f.DistinguishedID != "calendar" {
			t.Errorf("calendar folder = %+v", f)
		}
		if f := m.folders["contacts"]; f.FolderClass != "IPF.Contact" || f.DistinguishedID != "contacts" {
			t.Errorf("contacts folder = %+v", f)
		}
		if f := m.folders[suppliers]; len(suppliers) < 10 || suppliers[:9] != "contacts:" || f.ParentID != "contacts" || f.FolderClass != "IPF.Contact" {
			t.Errorf("contact subfolder %q = %+v", suppliers, f)
		}
		if f := m.folders[inbox]; f.FolderClass != "IPF.Note" {
			t.Errorf("inbox = %+v", f)
		}
	})
	t.Run("items", func(t *testing.T) {
		for _, c := range []struct {
			key, folder string
		}{{"m1", inbox}, {"m2", inbox}, {"m3", inbox}, {"e1", "calendar"}, {"e2", "calendar"}, {"c1", "contacts"}, {"c2", suppliers}} {
			it, ok := m.items[ids[c.key]]
			if !ok || it.FolderID != c.folder {
				t.Errorf("%s: stored %v in folder %q, want %q", c.key, ok, it.FolderID, c.folder)
			}
		}
		if _, ok := m.items[ids["eOld"]]; ok {
			t.Error("an event before the calendar window was synced")
		}
		if it := m.items[ids["e1"]]; !it.IsRecurring || it.WindowsTimeZone != "W. Europe Standard Time" || it.TimeZone != "Europe/Berlin" || it.Location != "Room 1" {
			t.Errorf("e1 = %+v", it)
		}
		if it := m.items[ids["m1"]]; it.From == nil || it.From.Email != "bob@contoso.com" || it.IsRead == nil || *it.IsRead || it.Preview != "see attached" {
			t.Errorf("m1 = %+v", it)
		}
		if it := m.items[ids["c1"]]; !slices.Equal(it.Phones, []string{"+1 555 0100", "+1 555 0101"}) || !slices.Equal(it.Emails, []string{"dana@example.com"}) {
			t.Errorf("c1 = %+v", it)
		}
	})
	t.Run("a second run changes nothing", func(t *testing.T) {
		before := len(m.feed)
		if err := m.sync(ctx, e.access(), alice); err != nil {
			t.Fatal(err)
		}
		if len(m.feed) != before {
			t.Errorf("feed grew by %v", m.feed[before:])
		}
	})
	t.Run("mutations", func(t *testing.T) {
		newMsg := e.add(alice, "inbox", ewssim.Item{Subject: "New", From: ewssim.Address{Email: bob}, Received: e.clock.Now()})
		ews1, _ := e.sim.EWSIDOf(ids["m1"])
		if _, err := e.sim.UpdateItem(ews1, func(it *ewssim.Item) { it.Subject = "Quarterly numbers (v2)" }); err != nil {
			t.Fatal(err)
		}
		ews2, _ := e.sim.EWSIDOf(ids["m2"])
		if err := e.sim.DeleteItem(ews2); err != nil {
			t.Fatal(err)
		}
		archive, err := e.sim.AddFolder(alice, "inbox", "Archive 2026", "")
		if err != nil {
			t.Fatal(err)
		}
		ews3, _ := e.sim.EWSIDOf(ids["m3"])
		if _, err := e.sim.MoveItem(ews3, archive); err != nil {
			t.Fatal(err)
		}
		ewsE2, _ := e.sim.EWSIDOf(ids["e2"])
		if err := e.sim.DeleteItem(ewsE2); err != nil {
			t.Fatal(err)
		}
		if err := m.sync(ctx, e.access(), alice); err != nil {
			t.Fatal(err)
		}
		archiveID := m.folderNamed("Archive 2026")
		if archiveID == "" {
			t.Fatal("the folder created later was not synced")
		}
		if it, ok := m.items[newMsg]; !ok || it.FolderID != inbox {
			t.Errorf("new message: %v %+v", ok, it)
		}
		if it := m.items[ids["m1"]]; it.Subject != "Quarterly numbers (v2)" {
			t.Errorf("updated message: %+v", it)
		}
		if _, ok := m.items[ids["m2"]]; ok {
			t.Error("deleted message still stored")
		}
		// Immutable ids: the moved message keeps its id in its new folder.
		if it, ok := m.items[ids["m3"]]; !ok || it.FolderID != archiveID {
			t.Errorf("moved message: %v in %q, want %q", ok, it.FolderID, archiveID)
		}
		if _, ok := m.items[ids["e2"]]; ok {
			t.Error("deleted event still stored")
		}
	})
}

func TestSimResyncAfter410(t *testing.T) {
	e := newSimEnv(t)
	e.seed()
	ctx := context.Background()
	m := newMirror()
	if err := m.sync(ctx, e.access(), alice); err != nil {
		t.Fatal(err)
	}
	before, feed := len(m.items), len(m.feed)
	if err := e.sim.InvalidateSyncStates(alice, ""); err != nil {
		t.Fatal(err)
	}
	if err := m.sync(ctx, e.access(), alice); err != nil {
		t.Fatal(err)
	}
	if m.resyncs == 0 {
		t.Fatal("no folder was resynced after the delta links went stale")
	}
	if len(m.items) != before || len(m.feed) != feed {
		t.Errorf("resync changed the store: %d items (was %d), feed %v", len(m.items), before, m.feed[feed:])
	}
}

func TestSimCalendarWindow(t *testing.T) {
	e := newSimEnv(t)
	ids := e.seed()
	ctx := context.Background()
	a := e.access()
	m := newMirror()
	if err := m.sync(ctx, a, alice); err != nil {
		t.Fatal(err)
	}
	ref := domain.MailboxRef{Address: alice}
	t.Run("within the slack", func(t *testing.T) {
		e.clock.Add(6 * 24 * time.Hour)
		if _, err := a.SyncItems(ctx, ref, "calendar", m.states["calendar"], 5); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("stale window resyncs", func(t *testing.T) {
		e.clock.Add(2 * 24 * time.Hour) // 8 days in all
		_, err := a.SyncItems(ctx, ref, "calendar", m.states["calendar"], 5)
		var ae *domain.AccessError
		if !errors.As(err, &ae) || ae.Kind != domain.AccessSyncStateInvalid || ae.Code != "CalendarWindowExpired" || ae.Folder != "calendar" {
			t.Fatalf("err = %v", err)
		}
		// The resync starts a fresh window, which still holds the
		// standup (a week ago now) and reports nothing new.
		feed := len(m.feed)
		if err := m.sync(ctx, a, alice); err != nil {
			t.Fatal(err)
		}
		if _, ok := m.items[ids["e1"]]; !ok || m.resyncs != 1 || len(m.feed) != feed {
			t.Errorf("after the resync: e1 kept %v, %d resyncs, new feed entries %v", ok, m.resyncs, m.feed[feed:])
		}
	})
}

func TestSimThrottledIsNotRetried(t *testing.T) {
	e := newSimEnv(t)
	e.seed()
	ctx := context.Background()
	m := newMirror()
	if err := m.sync(ctx, e.access(), alice); err != nil {
		t.Fatal(err)
	}
	inbox := ""
	for id, f := range m.folders {
		if f.DistinguishedID == domain.FolderInbox {
			inbox = id
		}
	}
	e.graph.InjectFault(ewssim.Fault{Op: "messages.delta", Mailbox: alice, Kind: ewssim.FaultHTTP429, RetryAfter: 7 * time.Second, Count: 1})
	calls := e.calls("messages.delta")
	_, err := e.access().SyncItems(ctx, domain.MailboxRef{Address: alice}, inbox, m.states[inbox], 5)
	var ae *domain.AccessError
	if !errors.As(err, &ae) || ae.Kind != domain.AccessThrottled || ae.RetryAfter != 7*time.Second || ae.Code != "TooManyRequests" {
		t.Fatalf("err = %v", err)
	}
	if n := e.calls("messages.delta") - calls; n != 1 {
		t.Errorf("%d messages.delta calls, want 1 (no retry inside the adapter)", n)
	}
}

func TestSimOneRequestPerCall(t *testing.T) {
	e := newSimEnv(t)
	e.seed()
	ctx := context.Background()
	m := newMirror()
	e.graph.ResetStats()
	if err := m.sync(ctx, e.access(), alice); err != nil {
		t.Fatal(err)
	}
	st := e.graph.Stats()
	// GetItems right after SyncItems is served from the page; the calls
	// that reach Graph are the delta pages and the one batch resolving
	// inbox and sentitems, sent beside the first hierarchy call (the
	// simulator counts a batch's sub-requests as their operations).
	// A series master is the exception: it is read by id (its exceptions
	// and cancelled occurrences come only so), one $batch whose
	// sub-request the simulator counts as a request too.
	masters := st.Calls["events.get"]
	if masters != 1 {
		t.Errorf("%d series masters read by id, want 1", masters)
	}
	lookup := st.Calls["batch"] - 1 + st.Calls["mailFolders.get"] // the well-known folders' batch (the other batch reads the master)
	if m.distinguished != 0 || lookup != 3 {
		t.Errorf("well-known folders looked up in %d requests beside the hierarchy, %d DistinguishedFolders calls after it; want 3 and 0", lookup, m.distinguished)
	}
	if st.Requests > int64(m.requests)+2*masters+lookup {
		t.Errorf("%d Graph requests for %d port calls: %v", st.Requests, m.requests, st.Calls)
	}
	for op, n := range st.Calls {
		if op == "messages.get" || op == "contacts.get" {
			t.Errorf("%s called %d times; items should come from the delta pages", op, n)
		}
	}
}

func TestSimCalendarOnlyTenantReadsNoMail(t *testing.T) {
	e := newSimEnv(t)
	ids := e.seed()
	e.tenant.Folders = []string{domain.FolderCalendar}
	e.graph.DenyPermission(clientID, graphsim.PermMailRead)
	e.graph.DenyPermission(clientID, graphsim.PermContactsRead)
	ctx := context.Background()
	a := e.access()
	h, err := a.SyncHierarchy(ctx, domain.MailboxRef{Address: alice}, "")
	if err != nil || !h.Done || len(h.Created) != 2 {
		t.Fatalf("hierarchy = %+v, %v", h, err)
	}
	m := newMirror()
	m.folders["calendar"] = h.Created[0]
	if err := m.syncFolder(ctx, a, domain.MailboxRef{Address: alice}, "calendar"); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.items[ids["e1"]]; !ok {
		t.Error("calendar not synced")
	}
	if n := e.calls("mailFolders.delta") + e.calls("contactFolders.delta"); n != 0 {
		t.Errorf("%d folder hierarchy calls for a calendar-only tenant", n)
	}
}

func TestSimDistinguishedFolders(t *testing.T) {
	e := newSimEnv(t)
	e.graph.DenyPermission(clientID, graphsim.PermContactsRead)
	found, unreadable, err := e.access().DistinguishedFolders(context.Background(), domain.MailboxRef{Address: alice},
		[]string{"inbox", "sentitems", "calendar", "contacts", "nosuchfolder"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range found {
		names = append(names, f.DistinguishedID)
	}
	if !slices.Equal(names, []string{"inbox", "sentitems", "calendar"}) || !slices.Equal(unreadable, []string{"contacts"}) {
		t.Errorf("found %v, unreadable %v", names, unreadable)
	}
}

func TestSimMailboxErrors(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		mailbox string
		cred    func(*domain.Credential)
		want    domain.AccessErrorKind
	}{
		{"out of scope", carol, nil, domain.AccessOutOfScope},
		{"no such mailbox", "nobody@contoso.com", nil, domain.AccessMailboxNotFound},
		{"wrong secret", alice, func(c *domain.Credential) { c.ClientSecret = "wrong-secret-value" }, domain.AccessAuth},
	} {
		t.Run(c.name, func(t *testing.T) {
			cred := e.cred
			if c.cred != nil {
				c.cred(&cred)
			}
			a, err := e.conn.Connect(ctx, e.tenant, cred)
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.SyncHierarchy(ctx, domain.MailboxRef{Address: c.mailbox}, "")
			var ae *domain.AccessError
			if !errors.As(err, &ae) || ae.Kind != c.want {
				t.Fatalf("err = %v, want %s", err, c.want)
			}
			for _, s := range cred.SecretValues() {
				if containsFold(err.Error(), s) {
					t.Errorf("error carries a secret: %v", err)
				}
			}
		})
	}
}

// TestTenantCalendarWindow: a tenant's calendar window decides which
// events its sync sees: the 90-day-old event is outside the default 30
// days back and inside a tenant's 100; the event in three days is inside
// the default year ahead and outside a tenant's two days.
func TestTenantCalendarWindow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		window   domain.CalendarWindow
		wantOld  bool
		wantNext bool
	}{
		{name: "default", wantNext: true},
		{name: "100 days back", window: domain.CalendarWindow{PastDays: 100}, wantOld: true, wantNext: true},
		{name: "two days ahead", window: domain.CalendarWindow{FutureDays: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t)
			ids := e.seed()
			e.tenant.CalendarWindow = tc.window
			m := newMirror()
			if err := m.sync(context.Background(), e.access(), alice); err != nil {
				t.Fatal(err)
			}
			_, old := m.items[ids["eOld"]]
			_, next := m.items[ids["e2"]]
			if old != tc.wantOld || next != tc.wantNext {
				t.Fatalf("90 days ago synced %v (want %v), in three days synced %v (want %v)", old, tc.wantOld, next, tc.wantNext)
			}
		})
	}
}

// TestSimHierarchyThrottledHalfIsKept: the mail-folder and contact-folder
// deltas are read side by side; when the contact folders' request is
// throttled, the mail folders read beside it come back with the error
// (and the state to go on from), so the retry reads no mail-folder page
// again and ends with the same folders as a calm run.
func TestSimHierarchyThrottledHalfIsKept(t *testing.T) {
	e := newSimEnv(t)
	e.seed()
	ctx := context.Background()
	ref := domain.MailboxRef{Address: alice}
	// walk reads the hierarchy to its end, going on from the state a
	// throttled call returns, as the sync use case's retry does.
	walk := func() (folders []string, throttled int) {
		a, state := e.access(), ""
		for range 50 {
			page, err := a.SyncHierarchy(ctx, ref, state)
			if err != nil {
				var ae *domain.AccessError
				if !errors.As(err, &ae) || ae.Kind != domain.AccessThrottled || ae.RetryAfter != 7*time.Second {
					t.Fatalf("err = %v", err)
				}
				throttled++
				if page.State == "" {
					t.Fatal("the mail folders' page did not come back beside the throttled request")
				}
			}
			for _, f := range page.Created {
				folders = append(folders, f.ID)
			}
			state = page.State
			if page.Done {
				slices.Sort(folders)
				return folders, throttled
			}
		}
		t.Fatal("the hierarchy never ended")
		return nil, 0
	}
	e.graph.ResetStats()
	calm, _ := walk()
	calmMail, calmContacts := e.calls("mailFolders.delta"), e.calls("contactFolders.delta")

	e.graph.ResetStats()
	e.graph.InjectFault(ewssim.Fault{Op: "contactFolders.delta", Mailbox: alice, Kind: ewssim.FaultHTTP429, RetryAfter: 7 * time.Second, Count: 1})
	got, throttled := walk()
	if throttled != 1 {
		t.Fatalf("%d throttled calls, want 1", throttled)
	}
	if !slices.Equal(got, calm) {
		t.Errorf("folders %v, calm run %v", got, calm)
	}
	if n := e.calls("mailFolders.delta"); n != calmMail {
		t.Errorf("%d mailFolders.delta requests, calm run %d: a mail page was read again", n, calmMail)
	}
	if n := e.calls("contactFolders.delta"); n != calmContacts+1 {
		t.Errorf("%d contactFolders.delta requests, want the calm run's %d and the throttled one", n, calmContacts)
	}
}

// TestSimHierarchyNamesWellKnownFolders: a hierarchy read from scratch
// looks up the selection's well-known mail folders beside its delta
// requests (one $batch, within the mailbox's 4 requests at once), so the
// sync use case does not ask after it; a later round does not look them
// up again. When the lookup is refused, the hierarchy page comes back
// with that error (the sync use case keeps the page and ends the job);
// when it is throttled, the page comes back whole and the mailbox's next
// call (DistinguishedFolders) answers the throttling without a request
// until Retry-After has passed. Either way the page names neither
// folder, the hierarchy goes on without a lookup, and
// DistinguishedFolders then names them as before.
func TestSimHierarchyNamesWellKnownFolders(t *testing.T) {
	ctx := context.Background()
	ref := domain.MailboxRef{Address: alice, Mode: domain.AccessApplication}
	named := func(p domain.HierarchyPage) map[string]string {
		out := map[string]string{}
		for _, f := range slices.Concat(p.Created, p.Updated) {
			if f.DistinguishedID != "" {
				out[f.DistinguishedID] = f.ID
			}
		}
		return out
	}
	t.Run("from scratch, then a later round", func(t *testing.T) {
		e := newSimEnv(t)
		e.seed()
		a := e.access()
		p, err := a.SyncHierarchy(ctx, ref, "")
		if err != nil {
			t.Fatal(err)
		}
		got := named(p)
		for _, n := range []string{domain.FolderInbox, domain.FolderSentItems, domain.FolderCalendar, domain.FolderContacts} {
			if got[n] == "" {
				t.Errorf("the first hierarchy page does not name %s: %v", n, got)
			}
		}
		found, _, err := a.DistinguishedFolders(ctx, ref, []string{domain.FolderInbox, domain.FolderSentItems})
		if err != nil || len(found) != 2 || found[0].ID != got[domain.FolderInbox] || found[1].ID != got[domain.FolderSentItems] {
			t.Errorf("DistinguishedFolders names %+v (%v), the hierarchy %v", found, err, got)
		}
		state := p.State
		for !p.Done {
			if p, err = a.SyncHierarchy(ctx, ref, state); err != nil {
				t.Fatal(err)
			}
			state = p.State
		}
		if refused, peak := e.graph.Stats().ThrottledConcurrency, e.graph.Stats().PeakInFlight[alice]; refused != 0 || peak > 4 {
			t.Errorf("%d requests over the cap, peak in flight %d", refused, peak)
		}
		e.graph.ResetStats()
		if _, err := a.SyncHierarchy(ctx, ref, state); err != nil {
			t.Fatal(err)
		}
		if n := e.calls("batch"); n != 0 {
			t.Errorf("a later round looked the folders up again (%d batches)", n)
		}
	})
	for _, c := range []struct {
		name  string
		fault ewssim.Fault
		want  domain.AccessErrorKind
	}{
		{"each folder throttled", ewssim.Fault{Op: "mailFolders.get", Mailbox: alice, Kind: ewssim.FaultHTTP429, RetryAfter: 3 * time.Second, Count: 2}, domain.AccessThrottled},
		{"the batch refused", ewssim.Fault{Op: "batch", Mailbox: alice, Kind: ewssim.FaultRaw, Status: 403, ContentType: "application/json",
			Body: `{"error":{"code":"ErrorAccessDenied","message":"Access is denied."}}`, Count: 1}, domain.AccessOutOfScope},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newSimEnv(t)
			e.seed()
			e.graph.InjectFault(c.fault)
			a := e.access()
			p, err := a.SyncHierarchy(ctx, ref, "")
			var ae *domain.AccessError
			if c.want == domain.AccessThrottled {
				if err != nil {
					t.Fatalf("the hierarchy page = %+v, %v; want it whole", p, err)
				}
				calls := e.graph.Stats().Requests
				if _, _, err := a.DistinguishedFolders(ctx, ref, []string{domain.FolderInbox}); !errors.As(err, &ae) || ae.Kind != c.want || ae.RetryAfter != 3*time.Second {
					t.Fatalf("DistinguishedFolders within Retry-After: %v", err)
				}
				if n := e.graph.Stats().Requests - calls; n != 0 {
					t.Errorf("%d requests within Retry-After", n)
				}
				e.clock.Add(3 * time.Second)
			} else if !errors.As(err, &ae) || ae.Kind != c.want {
				t.Fatalf("the hierarchy page = %+v, %v; want the page with a %v error", p, err, c.want)
			}
			if p.State == "" || len(p.Created) == 0 {
				t.Fatalf("the hierarchy page = %+v", p)
			}
			if got := named(p); got[domain.FolderInbox] != "" || got[domain.FolderSentItems] != "" {
				t.Errorf("names %v from a failed lookup", got)
			}
			e.graph.ResetStats()
			for state := p.State; !p.Done; state = p.State {
				if p, err = a.SyncHierarchy(ctx, ref, state); err != nil {
					t.Fatal(err)
				}
			}
			if n := e.calls("batch"); n != 0 {
				t.Errorf("the retry looked the folders up again (%d batches)", n)
			}
			if found, _, err := a.DistinguishedFolders(ctx, ref, []string{domain.FolderInbox, domain.FolderSentItems}); err != nil || len(found) != 2 {
				t.Errorf("DistinguishedFolders after it: %+v, %v", found, err)
			}
		})
	}
}
