package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/api"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/aws/smsecrets"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/local/dirarchive"
	"github.com/mailbridge/mailbridge/shared/local/filesecrets"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/dynamotable"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// The crash-point suite: each point runs an operation (a sync job, an
// onboarding, an offboarding, a calendar write) with the process dying at
// one call of one port, then runs it again as the retry would (the queue's
// redelivery, the client's retry with the same Idempotency-Key, a DELETE
// sent again), and checks the result is there exactly once.
//
// A crash is a crasher armed at the Nth call of one operation: the call
// either never happens (crashBefore), happens with its answer lost
// (crashAfter), or happens for half its batch (crashPartial). From then
// on every write through the wrapped ports fails, as nothing more of a
// dead process reaches the store, the secrets or Exchange.

type crashPhase int

const (
	crashBefore  crashPhase = iota // dies before the call takes effect
	crashAfter                     // the call takes effect, its answer is lost
	crashPartial                   // half of the call's batch takes effect
	// crashStall is an interleaving, not a crash: the call waits while
	// the crasher's hook runs other requests, then goes on.
	crashStall
)

type crasher struct {
	mu    sync.Mutex
	op    string
	phase crashPhase
	n     int // the Nth call of op crashes
	calls int
	fired bool
	dead  bool
	hook  func() // crashStall
}

func (c *crasher) arm(op string, phase crashPhase, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.op, c.phase, c.n, c.calls, c.fired, c.dead = op, phase, n, 0, false, false
}

// disarm revives the process (the retry runs in a new one) and reports
// whether the crash happened.
func (c *crasher) disarm() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	fired := c.fired
	c.op, c.fired, c.dead = "", false, false
	return fired
}

// call runs one port call of operation op through the crasher; f's
// argument asks for half the batch (crashPartial).
func (c *crasher) call(op string, f func(partial bool) error) error {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return errCrash
	}
	hit := false
	if c.op != "" && op == c.op {
		c.calls++
		if c.calls == c.n {
			hit, c.fired, c.dead = true, true, true
		}
	}
	phase := c.phase
	if hit && phase == crashStall {
		c.dead = false
	}
	c.mu.Unlock()
	if !hit {
		return f(false)
	}
	if phase == crashStall {
		c.hook()
		return f(false)
	}
	if phase != crashBefore {
		_ = f(phase == crashPartial)
	}
	return errCrash
}

// crashStore routes every write of a store through a crasher.
type crashStore struct {
	domain.Store
	c *crasher
}

func (s crashStore) CreateTenant(ctx context.Context, t domain.Tenant) error {
	return s.c.call("Store.CreateTenant", func(bool) error { return s.Store.CreateTenant(ctx, t) })
}

func (s crashStore) UpdateTenant(ctx context.Context, t domain.Tenant) error {
	return s.c.call("Store.UpdateTenant", func(bool) error { return s.Store.UpdateTenant(ctx, t) })
}

func (s crashStore) PurgeTenant(ctx context.Context, id string) error {
	return s.c.call("Store.PurgeTenant", func(bool) error { return s.Store.PurgeTenant(ctx, id) })
}

func (s crashStore) AddMailbox(ctx context.Context, m domain.Mailbox) error {
	return s.c.call("Store.AddMailbox", func(bool) error { return s.Store.AddMailbox(ctx, m) })
}

func (s crashStore) PutMailbox(ctx context.Context, m domain.Mailbox) error {
	return s.c.call("Store.PutMailbox", func(bool) error { return s.Store.PutMailbox(ctx, m) })
}

func (s crashStore) DeleteMailbox(ctx context.Context, tenantID, address string) error {
	return s.c.call("Store.DeleteMailbox", func(bool) error { return s.Store.DeleteMailbox(ctx, tenantID, address) })
}

func (s crashStore) PutSyncState(ctx context.Context, st domain.SyncState) error {
	return s.c.call("Store.PutSyncState", func(bool) error { return s.Store.PutSyncState(ctx, st) })
}

func (s crashStore) ApplyChanges(ctx context.Context, tenantID, mailbox string, changes []domain.ItemChange) (int, error) {
	var n int
	err := s.c.call("Store.ApplyChanges", func(partial bool) error {
		cs := changes
		if partial {
			cs = changes[:len(changes)/2]
		}
		var err error
		n, err = s.Store.ApplyChanges(ctx, tenantID, mailbox, cs)
		return err
	})
	return n, err
}

func (s crashStore) MarkMailboxSynced(ctx context.Context, tenantID, mailbox string) (bool, error) {
	var ok bool
	err := s.c.call("Store.MarkMailboxSynced", func(bool) error {
		var err error
		ok, err = s.Store.MarkMailboxSynced(ctx, tenantID, mailbox)
		return err
	})
	return ok, err
}

func (s crashStore) AddSeenIDs(ctx context.Context, tenantID, mailbox, folderID, resync string, ids []string) error {
	return s.c.call("Store.AddSeenIDs", func(bool) error { return s.Store.AddSeenIDs(ctx, tenantID, mailbox, folderID, resync, ids) })
}

func (s crashStore) DropSeenIDs(ctx context.Context, tenantID, mailbox, folderID string) error {
	return s.c.call("Store.DropSeenIDs", func(bool) error { return s.Store.DropSeenIDs(ctx, tenantID, mailbox, folderID) })
}

func (s crashStore) AppendAudit(ctx context.Context, entries ...domain.AuditEntry) error {
	return s.c.call("Store.AppendAudit", func(bool) error { return s.Store.AppendAudit(ctx, entries...) })
}

func (s crashStore) SaveIdempotent(ctx context.Context, tenantID, scope, key string, value []byte, ttl time.Duration) ([]byte, bool, error) {
	var stored []byte
	var existed bool
	err := s.c.call("Store.SaveIdempotent", func(bool) error {
		var err error
		stored, existed, err = s.Store.SaveIdempotent(ctx, tenantID, scope, key, value, ttl)
		return err
	})
	return stored, existed, err
}

// crashSecrets routes the secret store's writes through a crasher.
type crashSecrets struct {
	domain.SecretStore
	c *crasher
}

func (s crashSecrets) PutCredential(ctx context.Context, id string, cred domain.Credential) error {
	return s.c.call("Secrets.PutCredential", func(bool) error { return s.SecretStore.PutCredential(ctx, id, cred) })
}

func (s crashSecrets) DeleteCredential(ctx context.Context, id string) error {
	return s.c.call("Secrets.DeleteCredential", func(bool) error { return s.SecretStore.DeleteCredential(ctx, id) })
}

// crashArchive routes the archive's tenant deletion through a crasher.
type crashArchive struct {
	domain.ArchiveStore
	c *crasher
}

func (a crashArchive) DeleteTenant(ctx context.Context, id string) error {
	return a.c.call("Archive.DeleteTenant", func(bool) error { return a.ArchiveStore.DeleteTenant(ctx, id) })
}

// crashConnector routes a sync's Exchange calls through a crasher: a
// crashAfter point is the process dying right after Exchange answered.
type crashConnector struct {
	domain.Connector
	c *crasher
}

func (cc crashConnector) Connect(ctx context.Context, t domain.Tenant, cred domain.Credential) (domain.MailboxAccess, error) {
	a, err := cc.Connector.Connect(ctx, t, cred)
	if err != nil {
		return nil, err
	}
	return crashAccess{MailboxAccess: a, c: cc.c}, nil
}

type crashAccess struct {
	domain.MailboxAccess
	c *crasher
}

func (a crashAccess) SyncHierarchy(ctx context.Context, m domain.MailboxRef, s string) (p domain.HierarchyPage, err error) {
	err = a.c.call("Exchange.SyncHierarchy", func(bool) error { p, err = a.MailboxAccess.SyncHierarchy(ctx, m, s); return err })
	return p, err
}

func (a crashAccess) SyncItems(ctx context.Context, m domain.MailboxRef, f, s string, max int) (p domain.ItemsPage, err error) {
	err = a.c.call("Exchange.SyncItems", func(bool) error { p, err = a.MailboxAccess.SyncItems(ctx, m, f, s, max); return err })
	return p, err
}

func (a crashAccess) GetItems(ctx context.Context, m domain.MailboxRef, k domain.ItemKind, ids []string) (items []domain.Item, err error) {
	err = a.c.call("Exchange.GetItems", func(bool) error { items, err = a.MailboxAccess.GetItems(ctx, m, k, ids); return err })
	return items, err
}

// crashCalendars routes calendar writes through a crasher.
type crashCalendars struct {
	domain.CalendarConnector
	c *crasher
}

func (cc crashCalendars) ConnectCalendar(ctx context.Context, t domain.Tenant, cred domain.Credential) (domain.CalendarWriter, error) {
	w, err := cc.CalendarConnector.ConnectCalendar(ctx, t, cred)
	if err != nil {
		return nil, err
	}
	return crashWriter{CalendarWriter: w, c: cc.c}, nil
}

type crashWriter struct {
	domain.CalendarWriter
	c *crasher
}

func (w crashWriter) PutEvent(ctx context.Context, m domain.MailboxRef, id string, ev domain.EventSpec, notify bool, at time.Time) (res domain.EventWrite, err error) {
	err = w.c.call("Exchange.PutEvent", func(bool) error { res, err = w.CalendarWriter.PutEvent(ctx, m, id, ev, notify, at); return err })
	return res, err
}

func (w crashWriter) DeleteEvent(ctx context.Context, m domain.MailboxRef, id string, notify bool, at time.Time) (res domain.EventWrite, err error) {
	err = w.c.call("Exchange.DeleteEvent", func(bool) error { res, err = w.CalendarWriter.DeleteEvent(ctx, m, id, notify, at); return err })
	return res, err
}

type crashRetries struct {
	domain.RetryScheduler
	c *crasher
}

func (r crashRetries) ScheduleRetry(ctx context.Context, cr domain.CalendarRetry) error {
	return r.c.call("Retries.ScheduleRetry", func(bool) error { return r.RetryScheduler.ScheduleRetry(ctx, cr) })
}

// crashPoint is one row of the suite.
type crashPoint struct {
	flow  string
	name  string
	op    string // "" : nothing crashes; the run's acknowledgement is lost
	phase crashPhase
	n     int
	// firstOnly: only a sync's first run makes the call (a delta leaves
	// an ok mailbox's record alone); the delta runs uncrashed.
	firstOnly bool
	// setup runs before the crashed operation (calendar writes: what the
	// mailbox holds, the faults Exchange answers with).
	setup func(t *testing.T, e *calCrashEnv)
	// run, when set, runs the point instead of its flow's runner (the
	// interleavings, whose retries differ).
	run func(t *testing.T, p crashPoint, backend string)
}

const (
	flowSync     = "sync"
	flowOnboard  = "onboarding"
	flowOffboard = "offboarding"
	flowCalendar = "calendar writes"
)

var crashPoints = []crashPoint{
	{flow: flowSync, name: "SyncItems answered, nothing stored", op: "Exchange.SyncItems", phase: crashAfter, n: 2},
	{flow: flowSync, name: "GetItem answered, nothing stored", op: "Exchange.GetItems", phase: crashAfter, n: 2},
	{flow: flowSync, name: "before storing a batch of changes", op: "Store.ApplyChanges", phase: crashBefore, n: 2},
	{flow: flowSync, name: "half a batch of changes stored", op: "Store.ApplyChanges", phase: crashPartial, n: 2},
	{flow: flowSync, name: "batch of changes stored, answer lost", op: "Store.ApplyChanges", phase: crashAfter, n: 2},
	{flow: flowSync, name: "before announcing the initial sync", op: "Store.MarkMailboxSynced", phase: crashBefore, n: 1, firstOnly: true},
	{flow: flowSync, name: "initial sync announced, answer lost", op: "Store.MarkMailboxSynced", phase: crashAfter, n: 1, firstOnly: true},
	{flow: flowSync, name: "before the checkpoint", op: "Store.PutSyncState", phase: crashBefore, n: 1},
	{flow: flowSync, name: "checkpoint stored, answer lost", op: "Store.PutSyncState", phase: crashAfter, n: 1},
	{flow: flowSync, name: "mailbox status stored, answer lost", op: "Store.PutMailbox", phase: crashAfter, n: 1, firstOnly: true},
	{flow: flowSync, name: "before the audit entry", op: "Store.AppendAudit", phase: crashBefore, n: 1},
	{flow: flowSync, name: "job done, acknowledgement lost", op: ""},

	{flow: flowOnboard, name: "before the tenant record", op: "Store.CreateTenant", phase: crashBefore, n: 1},
	{flow: flowOnboard, name: "tenant record stored, answer lost", op: "Store.CreateTenant", phase: crashAfter, n: 1},
	{flow: flowOnboard, name: "before the secret", op: "Secrets.PutCredential", phase: crashBefore, n: 1},
	{flow: flowOnboard, name: "secret stored, answer lost", op: "Secrets.PutCredential", phase: crashAfter, n: 1},
	{flow: flowOnboard, name: "before the credential fingerprint", op: "Store.UpdateTenant", phase: crashBefore, n: 1},
	{flow: flowOnboard, name: "fingerprint recorded, answer lost", op: "Store.UpdateTenant", phase: crashAfter, n: 1},
	{flow: flowOnboard, name: "before the idempotency record", op: "Store.SaveIdempotent", phase: crashBefore, n: 1},
	{flow: flowOnboard, name: "idempotency record stored, answer lost", op: "Store.SaveIdempotent", phase: crashAfter, n: 1},
	{flow: flowOnboard, name: "mailboxes half added", op: "Store.AddMailbox", phase: crashBefore, n: 2},
	{flow: flowOnboard, name: "a mailbox added, answer lost", op: "Store.AddMailbox", phase: crashAfter, n: 3},
	{flow: flowOnboard, name: "create stalled before its secret while the tenant is offboarded and created again", op: "Secrets.PutCredential", phase: crashStall, n: 1,
		run: runStalledCreate},

	{flow: flowOffboard, name: "before marking the tenant offboarded", op: "Store.UpdateTenant", phase: crashBefore, n: 1},
	{flow: flowOffboard, name: "tenant marked offboarded, answer lost", op: "Store.UpdateTenant", phase: crashAfter, n: 1},
	{flow: flowOffboard, name: "before deleting the secret", op: "Secrets.DeleteCredential", phase: crashBefore, n: 1},
	{flow: flowOffboard, name: "secret deleted, answer lost", op: "Secrets.DeleteCredential", phase: crashAfter, n: 1},
	{flow: flowOffboard, name: "before deleting the archive", op: "Archive.DeleteTenant", phase: crashBefore, n: 1},
	{flow: flowOffboard, name: "archive deleted, answer lost", op: "Archive.DeleteTenant", phase: crashAfter, n: 1},
	{flow: flowOffboard, name: "before the purge", op: "Store.PurgeTenant", phase: crashBefore, n: 1},
	{flow: flowOffboard, name: "purged, answer lost", op: "Store.PurgeTenant", phase: crashAfter, n: 1},
	{flow: flowOffboard, name: "offboarded while a rotation is about to write the secret", op: "Secrets.PutCredential", phase: crashStall, n: 1,
		run: runStalledRotation},

	{flow: flowCalendar, name: "before the Exchange call", op: "Exchange.PutEvent", phase: crashBefore, n: 1},
	{flow: flowCalendar, name: "CreateItem done, answer lost", op: "Exchange.PutEvent", phase: crashAfter, n: 1},
	{flow: flowCalendar, name: "event written, before the audit entry", op: "Store.AppendAudit", phase: crashBefore, n: 1},
	{flow: flowCalendar, name: "written and audited, acknowledgement lost", op: ""},
	{flow: flowCalendar, name: "Exchange throttled, before handing the retry over", op: "Retries.ScheduleRetry", phase: crashBefore, n: 1,
		setup: func(t *testing.T, e *calCrashEnv) {
			e.sim.InjectFault(ewssim.Fault{Op: "CreateItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: time.Second, Count: 1})
		}},
	{flow: flowCalendar, name: "UpdateItem of an existing event done, answer lost", op: "Exchange.PutEvent", phase: crashAfter, n: 1,
		setup: func(t *testing.T, e *calCrashEnv) {
			e.mustWrite(t, e.upsert("v0", "Flight to Bergen", calNow.Add(-time.Minute)))
		}},
	{flow: flowCalendar, name: "DeleteItem done, answer lost", op: "Exchange.DeleteEvent", phase: crashAfter, n: 1,
		setup: func(t *testing.T, e *calCrashEnv) {
			e.mustWrite(t, e.upsert("v0", "Flight to Bergen", calNow.Add(-time.Minute)))
		}},
}

// TestCrashPoints runs every crash point and prints the suite's size for
// make test's summary.
func TestCrashPoints(t *testing.T) {
	t.Parallel() // many small worlds; independent of the others
	counts := map[string]int{}
	for _, p := range crashPoints {
		counts[p.flow]++
	}
	for _, f := range []string{flowSync, flowOnboard, flowOffboard, flowCalendar} {
		if counts[f] < 3 {
			t.Errorf("flow %s has %d crash points, want at least 3", f, counts[f])
		}
	}
	if len(crashPoints) < 20 {
		t.Errorf("%d crash points, want at least 20", len(crashPoints))
	}
	run := map[string]func(t *testing.T, p crashPoint, backend string){
		flowSync: runSyncCrash, flowOnboard: runOnboardCrash, flowOffboard: runOffboardCrash, flowCalendar: runCalendarCrash,
	}
	// Onboarding and offboarding run on both stores (their ordering rests
	// on each store's conditional writes and purge); the sync and the
	// calendar writer run on the embedded one, as their other tests do.
	backends := map[string][]string{flowSync: {"bolt"}, flowCalendar: {"bolt"}, flowOnboard: {"bolt", "dynamodb"}, flowOffboard: {"bolt", "dynamodb"}}
	t.Run("points", func(t *testing.T) {
		for _, p := range crashPoints {
			for _, b := range backends[p.flow] {
				t.Run(p.flow+"/"+p.name+"/"+b, func(t *testing.T) {
					t.Parallel()
					if p.run != nil {
						p.run(t, p, b)
						return
					}
					run[p.flow](t, p, b)
				})
			}
		}
	})
	if !t.Failed() {
		fmt.Printf("crash-point suite: %d points (sync %d, onboarding %d, offboarding %d, calendar writes %d), each rerun to exactly-once\n",
			len(crashPoints), counts[flowSync], counts[flowOnboard], counts[flowOffboard], counts[flowCalendar])
	}
}

// crashed checks the crashed run reached its crash point (a point never
// reached tests nothing) and revives the process for the retry.
func crashed(t *testing.T, c *crasher, p crashPoint, round string) {
	t.Helper()
	if fired := c.disarm(); p.op != "" && !fired {
		t.Fatalf("%s: the run never reached call %d of %s", round, p.n, p.op)
	}
}

// runSyncCrash: a full sync crashed and redelivered, then a delta
// (updates, a delete, a new item) crashed and redelivered at the same
// point. The feed holds every item of the mailbox once, then exactly the
// delta's changes once more. The mailbox starts in its initial sync: the
// tenant feed holds one mailboxSynced of it and none of its items after the
// full sync, then the delta's changes once.
func runSyncCrash(t *testing.T, p crashPoint, _ string) {
	e := newSimEnv(t, 1, 150, domain.AccessImpersonation, ewssim.Options{})
	e.syncer.PageSize, e.syncer.GetItemBatch, e.syncer.CheckpointEvery = 40, 20, 2
	c := &crasher{}
	e.syncer.Store = crashStore{Store: e.store, c: c}
	e.syncer.Connector = crashConnector{Connector: e.syncer.Connector, c: c}
	m := e.ds.Mailboxes[0]
	round := func(name string) {
		c.arm(p.op, p.phase, p.n)
		_, err := e.sync(m)
		if fired := c.disarm(); p.op != "" && !fired && (name == "full sync" || !p.firstOnly) {
			t.Fatalf("%s: the run never reached call %d of %s", name, p.n, p.op)
		}
		if p.op == "" && err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e.mustSync(m) // the queue redelivers the job
	}
	round("full sync")
	feed := e.feed(m)
	assertNoDuplicates(t, feed)
	if got, want := idsOf(feed, domain.ChangeCreate), e.simItems(m, "inbox", "sentitems", "calendar", "contacts"); !slices.Equal(got, want) || len(feed) != len(want) {
		t.Fatalf("after the crash the feed has %d entries (%d creates), the mailbox %d items", len(feed), len(got), len(want))
	}
	if tf := e.feed(""); len(tf) != 1 || tf[0].Kind != domain.ChangeMailboxSynced {
		t.Fatalf("after the crash the tenant feed has %d entries (first %+v), want one mailboxSynced", len(tf), tf)
	}

	// The delta touches three folders, so it stores three batches and
	// fetches two (a delete needs no GetItem).
	inbox, sent := e.simItems(m, "inbox"), e.simItems(m, "sentitems")
	var want []string
	for _, id := range inbox[:2] {
		if _, err := e.sim.UpdateItem(id, func(it *ewssim.Item) { it.Subject += " (edited)" }); err != nil {
			t.Fatal(err)
		}
		want = append(want, "update "+id)
	}
	if err := e.sim.DeleteItem(sent[0]); err != nil {
		t.Fatal(err)
	}
	want = append(want, "delete "+sent[0])
	for _, add := range []struct {
		folder string
		item   ewssim.Item
	}{
		{"inbox", ewssim.Item{Kind: ewssim.KindMessage, Subject: "new mail"}},
		{"calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "new meeting", Start: t0.Add(26 * time.Hour), End: t0.Add(27 * time.Hour)}},
	} {
		r, err := e.sim.AddItem(m, add.folder, add.item)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, "create "+r.ID)
	}
	e.clock.Advance(5 * time.Minute)
	round("delta")
	all := e.feed(m)
	assertNoDuplicates(t, all)
	var got []string
	for _, ch := range all[len(feed):] {
		got = append(got, string(ch.Kind)+" "+ch.ItemID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("delta after the crash: feed %v, want %v", got, want)
	}
	got = nil
	for _, ch := range e.feed("")[1:] {
		got = append(got, string(ch.Kind)+" "+ch.ItemID)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("delta after the crash: tenant feed after the announcement %v, want %v", got, want)
	}
	if mb, _ := e.store.GetMailbox(context.Background(), "acme", m); mb.Status != domain.MailboxOK {
		t.Errorf("mailbox status %q after the retry, want ok", mb.Status)
	}
}

// lifeWorld is the tenant API over one store and secret store, both behind
// a crasher, with a simulated Exchange its mailboxes live in.
type lifeWorld struct {
	t         *testing.T
	c         *crasher
	store     domain.Store
	secrets   domain.SecretStore
	h         http.Handler
	ewsURL    string
	mailboxes []string
	cred      domain.Credential
	clock     *storetest.Clock
	archive   *dirarchive.Store
}

const lifeKey = "onboard-acme-1"

func newLifeWorld(t *testing.T, backend string) *lifeWorld {
	t.Helper()
	sim := ewssim.New(ewssim.Options{Seed: 7, MaxConcurrency: -1})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 3, ItemsPerMailbox: 12, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	// Near the real time: DynamoDB Local deletes items whose TTL attribute
	// is past (idempotency records, written with the store's clock).
	now := time.Now().UTC().Truncate(time.Minute)
	w := &lifeWorld{t: t, c: &crasher{}, ewsURL: standin.EWS(t, sim), mailboxes: ds.Mailboxes, clock: storetest.NewClock(now),
		cred: domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password}}
	switch backend {
	case "bolt":
		dir := t.TempDir()
		bs, err := boltstore.Open(filepath.Join(dir, "store.db"), boltstore.Options{Clock: w.clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bs.Close() })
		fs, err := filesecrets.Open(filesecrets.Options{Path: filepath.Join(dir, "secrets.json"), Demo: true, Warn: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		w.store, w.secrets = bs, fs
	case "dynamodb":
		cfg := standin.AWSConfig()
		client := dynamostore.NewClient(cfg, standin.DynamoDB(t))
		_, table := dynamotable.New(t, client, "crashpoints")
		ds, err := dynamostore.New(client, dynamostore.Options{Table: table, Clock: w.clock})
		if err != nil {
			t.Fatal(err)
		}
		sm, err := smsecrets.New(smsecrets.NewClient(cfg, standin.Moto(t)), smsecrets.Options{Stage: strings.TrimPrefix(table, "crashpoints-")})
		if err != nil {
			t.Fatal(err)
		}
		w.store, w.secrets = ds, sm
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	if w.archive, err = dirarchive.New(filepath.Join(t.TempDir(), "archive")); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var logMu sync.Mutex
	t.Cleanup(func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("API log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	w.h = api.New(api.Deps{
		Store: crashStore{Store: w.store, c: w.c}, Secrets: crashSecrets{SecretStore: w.secrets, c: w.c},
		Checker: ewsmailbox.NewChecker(ewsmailbox.CheckerOptions{Client: ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}}}),
		Clock:   w.clock, Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil)), URLPolicy: urlguard.Policy{DevLoopback: true},
		Archive: crashArchive{ArchiveStore: w.archive, c: w.c},
	})
	return w
}

type answer struct {
	status   int
	body     []byte
	replayed bool
}

func (w *lifeWorld) do(method, path, body string, header ...string) answer {
	w.t.Helper()
	r := httptest.NewRequest(method, "http://api.test"+path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	return answer{status: rec.Code, body: rec.Body.Bytes(), replayed: rec.Header().Get("Idempotent-Replayed") == "true"}
}

func (w *lifeWorld) createBody() string {
	cred, _ := domain.MarshalCredential(w.cred)
	b, _ := json.Marshal(map[string]any{"id": "acme", "ewsUrl": w.ewsURL, "accessMode": "impersonation", "credentials": json.RawMessage(cred)})
	return string(b)
}

func (w *lifeWorld) mailboxesBody() string {
	var ms []map[string]string
	for _, m := range w.mailboxes {
		ms = append(ms, map[string]string{"address": m})
	}
	b, _ := json.Marshal(map[string]any{"mailboxes": ms})
	return string(b)
}

// onboard is what a client does to onboard a tenant: POST /tenants with an
// Idempotency-Key, then POST its mailboxes. It returns the create's answer
// (and stops there unless it is 201) and the mailboxes' status.
func (w *lifeWorld) onboard() (created answer, mailboxes int) {
	created = w.do("POST", "/tenants", w.createBody(), "Idempotency-Key", lifeKey)
	if created.status != http.StatusCreated {
		return created, 0
	}
	return created, w.do("POST", "/tenants/acme/mailboxes", w.mailboxesBody()).status
}

func (w *lifeWorld) scope() string { return "POST /tenants " }

// runOnboardCrash: an onboarding crashed at the point, then retried by the
// client with the same Idempotency-Key. Exactly one tenant, its secret,
// every mailbox, and an answer that a further retry replays unchanged.
func runOnboardCrash(t *testing.T, p crashPoint, backend string) {
	w := newLifeWorld(t, backend)
	ctx := context.Background()
	w.c.arm(p.op, p.phase, p.n)
	w.onboard()
	crashed(t, w.c, p, "onboarding")
	created, mbStatus := w.onboard()
	if created.status != http.StatusCreated || mbStatus != http.StatusOK {
		t.Fatalf("retried onboarding: POST /tenants %d %s, mailboxes %d", created.status, created.body, mbStatus)
	}
	again := w.do("POST", "/tenants", w.createBody(), "Idempotency-Key", lifeKey)
	if again.status != http.StatusCreated || !again.replayed || string(again.body) != string(created.body) {
		t.Errorf("a further retry answers %d (replayed %v) %s; want the retry's answer %s replayed", again.status, again.replayed, again.body, created.body)
	}

	tenants, _, err := w.store.ListTenants(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(tenants) != 1 || tenants[0].ID != "acme" || tenants[0].Status != domain.TenantActive {
		t.Fatalf("tenants after the retry: %+v, want acme once, active", tenants)
	}
	tn := tenants[0]
	var view struct {
		Version     int64 `json:"version"`
		Credentials *struct {
			Fingerprint string `json:"fingerprint"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal(created.body, &view); err != nil {
		t.Fatal(err)
	}
	if view.Credentials == nil || view.Credentials.Fingerprint != w.cred.Fingerprint() || tn.CredentialFingerprint != w.cred.Fingerprint() || view.Version != tn.Version {
		t.Errorf("answer %s; stored tenant fingerprint %q version %d; want the credential's fingerprint %q and the stored version",
			created.body, tn.CredentialFingerprint, tn.Version, w.cred.Fingerprint())
	}
	if got, err := w.secrets.GetCredential(ctx, "acme"); err != nil || got != w.cred {
		t.Errorf("stored secret: %v (error %v), want the onboarded credential", got, err)
	}
	ms, _, err := w.store.ListMailboxes(ctx, "acme", domain.MailboxQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, m := range ms {
		addrs = append(addrs, m.Address)
	}
	if !slices.Equal(addrs, w.mailboxes) {
		t.Errorf("mailboxes %v, want %v", addrs, w.mailboxes)
	}
	if _, found, err := w.store.GetIdempotent(ctx, w.scope(), lifeKey); err != nil || !found {
		t.Errorf("idempotency record: found %v, error %v", found, err)
	}
}

// runOffboardCrash: a tenant onboarded and synced, its DELETE crashed at
// the point and sent again. Nothing of the tenant is left: record,
// mailboxes, checkpoints, feed, audit, idempotency records, secret; and
// the old Idempotency-Key makes a new tenant rather than replaying.
func runOffboardCrash(t *testing.T, p crashPoint, backend string) {
	w := newLifeWorld(t, backend)
	w.onboardAndSync()
	w.c.arm(p.op, p.phase, p.n)
	w.do("DELETE", "/tenants/acme", "")
	crashed(t, w.c, p, "offboarding")
	if a := w.do("DELETE", "/tenants/acme", ""); a.status != http.StatusNoContent && a.status != http.StatusNotFound {
		t.Fatalf("retried DELETE: %d %s", a.status, a.body)
	}
	w.assertGone()
}

// onboardAndSync onboards the tenant and syncs its mailboxes once, so an
// offboarding has checkpoints, items, a feed and an audit trail to remove.
func (w *lifeWorld) onboardAndSync() {
	t := w.t
	t.Helper()
	ctx := context.Background()
	if created, mb := w.onboard(); created.status != http.StatusCreated || mb != http.StatusOK {
		t.Fatalf("onboarding: %d %s, mailboxes %d", created.status, created.body, mb)
	}
	syncer := &app.Syncer{Store: w.store, Secrets: w.secrets, Clock: w.clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Connector: ewsmailbox.NewConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}})}
	for _, m := range w.mailboxes {
		if _, err := syncer.SyncMailbox(ctx, domain.SyncJob{TenantID: "acme", Mailbox: m, Tick: w.clock.Now()}); err != nil {
			t.Fatalf("sync %s: %v", m, err)
		}
	}
	if cs, _, err := w.store.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Limit: 10}); err != nil || len(cs) == 0 {
		t.Fatalf("nothing synced before the offboarding: %d changes, %v", len(cs), err)
	}
	// Archived messages of the tenant (as a sync with archive on writes
	// them) and another tenant's, which the offboarding must keep.
	for _, key := range append(w.archiveKeys("acme"), w.archiveKeys("acme2")...) {
		if err := w.archive.Put(ctx, key, []byte("Subject: archived\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
	}
}

// archiveKeys are the archive keys of one message per mailbox of tenant.
func (w *lifeWorld) archiveKeys(tenant string) []string {
	var out []string
	for _, m := range w.mailboxes {
		out = append(out, domain.ArchiveKey(tenant, m, "AAMk/"+m))
	}
	return out
}

// assertGone: nothing of the tenant is left, and its old Idempotency-Key
// makes a new tenant.
func (w *lifeWorld) assertGone() {
	t := w.t
	t.Helper()
	ctx := context.Background()
	if _, err := w.store.GetTenant(ctx, "acme"); !domain.IsNotFound(err) {
		t.Errorf("tenant record: %v, want not found", err)
	}
	if ms, _, err := w.store.ListMailboxes(ctx, "acme", domain.MailboxQuery{Limit: 100}); err != nil || len(ms) != 0 {
		t.Errorf("mailboxes left: %d (%v)", len(ms), err)
	}
	for _, m := range w.mailboxes {
		if st, err := w.store.GetSyncState(ctx, "acme", m); err != nil || st.Version != 0 {
			t.Errorf("checkpoint of %s left: version %d (%v)", m, st.Version, err)
		}
	}
	if cs, _, err := w.store.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Limit: 10}); len(cs) != 0 {
		t.Errorf("feed left: %d changes (%v)", len(cs), err)
	}
	if es, _, err := w.store.ListAudit(ctx, "acme", domain.AuditQuery{Limit: 10}); err != nil || len(es) != 0 {
		t.Errorf("audit left: %d entries (%v)", len(es), err)
	}
	if _, found, err := w.store.GetIdempotent(ctx, w.scope(), lifeKey); err != nil || found {
		t.Errorf("idempotency record left: found %v (%v)", found, err)
	}
	if _, err := w.secrets.GetCredential(ctx, "acme"); !domain.IsNotFound(err) {
		t.Errorf("secret left without its tenant: %v", err)
	}
	if _, err := os.Stat(filepath.Join(w.archive.Dir, "acme")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("archive left: %s/acme (%v)", w.archive.Dir, err)
	}
	for _, key := range w.archiveKeys("acme2") {
		if ok, err := w.archive.Exists(ctx, key); err != nil || !ok {
			t.Errorf("another tenant's archived message %s went (%v)", key, err)
		}
	}
	if a := w.do("POST", "/tenants", w.createBody(), "Idempotency-Key", lifeKey); a.status != http.StatusCreated || a.replayed {
		t.Errorf("the old Idempotency-Key after the offboarding: %d (replayed %v), want a new tenant", a.status, a.replayed)
	}
}

// calCrashEnv is the calendar writer of newCalEnv with its store, writer
// and retry owner behind a crasher.
type calCrashEnv struct {
	*calEnv
	c *crasher
}

const crashEventID = "trip-7"

func (e *calCrashEnv) upsert(id, subject string, at time.Time) domain.WriteRequest {
	req := upsert(id, calAnn, crashEventID, calNow.Add(72*time.Hour))
	req.Event.Subject, req.RequestedAt = subject, at
	return req
}

func (e *calCrashEnv) mustWrite(t *testing.T, req domain.WriteRequest) {
	t.Helper()
	if res, err := e.writes.HandleQueued(context.Background(), req); err != nil || res.Outcome != app.OutcomeWritten {
		t.Fatalf("write %s: %+v, %v", req.ID, res, err)
	}
}

// marked lists the mailbox's items in folder carrying Mailbridge's mark
// for crashEventID.
func (e *calCrashEnv) marked(t *testing.T, folder string) []ewssim.Item {
	t.Helper()
	refs, err := e.sim.ListItems(calAnn, folder)
	if err != nil {
		t.Fatal(err)
	}
	var out []ewssim.Item
	for _, r := range refs {
		it, _, err := e.sim.GetItem(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range it.Extended {
			if p.SetID == ewsmailbox.PropertySetID && p.Name == ewsmailbox.MarkerField.PropertyName && p.Value == crashEventID {
				out = append(out, it)
			}
		}
	}
	return out
}

// runCalendarCrash: a calendar write crashed at the point, then delivered
// again by the queue. The event is in the calendar once (an upsert) or
// gone (a delete), and the redelivery reports the write done.
func runCalendarCrash(t *testing.T, p crashPoint, _ string) {
	e := &calCrashEnv{calEnv: newCalEnv(t), c: &crasher{}}
	if p.setup != nil {
		p.setup(t, e)
	}
	e.writes.Store = crashStore{Store: e.store, c: e.c}
	e.writes.Calendars = crashCalendars{CalendarConnector: e.writes.Calendars, c: e.c}
	e.writes.Retries = crashRetries{RetryScheduler: e.retries, c: e.c}
	ctx := context.Background()
	req := e.upsert("w1", "Flight to Oslo", calNow)
	if p.op == "Exchange.DeleteEvent" {
		req = domain.WriteRequest{ID: "w1", TenantID: calTenant, Mailbox: calAnn, ClientEventID: crashEventID, Op: domain.WriteDelete, RequestedAt: calNow}
	}
	e.c.arm(p.op, p.phase, p.n)
	res, err := e.writes.HandleQueued(ctx, req)
	crashed(t, e.c, p, "calendar write")
	if p.op == "" && (err != nil || res.Outcome != app.OutcomeWritten) {
		t.Fatalf("write: %+v, %v", res, err)
	}
	e.clock.Advance(time.Minute)
	res, err = e.writes.HandleQueued(ctx, req) // the queue redelivers
	if err != nil || res.Outcome != app.OutcomeWritten {
		t.Fatalf("redelivered write: %+v, %v; want it written", res, err)
	}
	items := e.marked(t, "calendar")
	if req.Op == domain.WriteDelete {
		if len(items) != 0 {
			t.Fatalf("%d events left after the delete", len(items))
		}
		if res.Result != domain.EventDeleted {
			t.Errorf("redelivered delete: %s, want deleted", res.Result)
		}
		return
	}
	if len(items) != 1 || items[0].Subject != req.Event.Subject {
		var subjects []string
		for _, it := range items {
			subjects = append(subjects, it.Subject)
		}
		t.Fatalf("calendar holds %d events marked %s (%v), want one %q", len(items), crashEventID, subjects, req.Event.Subject)
	}
	if n := len(e.retries.got); n != 0 {
		t.Errorf("%d retries scheduled for a write the redelivery made", n)
	}
}

// runStalledCreate: an onboarding stalls after claiming the id, before it
// stores the secret; meanwhile the operator offboards the tenant and
// onboards it again with another credential, retrying (after a minute)
// whatever asked to be retried. Then the stalled create goes on. The new
// tenant must keep its own secret: the late write must not replace it.
func runStalledCreate(t *testing.T, p crashPoint, backend string) {
	w := newLifeWorld(t, backend)
	ctx := context.Background()
	newer := domain.Credential{Kind: domain.AuthBasic, Username: "svc-new@contoso.com", Password: "Newer-tenant-Passw0rd"}
	cred, _ := domain.MarshalCredential(newer)
	body, _ := json.Marshal(map[string]any{"id": "acme", "ewsUrl": w.ewsURL, "accessMode": "impersonation", "credentials": json.RawMessage(cred)})
	var deleted, recreated answer
	w.c.arm(p.op, p.phase, p.n)
	w.c.hook = func() {
		deleted = w.do("DELETE", "/tenants/acme", "")
		recreated = w.do("POST", "/tenants", string(body), "Idempotency-Key", "onboard-acme-2")
	}
	stalled := w.do("POST", "/tenants", w.createBody(), "Idempotency-Key", lifeKey)
	crashed(t, w.c, p, "stalled create")
	if recreated.status != http.StatusCreated {
		w.clock.Advance(2 * time.Minute)
		if deleted.status != http.StatusNoContent {
			if a := w.do("DELETE", "/tenants/acme", ""); a.status != http.StatusNoContent && a.status != http.StatusNotFound {
				t.Fatalf("DELETE sent again: %d %s", a.status, a.body)
			}
		}
		if recreated = w.do("POST", "/tenants", string(body), "Idempotency-Key", "onboard-acme-3"); recreated.status != http.StatusCreated {
			t.Fatalf("the new tenant, created again: %d %s", recreated.status, recreated.body)
		}
	}
	t.Logf("stalled create %d %s; meanwhile DELETE %d %s, POST %d", stalled.status, stalled.body, deleted.status, deleted.body, recreated.status)
	tenants, _, err := w.store.ListTenants(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(tenants) != 1 || tenants[0].CredentialFingerprint != newer.Fingerprint() || tenants[0].Status != domain.TenantActive {
		t.Fatalf("tenants %+v, want the new one, active, with its credential's fingerprint", tenants)
	}
	if got, err := w.secrets.GetCredential(ctx, "acme"); err != nil || got != newer {
		t.Fatalf("the new tenant's secret was replaced by the stalled create's (or lost: %v)", err)
	}
}

// runStalledRotation: a credential rotation passes its access check and
// stalls before it stores the new secret; meanwhile the tenant is
// offboarded (DELETE, sent again after a minute if it asked to be). Then
// the rotation goes on. Nothing of the tenant may be left: no secret
// without its tenant.
func runStalledRotation(t *testing.T, p crashPoint, backend string) {
	w := newLifeWorld(t, backend)
	w.onboardAndSync()
	var deleted answer
	w.c.arm(p.op, p.phase, p.n)
	w.c.hook = func() { deleted = w.do("DELETE", "/tenants/acme", "") }
	cred, _ := domain.MarshalCredential(w.cred)
	rotated := w.do("PUT", "/tenants/acme/credentials", `{"credentials":`+string(cred)+`}`)
	crashed(t, w.c, p, "stalled rotation")
	if deleted.status != http.StatusNoContent {
		w.clock.Advance(2 * time.Minute)
		if a := w.do("DELETE", "/tenants/acme", ""); a.status != http.StatusNoContent && a.status != http.StatusNotFound {
			t.Fatalf("DELETE sent again: %d %s", a.status, a.body)
		}
	}
	t.Logf("stalled rotation %d %s; meanwhile DELETE %d", rotated.status, rotated.body, deleted.status)
	w.assertGone()
}

// lockedWriter serialises writes to a log buffer shared by goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
