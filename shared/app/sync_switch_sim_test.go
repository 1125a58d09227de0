package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// switchEnv is one Exchange Online mailbox store served over EWS and
// Graph (ewssim + graphsim), the real Syncer with both protocols' adapters
// (app.Protocols) and a bolt store: a tenant can switch protocol between
// syncs as PATCH /tenants/{id} {"protocol":"graph"} does.
type switchEnv struct {
	t      *testing.T
	sim    *ewssim.Sim
	graph  *graphsim.Server
	store  *boltstore.Store
	syncer *app.Syncer
	clock  *storetest.Clock
}

const (
	swMailbox = "ann@contoso.com"
	swTenant  = "contoso"
)

func newSwitchEnv(t *testing.T, onboarded domain.Protocol) *switchEnv {
	t.Helper()
	sim := ewssim.New(ewssim.Options{Seed: 3, MaxConcurrency: -1})
	if err := sim.AddMailbox(swMailbox, "Ann"); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddAccount(ewssim.Account{Tenant: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "s3cret-value", ImpersonateAll: true}); err != nil {
		t.Fatal(err)
	}
	g := graphsim.New(sim, graphsim.Options{Seed: 3})
	srv, err := g.Start(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	clock := storetest.NewClock(t0)
	dbPath := filepath.Join(t.TempDir(), "store.db")
	secretscan.WatchFile(t, dbPath) // read when the test ends, for the secret scan
	bs, err := boltstore.Open(dbPath, boltstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	guard := &urlguard.Policy{DevLoopback: true}
	secrets := &mailboxtest.Secrets{}
	e := &switchEnv{t: t, sim: sim, graph: g, store: bs, clock: clock}
	e.syncer = &app.Syncer{Store: bs, Secrets: secrets, Clock: clock, Log: secretscan.Logger(),
		Connector: app.Protocols{
			EWS:   app.ProtocolAdapters{Connector: ewsmailbox.NewConnector(ewsmailbox.Options{URLGuard: guard, RootCAs: srv.CertPool()})},
			Graph: app.ProtocolAdapters{Connector: graphmailbox.NewConnector(graphmailbox.Options{URLGuard: guard, RootCAs: srv.CertPool(), PageSize: 4})},
			Clock: clock,
		},
	}
	ctx := context.Background()
	tn := domain.Tenant{ID: swTenant, DisplayName: "Contoso", EWSURL: srv.EWSURL, GraphURL: srv.GraphURL, ExchangeVersion: "Exchange2016",
		Protocol: onboarded, IDFormat: domain.IDFormat(onboarded), AuthKind: domain.AuthOAuthSecret, AccessMode: domain.AccessImpersonation,
		Status: domain.TenantActive, CreatedAt: t0, UpdatedAt: t0}
	if onboarded == domain.ProtocolGraph {
		tn.AccessMode = domain.AccessApplication
	}
	if err := bs.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	cred := domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "s3cret-value", Authority: srv.URL}
	if err := secrets.PutCredential(ctx, swTenant, cred); err != nil {
		t.Fatal(err)
	}
	if err := bs.AddMailbox(ctx, domain.Mailbox{TenantID: swTenant, Address: swMailbox, Status: domain.MailboxPending, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	return e
}

// switchToGraph is what PATCH {"protocol":"graph"} stores: the protocol
// and its access mode change, the id format does not.
func (e *switchEnv) switchToGraph() {
	e.t.Helper()
	ctx := context.Background()
	tn, err := e.store.GetTenant(ctx, swTenant)
	if err != nil {
		e.t.Fatal(err)
	}
	tn.Protocol, tn.AccessMode, tn.AllowFallback = domain.ProtocolGraph, domain.AccessApplication, false
	if err := e.store.UpdateTenant(ctx, tn); err != nil {
		e.t.Fatal(err)
	}
}

func (e *switchEnv) sync() app.SyncResult {
	e.t.Helper()
	e.clock.Advance(5 * time.Minute)
	res, err := e.syncer.SyncMailbox(context.Background(), domain.SyncJob{TenantID: swTenant, Mailbox: swMailbox, Tick: e.clock.Now().Truncate(time.Minute)})
	if err != nil {
		e.t.Fatalf("sync: %v (%+v)", err, res)
	}
	return res
}

func (e *switchEnv) feed() []domain.Change {
	e.t.Helper()
	cs, _, err := e.store.ReadFeed(context.Background(), domain.FeedQuery{TenantID: swTenant, Mailbox: swMailbox, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

// consumer replays the feed the way a consumer keyed on item ids does:
// the live items by id.
func consumer(feed []domain.Change) map[string]domain.Item {
	live := map[string]domain.Item{}
	for _, c := range feed {
		if c.Kind == domain.ChangeDelete {
			delete(live, c.ItemID)
			continue
		}
		live[c.ItemID] = *c.Item
	}
	return live
}

func (e *switchEnv) add(where string, it ewssim.Item) ewssim.ItemRef {
	e.t.Helper()
	ref, err := e.sim.AddItem(swMailbox, where, it)
	if err != nil {
		e.t.Fatal(err)
	}
	return ref
}

// seed fills inbox (and a subfolder), calendar and contacts.
func (e *switchEnv) seed() (msgs []ewssim.ItemRef, sub string) {
	e.t.Helper()
	for i := range 6 {
		msgs = append(msgs, e.add("inbox", ewssim.Item{Kind: ewssim.KindMessage, Subject: "hello " + string(rune('a'+i)),
			From: ewssim.Address{Email: "bob@fabrikam.com"}, Received: t0.Add(-time.Duration(i) * time.Hour)}))
	}
	sub, err := e.sim.AddFolder(swMailbox, "inbox", "Projects", "IPF.Note")
	if err != nil {
		e.t.Fatal(err)
	}
	e.add(sub, ewssim.Item{Kind: ewssim.KindMessage, Subject: "in a subfolder", Received: t0.Add(-time.Hour)})
	start := time.Now().UTC().Truncate(time.Hour).Add(24 * time.Hour)
	e.add("calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "standup", Start: start, End: start.Add(30 * time.Minute)})
	e.add("contacts", ewssim.Item{Kind: ewssim.KindContact, DisplayName: "Carol Gross", GivenName: "Carol", Surname: "Gross", Emails: []string{"carol@fabrikam.com"}})
	return msgs, sub
}

// TestSwitchEWSToGraphKeepsTheFeed: a tenant synced over EWS switches to
// Graph; the next Graph sync sends nothing again and deletes nothing, and
// later changes carry the EWS ids the consumer holds.
func TestSwitchEWSToGraphKeepsTheFeed(t *testing.T) {
	e := newSwitchEnv(t, domain.ProtocolEWS)
	msgs, sub := e.seed()
	e.sync()
	// Mutations synced over EWS: an update, a delete, a move.
	if _, err := e.sim.UpdateItem(msgs[0].ID, func(it *ewssim.Item) { it.Subject = "hello again" }); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.DeleteItem(msgs[1].ID); err != nil {
		t.Fatal(err)
	}
	moved, err := e.sim.MoveItem(msgs[2].ID, sub)
	if err != nil {
		t.Fatal(err)
	}
	e.sync()
	before := e.feed()
	seen := consumer(before)
	if len(seen) != 8 { // 6 messages -1 deleted +1 in the subfolder, an event, a contact
		t.Fatalf("consumer holds %d items before the switch, want 8", len(seen))
	}
	if _, ok := seen[moved.ID]; !ok {
		t.Fatalf("the moved message is not held under its new EWS id")
	}

	e.switchToGraph()
	callsBefore := e.graph.Stats().Calls
	res := e.sync()
	if got := e.feed(); len(got) != len(before) {
		t.Fatalf("the first Graph sync appended %d entries (%+v), want none", len(got)-len(before), got[len(before):])
	}
	if res.Resyncs == 0 {
		t.Fatalf("the EWS checkpoint was taken as Graph's: %+v", res)
	}
	st, err := e.store.GetSyncState(context.Background(), swTenant, swMailbox)
	if err != nil {
		t.Fatal(err)
	}
	for id := range seen {
		if seen[id].FolderID == "" {
			t.Fatalf("item %s has no folder", id)
		}
		if _, ok := st.Folders[seen[id].FolderID]; !ok {
			t.Fatalf("folder %s of item %s is no longer in the checkpoint: %v", seen[id].FolderID, id, st.Folders)
		}
	}
	calls := e.graph.Stats().Calls
	pages := calls["messages.delta"] + calls["events.delta"] + calls["contacts.delta"] - callsBefore["messages.delta"] - callsBefore["events.delta"] - callsBefore["contacts.delta"]
	translations := calls["translateExchangeIds"] - callsBefore["translateExchangeIds"]
	t.Logf("first Graph sync: %d delta pages, %d translateExchangeIds calls (%+v)", pages, translations, res)

	// Changes after the switch.
	fresh := e.add("inbox", ewssim.Item{Kind: ewssim.KindMessage, Subject: "after the switch", Received: t0})
	if _, err := e.sim.UpdateItem(msgs[3].ID, func(it *ewssim.Item) { it.Subject = "edited over graph" }); err != nil {
		t.Fatal(err)
	}
	callsBefore = e.graph.Stats().Calls
	e.sync()
	calls = e.graph.Stats().Calls
	pages = calls["messages.delta"] + calls["events.delta"] + calls["contacts.delta"] - callsBefore["messages.delta"] - callsBefore["events.delta"] - callsBefore["contacts.delta"]
	translations = calls["translateExchangeIds"] - callsBefore["translateExchangeIds"]
	if translations > pages {
		t.Fatalf("%d translateExchangeIds calls for %d delta pages: more than one a page", translations, pages)
	}
	t.Logf("incremental Graph sync: %d delta pages, %d translateExchangeIds calls", pages, translations)
	after := e.feed()[len(before):]
	want := map[string]domain.ChangeKind{fresh.ID: domain.ChangeCreate, msgs[3].ID: domain.ChangeUpdate}
	cases := []struct {
		name string
		id   string
		kind domain.ChangeKind
	}{
		{"a message created after the switch arrives under its EWS id", fresh.ID, domain.ChangeCreate},
		{"an update carries the id the consumer stored", msgs[3].ID, domain.ChangeUpdate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range after {
				if c.ItemID == tc.id {
					if c.Kind != tc.kind {
						t.Fatalf("%s of %s, want %s", c.Kind, tc.id, tc.kind)
					}
					if tc.kind == domain.ChangeUpdate && c.Item.Subject != "edited over graph" {
						t.Fatalf("update carries %q", c.Item.Subject)
					}
					return
				}
			}
			t.Fatalf("no change for %s in %+v", tc.id, after)
		})
	}
	for _, c := range after {
		if _, ok := want[c.ItemID]; !ok {
			t.Errorf("unexpected change %s %s", c.Kind, c.ItemID)
		}
	}

	// Deletes and moves after the switch: Graph reports the removal under
	// the immutable id, which no longer translates to the EWS id the
	// consumer holds (gone, or moved to a new EWS id); the store's index
	// from immutable ids to stored ids resolves it.
	t.Run("a delete and a move name the EWS ids the consumer holds", func(t *testing.T) {
		inbox := seen[msgs[0].ID].FolderID
		n := len(e.feed())
		if err := e.sim.DeleteItem(msgs[4].ID); err != nil {
			t.Fatal(err)
		}
		// One move each way, so one of them is read in its new folder
		// first and the other in its old one, whatever the folder order.
		out, err := e.sim.MoveItem(msgs[5].ID, sub)
		if err != nil {
			t.Fatal(err)
		}
		back, err := e.sim.MoveItem(moved.ID, "inbox")
		if err != nil {
			t.Fatal(err)
		}
		e.sync()
		feed := e.feed()
		for _, c := range feed[n:] {
			t.Logf("after the delete and the moves: %s %s", c.Kind, c.ItemID)
		}
		deleted := false
		for _, c := range feed[n:] {
			deleted = deleted || (c.Kind == domain.ChangeDelete && c.ItemID == msgs[4].ID)
		}
		if !deleted {
			t.Fatalf("no delete of the hard-deleted message's EWS id %s", msgs[4].ID)
		}
		held := consumer(feed)
		for id, want := range map[string]string{out.ID: sub, back.ID: inbox} {
			if it, ok := held[id]; !ok || it.FolderID != want {
				t.Errorf("the moved message %s is held as %+v (present %v), want it in folder %s", id, it, ok, want)
			}
		}
		for _, id := range []string{msgs[4].ID, msgs[5].ID, moved.ID} {
			if _, ok := held[id]; ok {
				t.Errorf("the consumer still holds %s, which Exchange no longer has", id)
			}
		}
		if len(held) != 8 { // 9 after the create above, one deleted
			t.Errorf("the consumer holds %d items, want 8", len(held))
		}
		// Nothing left to do: the next sync appends nothing.
		n = len(feed)
		e.sync()
		if got := e.feed(); len(got) != n {
			t.Fatalf("a quiet sync appended %+v", got[n:])
		}
	})
}

// TestGraphOnboardedTenantHasImmutableIDs: a tenant onboarded on Graph
// reports Graph immutable ids, and a move keeps the id: the consumer ends
// up holding the item under the same id in its new folder (the feed shows
// an update, or a delete and a re-create of that id, by the order the two
// folders are read).
func TestGraphOnboardedTenantHasImmutableIDs(t *testing.T) {
	e := newSwitchEnv(t, domain.ProtocolGraph)
	msgs, sub := e.seed()
	e.sync()
	held := consumer(e.feed())
	imm, err := e.sim.ImmutableID(msgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	it, ok := held[imm]
	if !ok {
		t.Fatalf("the message is not held under its immutable id %s: %v", imm, held)
	}
	if _, ok := held[msgs[0].ID]; ok {
		t.Fatalf("the message is held under its EWS id")
	}
	n := len(e.feed())
	if _, err := e.sim.MoveItem(msgs[0].ID, sub); err != nil {
		t.Fatal(err)
	}
	e.sync()
	feed := e.feed()
	for _, c := range feed[n:] {
		if c.ItemID != imm {
			t.Fatalf("the move named another id: %+v", c)
		}
	}
	now := consumer(feed)
	if got, ok := now[imm]; !ok || got.FolderID == it.FolderID || len(now) != len(held) {
		t.Fatalf("after the move the consumer holds %v (item %+v), want %s in another folder", now, got, imm)
	}
}
