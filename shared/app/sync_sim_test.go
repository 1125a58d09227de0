package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// simEnv is the real stack below the use case: the EWS client over HTTP
// to the simulator, the ewsmailbox adapters and the bolt store.
type simEnv struct {
	t      *testing.T
	sim    *ewssim.Sim
	ds     ewssim.Dataset
	store  *boltstore.Store
	syncer *app.Syncer
	clock  *storetest.Clock
}

func newSimEnv(t *testing.T, mailboxes, items int, mode domain.AccessMode, opts ewssim.Options) *simEnv {
	t.Helper()
	clock := storetest.NewClock(t0)
	opts.Seed = 7
	if opts.MaxConcurrency == 0 {
		opts.MaxConcurrency = -1
	}
	sim := ewssim.New(opts)
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: mailboxes, ItemsPerMailbox: items, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	ewsURL := standin.EWS(t, sim)
	dbPath := filepath.Join(t.TempDir(), "store.db")
	secretscan.WatchFile(t, dbPath) // read when the test ends, for the secret scan
	bs, err := boltstore.Open(dbPath, boltstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	secrets := &mailboxtest.Secrets{}
	e := &simEnv{t: t, sim: sim, ds: ds, store: bs, clock: clock}
	e.syncer = &app.Syncer{
		Store: bs, Secrets: secrets, Connector: ewsmailbox.NewConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}}), Clock: clock,
		Log: secretscan.Logger(),
	}
	ctx := context.Background()
	tn := domain.Tenant{ID: "acme", DisplayName: "Acme", EWSURL: ewsURL, ExchangeVersion: "Exchange2016", AuthKind: domain.AuthBasic,
		AccessMode: mode, Status: domain.TenantActive, CreatedAt: t0, UpdatedAt: t0}
	if err := bs.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	secretscan.Register(domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password}) // generated: Harvest cannot see it
	if err := secrets.PutCredential(ctx, "acme", domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password}); err != nil {
		t.Fatal(err)
	}
	for _, m := range ds.Mailboxes {
		// As app.Tenants adds a mailbox: in its initial sync.
		if err := bs.StartInitialSync(ctx, "acme", m); err != nil {
			t.Fatal(err)
		}
		if err := bs.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: m, Status: domain.MailboxPending, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *simEnv) sync(m string) (app.SyncResult, error) {
	return e.syncer.SyncMailbox(context.Background(), domain.SyncJob{TenantID: "acme", Mailbox: m, Tick: e.clock.Now().Truncate(time.Minute)})
}

func (e *simEnv) mustSync(m string) app.SyncResult {
	e.t.Helper()
	res, err := e.sync(m)
	if err != nil {
		e.t.Fatalf("sync %s: %v", m, err)
	}
	return res
}

func (e *simEnv) feed(m string) []domain.Change {
	e.t.Helper()
	var all []domain.Change
	cursor := ""
	for {
		cs, next, err := e.store.ReadFeed(context.Background(), domain.FeedQuery{TenantID: "acme", Mailbox: m, Cursor: cursor, Limit: 1000})
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, cs...)
		if len(cs) == 0 || next == cursor {
			return all
		}
		cursor = next
	}
}

// simItems lists the ids of a mailbox's items in the given folders.
func (e *simEnv) simItems(m string, folders ...string) []string {
	e.t.Helper()
	var ids []string
	for _, f := range folders {
		refs, err := e.sim.ListItems(m, f)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range refs {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// readOps are the EWS operations the sync path may call (least privilege:
// the sync path never calls a write operation).
var readOps = []string{"SyncFolderHierarchy", "SyncFolderItems", "GetItem", "GetFolder"}

func assertReadOnly(t *testing.T, st ewssim.Stats) {
	t.Helper()
	for op, n := range st.Calls {
		if n > 0 && !slices.Contains(readOps, op) {
			t.Errorf("the sync called %s %d times; only %v are allowed", op, n, readOps)
		}
	}
}

func TestSimFullSyncThenDelta(t *testing.T) {
	e := newSimEnv(t, 1, 3000, domain.AccessImpersonation, ewssim.Options{})
	m := e.ds.Mailboxes[0]
	res := e.mustSync(m)
	want := e.simItems(m, "inbox", "sentitems", "calendar", "contacts")
	feed := e.feed(m)
	if got := idsOf(feed, domain.ChangeCreate); !slices.Equal(got, want) || len(want) != 3000 {
		t.Fatalf("full sync: feed has %d creates, simulator %d items (want 3000)", len(got), len(want))
	}
	assertNoDuplicates(t, feed)
	t.Logf("full sync of %d items: %d EWS calls, %d pages, %d checkpoints", len(want), res.EWSCalls, res.Pages, res.Checkpoints)

	// Normalized content: every kind carries its fields.
	kinds := map[domain.ItemKind]*domain.Item{}
	for _, c := range feed {
		if kinds[c.Item.Kind] == nil {
			kinds[c.Item.Kind] = c.Item
		}
	}
	if it := kinds[domain.KindMessage]; it == nil || it.Subject == "" || it.From == nil || len(it.To) == 0 || it.Received.IsZero() {
		t.Errorf("message not normalized: %+v", it)
	}
	if it := kinds[domain.KindCalendar]; it == nil || it.Start.IsZero() || it.End.IsZero() || it.Organizer == nil {
		t.Errorf("calendar item not normalized: %+v", it)
	}
	if it := kinds[domain.KindContact]; it == nil || it.DisplayName == "" || len(it.Emails) == 0 {
		t.Errorf("contact not normalized: %+v", it)
	}

	// Mutations: only they reach the feed.
	inbox := e.simItems(m, "inbox")
	if _, err := e.sim.UpdateItem(inbox[0], func(it *ewssim.Item) { it.Subject = "changed" }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.SetRead(inbox[1], true); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.DeleteItem(inbox[2]); err != nil {
		t.Fatal(err)
	}
	added, err := e.sim.AddItem(m, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "new meeting", Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetStats()
	res = e.mustSync(m)
	delta := e.feed(m)[len(feed):]
	var got []string
	for _, c := range delta {
		got = append(got, string(c.Kind)+" "+c.ItemID)
	}
	wantDelta := []string{"create " + added.ID, "delete " + inbox[2], "update " + inbox[0], "update " + inbox[1]}
	slices.Sort(got)
	slices.Sort(wantDelta)
	if !slices.Equal(got, wantDelta) {
		t.Fatalf("delta feed %v, want %v", got, wantDelta)
	}
	for _, c := range delta {
		if c.ItemID == inbox[0] && c.Item.Subject != "changed" {
			t.Errorf("updated item carries subject %q", c.Item.Subject)
		}
	}
	if calls := e.sim.Stats().TotalCalls(); calls != int64(res.EWSCalls) {
		t.Errorf("result reports %d EWS calls, simulator saw %d", res.EWSCalls, calls)
	}
	assertReadOnly(t, e.sim.Stats())
}

func TestSimNewFolderAndUnreadableFolder(t *testing.T) {
	e := newSimEnv(t, 1, 200, domain.AccessFolderDelegate, ewssim.Options{})
	m := e.ds.Mailboxes[0]
	user := e.ds.Account.Username
	if err := e.sim.RevokeDelegate(user, m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"msgfolderroot", "inbox", "sentitems", "contacts"} { // calendar not shared
		if err := e.sim.GrantDelegate(user, m, f); err != nil {
			t.Fatal(err)
		}
	}
	e.mustSync(m)
	mb, _ := e.store.GetMailbox(context.Background(), "acme", m)
	if !slices.Equal(mb.UnreadableFolders, []string{"calendar"}) || mb.Status != domain.MailboxOK {
		t.Fatalf("mailbox: status %q unreadable %v, want ok with calendar unreadable", mb.Status, mb.UnreadableFolders)
	}
	if got, want := idsOf(e.feed(m), domain.ChangeCreate), e.simItems(m, "inbox", "sentitems", "contacts"); !slices.Equal(got, want) {
		t.Fatalf("feed has %d items, want the %d readable ones", len(got), len(want))
	}

	// A folder created under the inbox after onboarding, shared with the
	// account, and the calendar shared at last: both are synced next run.
	fid, err := e.sim.AddFolder(m, "inbox", "Clients", "IPF.Note")
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	for i := range 7 {
		r, err := e.sim.AddItem(m, fid, ewssim.Item{Kind: ewssim.KindMessage, Subject: "client " + string(rune('A'+i))})
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, r.ID)
	}
	for _, f := range []string{fid, "calendar"} {
		if err := e.sim.GrantDelegate(user, m, f); err != nil {
			t.Fatal(err)
		}
	}
	before := len(e.feed(m))
	e.mustSync(m)
	got := idsOf(e.feed(m)[before:], domain.ChangeCreate)
	want := sorted(append(added, e.simItems(m, "calendar")...))
	if !slices.Equal(got, want) {
		t.Fatalf("after sharing: %d new feed entries, want %d (new folder + calendar backfill)", len(got), len(want))
	}
	mb, _ = e.store.GetMailbox(context.Background(), "acme", m)
	if len(mb.UnreadableFolders) != 0 {
		t.Errorf("unreadable folders still %v", mb.UnreadableFolders)
	}
	assertReadOnly(t, e.sim.Stats())
}

func TestSimInvalidSyncState(t *testing.T) {
	e := newSimEnv(t, 1, 800, domain.AccessImpersonation, ewssim.Options{})
	m := e.ds.Mailboxes[0]
	e.mustSync(m)
	n := len(e.feed(m))
	inbox := e.simItems(m, "inbox")
	if _, err := e.sim.UpdateItem(inbox[3], func(it *ewssim.Item) { it.Subject = "after invalidation" }); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.InvalidateSyncStates(m, ""); err != nil {
		t.Fatal(err)
	}
	res := e.mustSync(m)
	delta := e.feed(m)[n:]
	if len(delta) != 1 || delta[0].ItemID != inbox[3] || res.Resyncs == 0 {
		t.Fatalf("after ErrorInvalidSyncStateData: %d new feed entries (resyncs %d), want only the one update", len(delta), res.Resyncs)
	}
}

func TestSimThrottleStorm(t *testing.T) {
	t.Parallel() // slow (many jobs, each with store writes); independent of the others
	run := func(storm bool) (calls, faults int64) {
		e := newSimEnv(t, 80, 60, domain.AccessImpersonation, ewssim.Options{})
		if storm {
			e.sim.InjectFault(ewssim.Fault{Rate: 0.30, Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: 1500 * time.Millisecond})
		}
		queue := slices.Clone(e.ds.Mailboxes)
		for len(queue) > 0 {
			m := queue[0]
			queue = queue[1:]
			_, err := e.sync(m)
			var rl *app.RetryLater
			switch {
			case errors.As(err, &rl):
				if rl.After < 1500*time.Millisecond {
					t.Fatalf("requeue after %s, server asked 1.5s", rl.After)
				}
				queue = append(queue, m)
			case err != nil:
				t.Fatalf("sync %s: %v", m, err)
			}
		}
		for _, m := range e.ds.Mailboxes {
			got := e.feed(m)
			assertNoDuplicates(t, got)
			if want := len(e.simItems(m, "inbox", "sentitems", "calendar", "contacts")); len(got) != want {
				t.Fatalf("%s: feed %d, mailbox %d items", m, len(got), want)
			}
		}
		st := e.sim.Stats()
		assertReadOnly(t, st)
		return st.TotalCalls(), st.FaultsInjected
	}
	calm, _ := run(false)
	storm, busy := run(true)
	ratio := float64(storm) / float64(calm)
	repeated := storm - busy - calm
	t.Logf("simulator throttle storm (30%% ErrorServerBusy, 80 mailboxes): %d EWS calls (%d answered ErrorServerBusy) vs %d calm = %.3fx (bound 1.5x); successful calls repeated: %d",
		storm, busy, calm, ratio, repeated)
	if ratio > 1.5 {
		t.Errorf("storm took %.3fx the calm calls, bound 1.5x", ratio)
	}
	if repeated > calm/50 {
		t.Errorf("%d successful calls were repeated after requeues", repeated)
	}
}

// crashingAccess fails the Nth call of one MailboxAccess method (op is
// the method's name) after it answered, and kills the store, like a
// process dying right after that call (EWS and Graph alike).
type crashingAccess struct {
	domain.MailboxAccess
	op    string
	n     *int
	store *countingStore
}

// ReadsAtOnce passes on the wrapped access's (Graph reads folders side
// by side), so the crash points are those of the real sync.
func (a crashingAccess) ReadsAtOnce() int {
	if p, ok := a.MailboxAccess.(domain.ParallelReader); ok {
		return p.ReadsAtOnce()
	}
	return 1
}

// crashMu guards the countdowns of crashingAccess: a sync may read
// folders side by side.
var crashMu sync.Mutex

func (a crashingAccess) hit(op string) error {
	if op != a.op {
		return nil
	}
	crashMu.Lock()
	defer crashMu.Unlock()
	*a.n--
	if *a.n == 0 {
		a.store.kill()
		return errCrash
	}
	return nil
}

func (a crashingAccess) SyncHierarchy(ctx context.Context, m domain.MailboxRef, s string) (domain.HierarchyPage, error) {
	p, err := a.MailboxAccess.SyncHierarchy(ctx, m, s)
	if err == nil {
		err = a.hit("SyncHierarchy")
	}
	return p, err
}

func (a crashingAccess) SyncItems(ctx context.Context, m domain.MailboxRef, f, s string, max int) (domain.ItemsPage, error) {
	p, err := a.MailboxAccess.SyncItems(ctx, m, f, s, max)
	if err == nil {
		err = a.hit("SyncItems")
	}
	return p, err
}

func (a crashingAccess) GetItems(ctx context.Context, m domain.MailboxRef, k domain.ItemKind, ids []string) ([]domain.Item, error) {
	items, err := a.MailboxAccess.GetItems(ctx, m, k, ids)
	if err == nil {
		err = a.hit("GetItems")
	}
	return items, err
}

type crashingConnector struct {
	domain.Connector
	op    string
	n     *int
	store *countingStore
}

func (c crashingConnector) Connect(ctx context.Context, t domain.Tenant, cred domain.Credential) (domain.MailboxAccess, error) {
	a, err := c.Connector.Connect(ctx, t, cred)
	if err != nil {
		return nil, err
	}
	return crashingAccess{MailboxAccess: a, op: c.op, n: c.n, store: c.store}, nil
}

// TestSimCrashSafety repeats the crash-at-each-step test on the real
// client and simulator: after a crash and a rerun, the feed holds every
// item of the mailbox exactly once, and the mutations once more.
func TestSimCrashSafety(t *testing.T) {
	t.Parallel() // slow (many jobs, each with store writes); independent of the others
	for _, c := range []struct {
		name string
		op   string // access op to crash after, or a store crash point
		n    int
	}{
		{"after fetch", "SyncItems", 2},
		{"after GetItem", "GetItems", 3},
		{"after item store", "apply-after", 2},
		{"after feed append", "apply-lost", 4},
		{"before checkpoint", "checkpoint", 1},
		{"before ack", "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newSimEnv(t, 1, 900, domain.AccessImpersonation, ewssim.Options{})
			e.syncer.PageSize, e.syncer.GetItemBatch, e.syncer.CheckpointEvery = 100, 40, 2
			cs := &countingStore{Store: e.store}
			e.syncer.Store = cs
			n := 0
			e.syncer.Connector = crashingConnector{Connector: e.syncer.Connector, op: c.op, n: &n, store: cs}
			m := e.ds.Mailboxes[0]
			crashThenRerun := func() {
				n = c.n
				cs.crashAt, cs.crashOnCall, cs.crashCounter = c.op, c.n, 0
				if _, err := e.sync(m); err != nil && !errors.Is(err, errCrash) {
					t.Fatalf("crashed run: %v", err)
				}
				cs.revive()
				n = -1
				e.mustSync(m)
			}
			crashThenRerun()
			feed := e.feed(m)
			if got, want := idsOf(feed, domain.ChangeCreate), e.simItems(m, "inbox", "sentitems", "calendar", "contacts"); !slices.Equal(got, want) {
				t.Fatalf("after the crash the feed has %d creates, the mailbox %d items", len(got), len(want))
			}
			inbox := e.simItems(m, "inbox")
			for _, id := range inbox[:5] {
				if _, err := e.sim.UpdateItem(id, func(it *ewssim.Item) { it.Subject += " (edited)" }); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.sim.DeleteItem(inbox[5]); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(5 * time.Minute)
			crashThenRerun()
			all := e.feed(m)
			assertNoDuplicates(t, all)
			if len(all)-len(feed) != 6 {
				t.Errorf("delta after a crash: %d feed entries, want 6", len(all)-len(feed))
			}
		})
	}
}

// TestSimNoSecretsLeak runs jobs that succeed and fail (rejected password,
// throttling) through the batch worker and checks that no credential
// appears in the logs, the audit trail, the mailbox record or the results.
func TestSimNoSecretsLeak(t *testing.T) {
	e := newSimEnv(t, 2, 50, domain.AccessImpersonation, ewssim.Options{})
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(io.MultiWriter(&logs, secretscan.Writer(secretscan.Logs, "log")), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.syncer.Log = log
	ctx := context.Background()
	good, _ := e.syncer.Secrets.GetCredential(ctx, "acme")
	bad := domain.Credential{Kind: domain.AuthBasic, Username: good.Username, Password: "Wr0ng-but-secret-Passw0rd"}
	w := &app.BatchWorker{Syncer: e.syncer, Log: log}
	msg := func(id, m string) app.BatchMessage {
		b, _ := json.Marshal(domain.SyncJob{TenantID: "acme", Mailbox: m, Tick: t0})
		return app.BatchMessage{ID: id, Body: b}
	}
	results := []app.BatchResult{w.Process(ctx, []app.BatchMessage{msg("1", e.ds.Mailboxes[0])})}
	e.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: time.Second, Count: 1})
	results = append(results, w.Process(ctx, []app.BatchMessage{msg("2", e.ds.Mailboxes[1])}))
	if err := e.syncer.Secrets.PutCredential(ctx, "acme", bad); err != nil {
		t.Fatal(err)
	}
	res := w.Process(ctx, []app.BatchMessage{msg("3", e.ds.Mailboxes[0]), msg("4", e.ds.Mailboxes[1])})
	if res.Stats.Succeeded != 2 {
		t.Fatalf("auth failures are recorded, not retried: %+v", res.Stats)
	}
	results = append(results, res)

	var dump bytes.Buffer
	dump.Write(logs.Bytes())
	b, _ := json.Marshal(results)
	dump.Write(b)
	audit, _, _ := e.store.ListAudit(ctx, "acme", domain.AuditQuery{Limit: 100})
	for _, m := range e.ds.Mailboxes {
		mb, _ := e.store.GetMailbox(ctx, "acme", m)
		b, _ := json.Marshal(mb)
		dump.Write(b)
		if mb.Status != domain.MailboxAuthFailed {
			t.Errorf("%s: status %q, want auth_failed", m, mb.Status)
		}
	}
	b, _ = json.Marshal(audit)
	dump.Write(b)
	storetest.NoSecretIn(t, "logs, audit, mailbox records and results", dump.String(), good, bad)
	if len(audit) < 4 || logs.Len() == 0 {
		t.Fatalf("nothing was checked: %d audit entries, %d bytes of logs", len(audit), logs.Len())
	}
}
