package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// damageBolt overwrites one record of the store file at path with bytes
// that are not JSON, as a damaged page would (the store must be closed).
func damageBolt(t *testing.T, path, tenantID, bucket, key string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("t/" + tenantID)).Bucket([]byte(bucket))
		if b.Get([]byte(key)) == nil {
			return fmt.Errorf("no record %s in %s", key, bucket)
		}
		return b.Put([]byte(key), []byte{'{', 0xff, 0x00, 0x13})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSyncSkipsDamagedRecords: one mailbox whose record does not decode
// and one whose checkpoint does not are reported and skipped; the tenant's
// other mailboxes are scheduled, synced and listed as before. Adding the
// two again mends them without repeating changes in their feeds.
func TestSyncSkipsDamagedRecords(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(t0)
	sim := ewssim.New(ewssim.Options{Seed: 7, MaxConcurrency: -1})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 5, ItemsPerMailbox: 3, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	ewsURL := standin.EWS(t, sim)
	path := filepath.Join(t.TempDir(), "store.db")
	secrets := &mailboxtest.Secrets{}
	if err := secrets.PutCredential(ctx, "acme", domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password}); err != nil {
		t.Fatal(err)
	}
	var store *boltstore.Store
	var worker *app.BatchWorker
	open := func() {
		t.Helper()
		if store, err = boltstore.Open(path, boltstore.Options{Clock: clock}); err != nil {
			t.Fatal(err)
		}
		syncer := &app.Syncer{Store: store, Secrets: secrets, Clock: clock, Log: quiet,
			Connector: ewsmailbox.NewConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}})}
		worker = &app.BatchWorker{Syncer: syncer, Requeuer: &recordingRequeuer{}, Progress: store, Snapshots: store, Log: quiet}
	}
	open()
	tn := domain.Tenant{ID: "acme", DisplayName: "Acme", EWSURL: ewsURL, ExchangeVersion: "Exchange2016", AuthKind: domain.AuthBasic,
		AccessMode: domain.AccessImpersonation, Status: domain.TenantActive, CreatedAt: t0, UpdatedAt: t0}
	if err := store.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	mbs := ds.Mailboxes
	for _, m := range mbs {
		if err := store.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: m, Status: domain.MailboxPending, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	// tick schedules every mailbox and runs the jobs it sent.
	tick := func() (app.TickSummary, app.BatchStats, []string) {
		t.Helper()
		q := &schedQueue{}
		sched := &app.Scheduler{Store: store, Queue: q, ForceDue: true}
		sum, err := sched.Tick(ctx, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		var msgs []app.BatchMessage
		var scheduled []string
		for i, m := range q.messages() {
			scheduled = append(scheduled, schedJobOf(t, m).Targets()...)
			msgs = append(msgs, app.BatchMessage{ID: fmt.Sprint(i), Body: m.Body, GroupID: m.GroupID, Receives: 1})
		}
		res := worker.Process(ctx, msgs)
		if len(res.Failed) > 0 {
			t.Fatalf("jobs came back: %v (%+v)", res.Failed, res.Stats)
		}
		slices.Sort(scheduled)
		return sum, res.Stats, scheduled
	}
	feedLen := func(m string) int {
		t.Helper()
		cs, _, err := store.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Mailbox: m, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	addNews := func() {
		t.Helper()
		for _, m := range mbs {
			if _, err := sim.AddItem(m, "inbox", ewssim.Item{Subject: "news for " + m}); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(time.Minute)
	}

	if _, st, _ := tick(); st.Succeeded != 5 {
		t.Fatalf("first tick: %+v, want 5 synced", st)
	}
	before := map[string]int{}
	for _, m := range mbs {
		before[m] = feedLen(m)
	}
	badRecord, badState := mbs[1], mbs[3]
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	damageBolt(t, path, "acme", "mailboxes", badRecord)
	damageBolt(t, path, "acme", "sync", badState)
	open()
	defer func() { store.Close() }()
	addNews()

	// The damaged record is skipped by the scheduler and reported; the
	// damaged checkpoint is found by the worker, which records it.
	sum, st, scheduled := tick()
	if sum.Damaged != 1 || !slices.Equal(sum.DamagedMailboxes, []string{"acme/" + badRecord}) {
		t.Errorf("tick reported damaged %d %v, want acme/%s", sum.Damaged, sum.DamagedMailboxes, badRecord)
	}
	if slices.Contains(scheduled, badRecord) || len(scheduled) != 4 {
		t.Errorf("scheduled %v, want every mailbox but %s", scheduled, badRecord)
	}
	if st.Succeeded != 3 || st.Rejected != 1 || st.Failed != 0 {
		t.Errorf("worker stats %+v, want 3 synced and the damaged checkpoint rejected", st)
	}
	for _, m := range mbs {
		want := before[m] + 1
		if m == badRecord || m == badState {
			want = before[m]
		}
		if got := feedLen(m); got != want {
			t.Errorf("%s: feed holds %d changes, want %d", m, got, want)
		}
	}
	// A job that still names the damaged record (sent before the damage)
	// skips it and syncs the rest.
	body, _ := json.Marshal(domain.SyncJob{TenantID: "acme", Mailboxes: []string{mbs[0], badRecord, mbs[2]}, ID: "old-job", Tick: t0})
	res := worker.Process(ctx, []app.BatchMessage{{ID: "old", Body: body, Receives: 1}})
	if len(res.Failed) != 0 || res.Stats.Succeeded != 2 || res.Stats.Rejected != 1 {
		t.Errorf("an old job naming the damaged record: %+v failed %v", res.Stats, res.Failed)
	}

	// The listing answers with every mailbox; the two damaged ones say so.
	tenants := &app.Tenants{Store: store, Secrets: secrets, Clock: clock, Log: quiet}
	listed, _, err := tenants.ListMailboxes(ctx, "acme", domain.MailboxQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 5 {
		t.Fatalf("listed %d mailboxes, want 5", len(listed))
	}
	for _, m := range listed {
		damaged := m.Address == badRecord || m.Address == badState
		if damaged != (m.Status == domain.MailboxDamaged) {
			t.Errorf("%s listed with status %s", m.Address, m.Status)
		}
		if damaged && (m.Hint != domain.DamagedMailboxHint || !strings.Contains(m.LastError, "damaged")) {
			t.Errorf("%s: lastError %q, hint %q", m.Address, m.LastError, m.Hint)
		}
	}
	damagedOnly, _, err := tenants.ListMailboxes(ctx, "acme", domain.MailboxQuery{Status: domain.MailboxDamaged})
	if err != nil || len(damagedOnly) != 2 {
		t.Errorf("status=damaged lists %+v (%v), want the two", damagedOnly, err)
	}
	// From now on the scheduler skips both.
	if sum, _, scheduled := tick(); sum.Damaged != 2 || len(scheduled) != 3 {
		t.Errorf("next tick: damaged %d, scheduled %v; want 2 skipped, 3 scheduled", sum.Damaged, scheduled)
	}

	// Remove and add again, as the hint says: both sync, and their feeds
	// get only the change made since, not the items already in them.
	for _, m := range []string{badRecord, badState} {
		if err := store.DeleteMailbox(ctx, "acme", m); err != nil {
			t.Fatal(err)
		}
		if err := store.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: m, Status: domain.MailboxPending, UpdatedAt: clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if sum, st, _ := tick(); sum.Damaged != 0 || st.Succeeded != 5 {
		t.Errorf("after re-adding: damaged %d, stats %+v; want all 5 synced", sum.Damaged, st)
	}
	for _, m := range []string{badRecord, badState} {
		if got := feedLen(m); got != before[m]+1 {
			t.Errorf("%s after re-adding: feed holds %d changes, want %d (the one new item, nothing twice)", m, got, before[m]+1)
		}
	}
}

// TestTickSkipsADamagedTenant: a tenant whose own record does not decode
// is reported by the tick and skipped; the other tenants are scheduled.
func TestTickSkipsADamagedTenant(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	store, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"acme", "globex", "initech"} {
		if err := store.CreateTenant(ctx, domain.Tenant{ID: id, Status: domain.TenantActive, AccessMode: domain.AccessImpersonation, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := store.AddMailbox(ctx, domain.Mailbox{TenantID: id, Address: fmt.Sprintf("user%d@%s.example", i, id), Status: domain.MailboxOK, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
	}
	store.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("tenants")).Put([]byte("globex"), []byte("{\x00")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if store, err = boltstore.Open(path, boltstore.Options{}); err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	q := &schedQueue{}
	sum, err := (&app.Scheduler{Store: store, Queue: q, ForceDue: true}).Tick(ctx, t0)
	if err != nil {
		t.Fatalf("tick: %v", err)
	}
	if !slices.Equal(sum.DamagedTenants, []string{"globex"}) || sum.TenantsDue != 2 {
		t.Errorf("tick %+v, want globex reported damaged and the two others due", sum)
	}
	var scheduled []string
	for _, m := range q.messages() {
		scheduled = append(scheduled, schedJobOf(t, m).Targets()...)
	}
	slices.Sort(scheduled)
	want := []string{"user0@acme.example", "user0@initech.example", "user1@acme.example", "user1@initech.example"}
	if !slices.Equal(scheduled, want) {
		t.Errorf("scheduled %v, want %v", scheduled, want)
	}
}

// withDamagedTenant lists one more tenant, as a store lists a tenant whose
// record does not decode.
type withDamagedTenant struct{ domain.TenantStore }

func (s withDamagedTenant) ListTenants(ctx context.Context, cursor string, limit int) ([]domain.Tenant, string, error) {
	ts, next, err := s.TenantStore.ListTenants(ctx, cursor, limit)
	if cursor == "" {
		ts = append([]domain.Tenant{domain.DamagedTenant("broken")}, ts...)
	}
	return ts, next, err
}

// TestNightlySkipsADamagedTenant: the nightly verify reports a damaged
// tenant as failed and verifies the others.
func TestNightlySkipsADamagedTenant(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, "ok@acme.com")
	checker := &scriptedChecker{reports: map[string]domain.AccessReport{"ok@acme.com": {Status: domain.MailboxOK, Mode: domain.AccessImpersonation}}}
	tenants := &app.Tenants{Store: e.bolt, Secrets: e.syncer.Secrets, Checker: checker, Clock: e.clock, Log: quiet}
	sum, err := (&app.Nightly{Store: withDamagedTenant{e.bolt}, Tenants: tenants, Log: quiet}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Tenants != 1 || !slices.Equal(sum.FailedTenants, []string{"broken"}) || sum.Mailboxes != 1 {
		t.Errorf("summary %+v, want acme verified and broken reported", sum)
	}
}
