package app_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/platform/secretcache"
	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// countingStore counts the billed writes the sync makes and can fail a
// chosen call, to simulate a crash at that point.
type countingStore struct {
	domain.Store
	mu           sync.Mutex
	syncStates   int
	mailboxPuts  int
	applyCalls   int
	crashAt      string // "apply-before", "apply-after", "apply-lost", "checkpoint"
	crashOnCall  int    // 1-based index of the call to fail
	crashCounter int
	// dead is set by a crash: like a killed process, the job writes
	// nothing more (no checkpoint, no status, no audit) until revived.
	dead bool
}

var errCrash = errors.New("simulated crash")

func (s *countingStore) crash(point string) bool {
	if s.crashAt != point {
		return false
	}
	s.crashCounter++
	if s.crashCounter == s.crashOnCall {
		s.dead = true
		return true
	}
	return false
}

func (s *countingStore) isDead() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dead
}

func (s *countingStore) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = true
}

func (s *countingStore) revive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead, s.crashAt = false, ""
}

func (s *countingStore) AppendAudit(ctx context.Context, entries ...domain.AuditEntry) error {
	if s.isDead() {
		return errCrash
	}
	return s.Store.AppendAudit(ctx, entries...)
}

func (s *countingStore) PutSyncState(ctx context.Context, st domain.SyncState) error {
	s.mu.Lock()
	crash := s.crash("checkpoint") || s.dead
	s.mu.Unlock()
	if crash {
		return errCrash
	}
	err := s.Store.PutSyncState(ctx, st)
	if err == nil {
		s.mu.Lock()
		s.syncStates++
		s.mu.Unlock()
	}
	return err
}

func (s *countingStore) PutMailbox(ctx context.Context, m domain.Mailbox) error {
	if s.isDead() {
		return errCrash
	}
	s.mu.Lock()
	s.mailboxPuts++
	s.mu.Unlock()
	return s.Store.PutMailbox(ctx, m)
}

func (s *countingStore) ApplyChanges(ctx context.Context, tenantID, mailbox string, changes []domain.ItemChange) (int, error) {
	s.mu.Lock()
	s.applyCalls++
	before := s.crash("apply-before")
	after := s.crash("apply-after")
	lost := s.crash("apply-lost")
	dead := s.dead && !before && !after && !lost
	s.mu.Unlock()
	if before || dead {
		return 0, errCrash
	}
	if lost {
		// Everything is stored, then the process dies before answering.
		if _, err := s.Store.ApplyChanges(ctx, tenantID, mailbox, changes); err != nil {
			return 0, err
		}
		return 0, errCrash
	}
	if after {
		// Half the changes (items and their feed entries) are stored,
		// then the process dies before answering.
		if _, err := s.Store.ApplyChanges(ctx, tenantID, mailbox, changes[:len(changes)/2]); err != nil {
			return 0, err
		}
		return 0, errCrash
	}
	return s.Store.ApplyChanges(ctx, tenantID, mailbox, changes)
}

func (s *countingStore) writes() (syncStates, mailboxes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncStates, s.mailboxPuts
}

// env is one test's world: a bolt store, secrets, the fake Exchange and a
// Syncer wired to them.
type env struct {
	t      *testing.T
	store  *countingStore
	bolt   *boltstore.Store
	x      *fakeExchange
	clock  *storetest.Clock
	syncer *app.Syncer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := storetest.NewClock(t0)
	dbPath := filepath.Join(t.TempDir(), "store.db")
	secretscan.WatchFile(t, dbPath) // read when the test ends, for the secret scan
	bs, err := boltstore.Open(dbPath, boltstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	cs := &countingStore{Store: bs}
	x := newFakeExchange()
	secrets := &mailboxtest.Secrets{}
	e := &env{t: t, store: cs, bolt: bs, x: x, clock: clock}
	e.syncer = &app.Syncer{
		Store: cs, Secrets: secrets, Connector: x, Clock: clock,
		Log: secretscan.Logger(),
	}
	return e
}

// addTenant registers a tenant with mailboxes, each created in Exchange.
func (e *env) addTenant(id string, mode domain.AccessMode, folders []string, mailboxes ...string) domain.Tenant {
	e.t.Helper()
	ctx := context.Background()
	tn := domain.Tenant{ID: id, DisplayName: id, EWSURL: "https://mail.example.com/EWS/Exchange.asmx", AuthKind: domain.AuthBasic,
		AccessMode: mode, Folders: folders, Status: domain.TenantActive, CreatedAt: t0, UpdatedAt: t0}
	if err := e.store.CreateTenant(ctx, tn); err != nil {
		e.t.Fatal(err)
	}
	if err := e.syncer.Secrets.PutCredential(ctx, id, domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "right"}); err != nil {
		e.t.Fatal(err)
	}
	for _, m := range mailboxes {
		if err := e.store.AddMailbox(ctx, domain.Mailbox{TenantID: id, Address: m, Status: domain.MailboxPending, UpdatedAt: t0}); err != nil {
			e.t.Fatal(err)
		}
		if _, ok := e.x.mailboxes[m]; !ok {
			e.x.addMailbox(m)
		}
	}
	return tn
}

// throttled counts the calls the fake answered ErrorServerBusy.
func (e *env) throttled() int {
	e.x.mu.Lock()
	defer e.x.mu.Unlock()
	return e.x.throttled
}

func (e *env) sync(tenant, mailbox string) (app.SyncResult, error) {
	return e.syncer.SyncMailbox(context.Background(), domain.SyncJob{TenantID: tenant, Mailbox: mailbox, Tick: e.clock.Now().Truncate(time.Minute)})
}

func (e *env) mustSync(tenant, mailbox string) app.SyncResult {
	e.t.Helper()
	res, err := e.sync(tenant, mailbox)
	if err != nil {
		e.t.Fatalf("sync %s/%s: %v", tenant, mailbox, err)
	}
	return res
}

// feed reads a mailbox's whole change feed.
func (e *env) feed(tenant, mailbox string) []domain.Change {
	e.t.Helper()
	var all []domain.Change
	cursor := ""
	for {
		cs, next, err := e.bolt.ReadFeed(context.Background(), domain.FeedQuery{TenantID: tenant, Mailbox: mailbox, Cursor: cursor, Limit: 1000})
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

func (e *env) mailbox(tenant, addr string) domain.Mailbox {
	e.t.Helper()
	m, err := e.bolt.GetMailbox(context.Background(), tenant, addr)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// feedKey identifies a change: the same change twice is a duplicate.
func feedKey(c domain.Change) string {
	if c.Kind == domain.ChangeDelete {
		return "delete " + c.ItemID
	}
	return string(c.Kind) + " " + c.ItemID + " " + c.Item.ChangeKey
}

func assertNoDuplicates(t *testing.T, feed []domain.Change) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range feed {
		k := feedKey(c)
		if seen[k] {
			t.Fatalf("change %q appears twice in the feed", k)
		}
		seen[k] = true
	}
}

func idsOf(feed []domain.Change, kind domain.ChangeKind) []string {
	var ids []string
	for _, c := range feed {
		if c.Kind == kind {
			ids = append(ids, c.ItemID)
		}
	}
	slices.Sort(ids)
	return ids
}

const mbx = "alice@contoso.com"

func TestSyncFullThenDelta(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
	inbox := e.x.addItems(mbx, "inbox", 1500)
	e.x.addItems(mbx, "sentitems", 700)
	cal := e.x.addItems(mbx, "calendar", 500)
	e.x.addItems(mbx, "contacts", 300)
	e.x.addItems(mbx, "tasks", 50) // not selected: tasks are not synced

	res := e.mustSync("acme", mbx)
	feed := e.feed("acme", mbx)
	if len(feed) != 3000 || res.Appended != 3000 {
		t.Fatalf("full sync appended %d (feed %d), want 3000", res.Appended, len(feed))
	}
	want := e.x.liveItems(mbx, "inbox", "sentitems", "calendar", "contacts")
	if got := idsOf(feed, domain.ChangeCreate); !slices.Equal(got, want) {
		t.Fatalf("feed creates: %d items, want the mailbox's %d", len(got), len(want))
	}
	assertNoDuplicates(t, feed)
	if res.Folders != 4 || res.Status != domain.MailboxOK {
		t.Errorf("result %+v: want 4 folders, status ok", res)
	}
	// 1 hierarchy + 1 GetFolder + pages of 500 (inbox 3, sent 2, calendar
	// 1, contacts 1) + GetItem batches of 100 (15 + 7 + 5 + 3).
	if want := 1 + 1 + 7 + 30; res.EWSCalls != want {
		t.Errorf("full sync made %d EWS calls, want %d", res.EWSCalls, want)
	}
	if m := e.mailbox("acme", mbx); m.Status != domain.MailboxOK || m.LastSync.IsZero() {
		t.Errorf("mailbox after sync: status %q lastSync %v", m.Status, m.LastSync)
	}

	// Mutations between the runs: only they reach the feed.
	e.x.updateItem(mbx, inbox[10])
	e.x.updateItem(mbx, cal[3])
	e.x.deleteItem(mbx, inbox[20])
	newIDs := e.x.addItems(mbx, "inbox", 2)
	statesBefore, mailboxesBefore := e.store.writes()
	res = e.mustSync("acme", mbx)
	delta := e.feed("acme", mbx)[3000:]
	got := make([]string, 0, len(delta))
	for _, c := range delta {
		got = append(got, string(c.Kind)+" "+c.ItemID)
	}
	slices.Sort(got)
	wantDelta := []string{"create " + newIDs[0], "create " + newIDs[1], "delete " + inbox[20], "update " + cal[3], "update " + inbox[10]}
	slices.Sort(wantDelta)
	if !slices.Equal(got, wantDelta) {
		t.Fatalf("delta feed = %v, want %v", got, wantDelta)
	}
	if res.Appended != 5 {
		t.Errorf("delta appended %d, want 5", res.Appended)
	}
	states, mailboxes := e.store.writes()
	// One mailbox write: a sync that delivered changes moves lastSync.
	if states-statesBefore != 1 || mailboxes != mailboxesBefore+1 {
		t.Errorf("delta wrote %d checkpoints and %d mailbox records, want 1 and 1", states-statesBefore, mailboxes-mailboxesBefore)
	}

	// Nothing changed: no feed entry, no checkpoint write, no mailbox write.
	res = e.mustSync("acme", mbx)
	if s2, m2 := e.store.writes(); res.Appended != 0 || s2 != states || m2 != mailboxes {
		t.Errorf("idle run appended %d and wrote %d checkpoints, %d mailbox records; want none", res.Appended, s2-states, m2-mailboxes)
	}
	if res.EWSCalls != 5 { // hierarchy + 4 folders
		t.Errorf("idle run made %d EWS calls, want 5", res.EWSCalls)
	}
}

func TestNewFolderSyncedNextRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		folders []string
		parent  string
		synced  bool
	}{
		{"subfolder of inbox, default selection", nil, "inbox", true},
		{"folder under the root, selection all", []string{domain.FolderAll}, "deleteditems", true},
		{"subfolder of deleted items, default selection", nil, "deleteditems", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.addTenant("acme", domain.AccessImpersonation, tc.folders, mbx)
			e.x.addItems(mbx, "inbox", 10)
			e.mustSync("acme", mbx)

			f := e.x.addFolder(mbx, tc.parent, "Clients", "IPF.Note")
			ids := e.x.addItems(mbx, f, 25)
			res := e.mustSync("acme", mbx)
			got := idsOf(e.feed("acme", mbx)[10:], domain.ChangeCreate)
			if tc.synced {
				slices.Sort(ids)
				if !slices.Equal(got, ids) || res.Appended != 25 {
					t.Fatalf("new folder's items in feed: %d, want 25", len(got))
				}
			} else if len(got) != 0 {
				t.Fatalf("unselected folder's items reached the feed: %d", len(got))
			}
		})
	}
}

func TestUnreadableFolderReportedThenBackfilled(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessFolderDelegate, nil, mbx)
	e.x.addItems(mbx, "inbox", 40)
	cal := e.x.addItems(mbx, "calendar", 30)
	e.x.grantFolders(mbx, "inbox", "sentitems", "contacts") // calendar not shared

	res := e.mustSync("acme", mbx)
	if res.Appended != 40 {
		t.Fatalf("appended %d, want the 40 inbox items", res.Appended)
	}
	m := e.mailbox("acme", mbx)
	if !slices.Equal(m.UnreadableFolders, []string{"calendar"}) || !strings.Contains(m.Hint, "Folder calendar is not shared") {
		t.Fatalf("mailbox: unreadable %v hint %q; want calendar reported with a hint", m.UnreadableFolders, m.Hint)
	}
	if m.Status != domain.MailboxOK {
		t.Errorf("status %q: the readable folders sync, so the mailbox is ok", m.Status)
	}
	// Still unshared: retried, still reported, nothing rewritten.
	_, puts := e.store.writes()
	e.mustSync("acme", mbx)
	if _, puts2 := e.store.writes(); puts2 != puts {
		t.Errorf("unchanged status rewrote the mailbox record")
	}

	e.x.grantFolders(mbx, "inbox", "sentitems", "contacts", "calendar")
	res = e.mustSync("acme", mbx)
	if got := idsOf(e.feed("acme", mbx)[40:], domain.ChangeCreate); !slices.Equal(got, sorted(cal)) || res.Appended != 30 {
		t.Fatalf("backfill appended %d calendar items, want 30", res.Appended)
	}
	if m := e.mailbox("acme", mbx); len(m.UnreadableFolders) != 0 || m.Hint != "" {
		t.Errorf("after sharing: unreadable %v hint %q, want none", m.UnreadableFolders, m.Hint)
	}
}

func TestUnreadableUserFolderUnderAll(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessFolderDelegate, []string{domain.FolderAll}, mbx)
	f := e.x.addFolder(mbx, "inbox", "Private", "IPF.Note")
	e.x.addItems(mbx, f, 5)
	e.x.grantFolders(mbx, "inbox", "sentitems", "calendar", "contacts", "deleteditems")
	e.mustSync("acme", mbx)
	if m := e.mailbox("acme", mbx); !slices.Equal(m.UnreadableFolders, []string{"Private"}) {
		t.Fatalf("unreadable = %v, want [Private]", m.UnreadableFolders)
	}
	e.x.grantFolders(mbx, nil...)
	if res := e.mustSync("acme", mbx); res.Appended != 5 {
		t.Fatalf("backfill appended %d, want 5", res.Appended)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestInvalidSyncStateResyncsWithoutRepeats(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
	ids := e.x.addItems(mbx, "inbox", 600)
	e.mustSync("acme", mbx)

	e.x.invalidate(mbx) // every sync state of the mailbox, hierarchy included
	e.x.updateItem(mbx, ids[1])
	added := e.x.addItems(mbx, "inbox", 1)
	res := e.mustSync("acme", mbx)
	delta := e.feed("acme", mbx)[600:]
	var got []string
	for _, c := range delta {
		got = append(got, string(c.Kind)+" "+c.ItemID)
	}
	want := []string{"create " + added[0], "update " + ids[1]}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after resync the feed got %v, want only %v", got, want)
	}
	if res.Resyncs == 0 {
		t.Errorf("result reports no resync")
	}
	// The resync's new states work: the next run is incremental again.
	if res := e.mustSync("acme", mbx); res.Resyncs != 0 || res.Appended != 0 {
		t.Errorf("run after resync: %+v", res)
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, "a@acme.com")
	e.addTenant("globex", domain.AccessImpersonation, nil, "b@globex.com")
	e.x.addItems("b@globex.com", "inbox", 5)

	for _, tc := range []struct {
		name string
		job  domain.SyncJob
	}{
		{"mailbox of another tenant", domain.SyncJob{TenantID: "acme", Mailbox: "b@globex.com"}},
		{"unknown tenant", domain.SyncJob{TenantID: "nobody", Mailbox: "b@globex.com"}},
		{"malformed address", domain.SyncJob{TenantID: "acme", Mailbox: "not an address"}},
		{"empty tenant", domain.SyncJob{Mailbox: "a@acme.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.x.callCount()
			_, err := e.syncer.SyncMailbox(context.Background(), tc.job)
			if err == nil || !app.IsRejectedJob(err) {
				t.Fatalf("err = %v, want a rejected job", err)
			}
			if e.x.callCount() != before {
				t.Errorf("a refused job called Exchange")
			}
			if n := len(e.feed("acme", "b@globex.com")); n != 0 {
				t.Errorf("acme's feed got %d entries of globex's mailbox", n)
			}
		})
	}
	audit, _, err := e.bolt.ListAudit(context.Background(), "acme", domain.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || !strings.HasPrefix(audit[0].Result, "refused") || audit[0].Mailbox != "b@globex.com" {
		t.Errorf("acme audit = %+v, want the refusal", audit)
	}

	tn := e.tenant("acme")
	tn.Status = domain.TenantOffboarded
	if err := e.store.UpdateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sync("acme", "a@acme.com"); !app.IsRejectedJob(err) {
		t.Errorf("job of an offboarded tenant: err = %v, want rejected", err)
	}
}

func (e *env) tenant(id string) domain.Tenant {
	e.t.Helper()
	tn, err := e.store.GetTenant(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return tn
}

func TestAccessErrorsRecordedWithHint(t *testing.T) {
	for _, tc := range []struct {
		name       string
		setup      func(e *env)
		fallback   bool
		wantStatus domain.MailboxStatus
		wantMode   domain.AccessMode
		wantHint   string
		wantErr    bool
		wantFeed   int
	}{
		{name: "out of scope, no fallback", setup: func(e *env) { e.x.scope[mbx] = false },
			wantStatus: domain.MailboxOutOfScope, wantHint: "management scope"},
		{name: "out of scope, fallback to delegate", fallback: true,
			setup:      func(e *env) { e.x.scope[mbx] = false; e.x.grantFolders(mbx, nil...) },
			wantStatus: domain.MailboxOK, wantMode: domain.AccessDelegate, wantFeed: 3},
		{name: "out of scope, fallback without permission", fallback: true, setup: func(e *env) { e.x.scope[mbx] = false },
			wantStatus: domain.MailboxAccessDenied, wantHint: "FullAccess"},
		{name: "wrong password", setup: func(e *env) {
			_ = e.syncer.Secrets.PutCredential(context.Background(), "acme", domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "wrong"})
		}, wantStatus: domain.MailboxAuthFailed, wantHint: "PUT /tenants/acme/credentials"},
		{name: "no stored credentials", setup: func(e *env) { _ = e.syncer.Secrets.DeleteCredential(context.Background(), "acme") },
			wantStatus: domain.MailboxAuthFailed, wantHint: "store them with PUT /tenants/acme/credentials"},
		{name: "mailbox gone from Exchange", setup: func(e *env) { delete(e.x.mailboxes, mbx) },
			wantStatus: domain.MailboxNotFound, wantHint: "DELETE /tenants/acme/mailboxes/" + mbx},
		{name: "transient failure is retried by the queue", setup: func(e *env) {
			e.x.fault = func(string, string) error {
				return &domain.AccessError{Kind: domain.AccessTransient, Code: "ErrorMailboxStoreUnavailable"}
			}
		}, wantStatus: domain.MailboxError, wantHint: "answered with a temporary error", wantErr: true},
		{name: "network error is retried by the queue", setup: func(e *env) {
			// Unclassified (not Exchange's answer as the adapter reads it):
			// the mailbox is left as it was.
			e.x.fault = func(string, string) error { return context.DeadlineExceeded }
		}, wantStatus: domain.MailboxPending, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
			if tc.fallback {
				tn := e.tenant("acme")
				tn.AllowFallback = true
				if err := e.store.UpdateTenant(context.Background(), tn); err != nil {
					t.Fatal(err)
				}
			}
			e.x.addItems(mbx, "inbox", 3)
			tc.setup(e)
			res, err := e.sync("acme", mbx)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			var rl *app.RetryLater
			if errors.As(err, &rl) || app.IsRejectedJob(err) {
				t.Fatalf("err = %v: want a plain error for redelivery", err)
			}
			m := e.mailbox("acme", mbx)
			if m.Status != tc.wantStatus || !strings.Contains(m.Hint, tc.wantHint) {
				t.Errorf("mailbox status %q hint %q; want %q with %q", m.Status, m.Hint, tc.wantStatus, tc.wantHint)
			}
			if tc.wantMode != "" && (m.EffectiveMode != tc.wantMode || res.Mode != tc.wantMode || !res.FellBack) {
				t.Errorf("effective mode %q (result %q, fell back %v), want %q", m.EffectiveMode, res.Mode, res.FellBack, tc.wantMode)
			}
			if n := len(e.feed("acme", mbx)); n != tc.wantFeed {
				t.Errorf("feed has %d entries, want %d", n, tc.wantFeed)
			}
			audit, _, _ := e.bolt.ListAudit(context.Background(), "acme", domain.AuditQuery{Limit: 10})
			if len(audit) != 1 || audit[0].Operation != "sync" || audit[0].Mailbox != mbx || audit[0].AccessMode == "" || audit[0].Result == "" {
				t.Errorf("audit = %+v, want one sync entry with mode and result", audit)
			}
		})
	}
}

func TestFallbackModeRemembered(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
	tn := e.tenant("acme")
	tn.AllowFallback = true
	if err := e.store.UpdateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	e.x.scope[mbx] = false
	e.x.grantFolders(mbx, nil...)
	e.mustSync("acme", mbx)
	res := e.mustSync("acme", mbx)
	if res.Mode != domain.AccessDelegate || res.FellBack || res.EWSCalls != 5 {
		t.Errorf("second run: mode %q fellBack %v calls %d; want delegate directly, 5 calls", res.Mode, res.FellBack, res.EWSCalls)
	}
}

// TestCrashSafety kills a job at each step and reruns it: the feed holds
// every change exactly once.
func TestCrashSafety(t *testing.T) {
	t.Parallel() // slow (many jobs, each with store writes); independent of the others
	type crash struct {
		name  string
		arm   func(e *env, n int)
		calls int // how many positions to try
	}
	accessCrash := func(op string) func(e *env, n int) {
		return func(e *env, n int) {
			count := 0
			e.x.fault = func(o, _ string) error {
				if o == op {
					count++
					if count == n {
						e.store.kill()
						return errCrash
					}
				}
				return nil
			}
		}
	}
	storeCrash := func(point string) func(e *env, n int) {
		return func(e *env, n int) { e.store.crashAt, e.store.crashOnCall, e.store.crashCounter = point, n, 0 }
	}
	for _, c := range []crash{
		{"after fetch (GetItem fails after SyncFolderItems)", accessCrash("GetItem"), 9},
		{"after item store (half a batch stored)", storeCrash("apply-after"), 9},
		{"after feed append (batch stored, answer lost)", storeCrash("apply-lost"), 9},
		{"before item store", storeCrash("apply-before"), 9},
		{"before checkpoint", storeCrash("checkpoint"), 3},
		{"before ack (job done, ack lost)", func(*env, int) {}, 1},
		{"mid-job, no cleanup (process killed after the Nth page)", accessCrash("SyncFolderItems"), 6},
	} {
		for n := 1; n <= c.calls; n++ {
			t.Run(fmt.Sprintf("%s/%d", c.name, n), func(t *testing.T) {
				e := newEnv(t)
				e.syncer.PageSize = 100
				e.syncer.GetItemBatch = 50
				e.syncer.CheckpointEvery = 2
				e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
				ids := e.x.addItems(mbx, "inbox", 300)
				e.x.addItems(mbx, "calendar", 120)

				run := func() {
					c.arm(e, n)
					_, err := e.sync("acme", mbx)
					e.x.fault = nil
					e.store.revive()
					if err != nil && !errors.Is(err, errCrash) {
						t.Fatalf("first run: %v", err)
					}
					// The queue redelivers (also after a lost ack).
					e.mustSync("acme", mbx)
				}
				run()
				e.clock.Advance(5 * time.Minute)
				e.x.updateItem(mbx, ids[7])
				e.x.deleteItem(mbx, ids[8])
				e.x.addItems(mbx, "calendar", 3)
				run()

				feed := e.feed("acme", mbx)
				assertNoDuplicates(t, feed)
				if len(feed) != 420+3+2 {
					t.Fatalf("feed has %d entries, want %d", len(feed), 425)
				}
			})
		}
	}
}

// runToConvergence runs every job, requeueing those that ask to retry
// later, until all succeed. It returns how many requeues happened.
func (e *env) runToConvergence(tenant string, mailboxes []string) (requeues int) {
	e.t.Helper()
	queue := slices.Clone(mailboxes)
	tick := e.clock.Now().Truncate(time.Minute)
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		_, err := e.syncer.SyncMailbox(context.Background(), domain.SyncJob{TenantID: tenant, Mailbox: m, Tick: tick})
		var rl *app.RetryLater
		switch {
		case errors.As(err, &rl):
			if rl.After <= 0 {
				e.t.Fatalf("throttled job asks no delay")
			}
			requeues++
			queue = append(queue, m)
		case err != nil:
			e.t.Fatalf("sync %s: %v", m, err)
		}
		if requeues > 100000 {
			e.t.Fatal("no convergence")
		}
	}
	return requeues
}

// TestThrottleStorm: with 30% of calls answered ErrorServerBusy, jobs are
// requeued with the server's delay, resume where they stopped, and every
// mailbox converges within 1.5 times the calls of a calm run. The floor is
// 1/0.7 = 1.43x (each call fails 30% of the time); what matters is that no
// successful call is repeated, which the test checks separately.
func TestThrottleStorm(t *testing.T) {
	t.Parallel() // slow (many jobs, each with store writes); independent of the others
	const mailboxes = 100
	setup := func() (*env, []string) {
		e := newEnv(t)
		var addrs []string
		for i := range mailboxes {
			addrs = append(addrs, fmt.Sprintf("user%03d@contoso.com", i))
		}
		e.addTenant("acme", domain.AccessImpersonation, nil, addrs...)
		for _, a := range addrs {
			e.x.addItems(a, "inbox", 150)
			e.x.addItems(a, "sentitems", 30)
			e.x.addItems(a, "calendar", 30)
			e.x.addItems(a, "contacts", 20)
		}
		return e, addrs
	}
	mutate := func(e *env, addrs []string) {
		for i, a := range addrs {
			ids := e.x.liveItems(a, "inbox")
			e.x.updateItem(a, ids[i])
			e.x.deleteItem(a, ids[i+1])
			e.x.addItems(a, "calendar", 2)
		}
	}
	type run struct{ calls, throttled, requeues int }
	phase := func(e *env, addrs []string) run {
		c0, t0 := e.x.callCount(), e.throttled()
		rq := e.runToConvergence("acme", addrs)
		return run{e.x.callCount() - c0, e.throttled() - t0, rq}
	}

	calm, addrs := setup()
	calmInitial := phase(calm, addrs)
	mutate(calm, addrs)
	calm.clock.Advance(5 * time.Minute)
	calmDelta := phase(calm, addrs)

	storm, _ := setup()
	storm.x.fault = throttleRandomly(0.30, 42)
	stormInitial := phase(storm, addrs)
	mutate(storm, addrs)
	storm.clock.Advance(5 * time.Minute)
	stormDelta := phase(storm, addrs)

	for _, a := range addrs {
		if got, want := len(storm.feed("acme", a)), len(calm.feed("acme", a)); got != want {
			t.Fatalf("%s: storm feed %d entries, calm %d", a, got, want)
		}
		assertNoDuplicates(t, storm.feed("acme", a))
	}
	for _, p := range []struct {
		name        string
		calm, storm run
	}{{"initial sync", calmInitial, stormInitial}, {"delta tick", calmDelta, stormDelta}} {
		ratio := float64(p.storm.calls) / float64(p.calm.calls)
		repeated := p.storm.calls - p.storm.throttled - p.calm.calls
		t.Logf("throttle storm, %s of %d mailboxes: %d EWS calls (%d throttled, %d requeues) vs %d calm = %.3fx (bound 1.5x); successful calls repeated: %d",
			p.name, mailboxes, p.storm.calls, p.storm.throttled, p.storm.requeues, p.calm.calls, ratio, repeated)
		if ratio > 1.5 {
			t.Errorf("%s: %.3fx the calm calls, bound 1.5x", p.name, ratio)
		}
		if repeated > p.calm.calls/50 {
			t.Errorf("%s: %d successful calls repeated after requeues, want at most 2%%", p.name, repeated)
		}
	}
}

// TestThrottledJobResumes: a job throttled in the middle of a page returns
// RetryLater with the server's delay and checkpoints its progress; the
// retry repeats no successful call.
func TestThrottledJobResumes(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
	e.x.addItems(mbx, "inbox", 1000)
	getItems := 0
	e.x.fault = func(op, _ string) error {
		if op == "GetItem" {
			getItems++
			if getItems == 3 {
				return &domain.AccessError{Kind: domain.AccessThrottled, Code: "ErrorServerBusy", RetryAfter: 4200 * time.Millisecond}
			}
		}
		return nil
	}
	res, err := e.sync("acme", mbx)
	var rl *app.RetryLater
	if !errors.As(err, &rl) || rl.After != 4200*time.Millisecond {
		t.Fatalf("err = %v, want RetryLater after 4.2s", err)
	}
	if res.Throttled != 1 || res.Appended != 200 {
		t.Errorf("first run: throttled %d appended %d, want 1 and 200 (two batches)", res.Throttled, res.Appended)
	}
	// The mailbox says at once that Exchange is throttling it (and the
	// next successful sync clears it, checked below).
	if m := e.mailbox("acme", mbx); m.Status != domain.MailboxThrottled || m.LastError != "ErrorServerBusy" || m.Hint == "" {
		t.Errorf("after a throttled sync the mailbox is %q (%q, hint %q), want throttled with ErrorServerBusy and a hint", m.Status, m.LastError, m.Hint)
	}
	hier, inboxPages := e.x.calls["SyncFolderHierarchy"], e.x.calls["SyncFolderItems"]
	res = e.mustSync("acme", mbx)
	// Resumed: the rest of page one (3 batches), page two (1 + 5 batches),
	// then the other three folders; no hierarchy sync, no refetch of page one.
	if res.EWSCalls != 3+1+5+3 {
		t.Errorf("resumed run made %d calls, want 12", res.EWSCalls)
	}
	if e.x.calls["SyncFolderHierarchy"] != hier || e.x.calls["SyncFolderItems"]-inboxPages != 4 {
		t.Errorf("resumed run repeated the hierarchy sync or page one")
	}
	if n := len(e.feed("acme", mbx)); n != 1000 {
		t.Fatalf("feed %d, want 1000", n)
	}
	if m := e.mailbox("acme", mbx); m.Status != domain.MailboxOK || m.LastError != "" {
		t.Errorf("after the resumed sync the mailbox is %q (%q), want ok", m.Status, m.LastError)
	}
	// The resume marker is cleared once the job completes.
	st, _ := e.bolt.GetSyncState(context.Background(), "acme", mbx)
	if st.Resume != nil {
		t.Errorf("resume marker left after completion: %+v", st.Resume)
	}
}

func TestTimeBudgetContinues(t *testing.T) {
	e := newEnv(t)
	e.syncer.Budget = time.Second
	e.syncer.PageSize = 100
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
	e.x.addItems(mbx, "inbox", 450)
	pages := 0
	e.x.fault = func(op, _ string) error {
		if op == "SyncFolderItems" {
			pages++
			if pages == 2 {
				e.clock.Advance(2 * time.Second) // a slow server
			}
		}
		return nil
	}
	_, err := e.sync("acme", mbx)
	var rl *app.RetryLater
	if !errors.As(err, &rl) || rl.After != 0 {
		t.Fatalf("err = %v, want RetryLater with no delay", err)
	}
	if n := len(e.feed("acme", mbx)); n != 200 {
		t.Errorf("first job stored %d, want 200 (two pages)", n)
	}
	e.mustSync("acme", mbx)
	if n := len(e.feed("acme", mbx)); n != 450 {
		t.Errorf("after the continuation the feed has %d, want 450", n)
	}
}

// countingSecrets counts reads of the backing secret store.
type countingSecrets struct {
	mailboxtest.Secrets
	mu    sync.Mutex
	reads int
}

func (s *countingSecrets) GetCredential(ctx context.Context, id string) (domain.Credential, error) {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	return s.Secrets.GetCredential(ctx, id)
}

func TestSecretCacheAndRotation(t *testing.T) {
	e := newEnv(t)
	backing := &countingSecrets{}
	cache := secretcache.New(backing, time.Minute, e.clock)
	e.syncer.Secrets = cache
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx, "bob@contoso.com")
	e.x.addItems(mbx, "inbox", 3)

	e.mustSync("acme", mbx)
	e.mustSync("acme", "bob@contoso.com")
	if backing.reads != 1 {
		t.Errorf("two jobs of one tenant read the secret %d times, want 1", backing.reads)
	}
	e.clock.Advance(2 * time.Minute)
	e.mustSync("acme", mbx)
	if backing.reads != 2 {
		t.Errorf("after the TTL: %d reads, want 2", backing.reads)
	}

	// Rotated behind the cache's back (another process): Exchange rejects
	// the cached password, the job reads the new one and succeeds.
	e.x.password = "rotated"
	if err := backing.PutCredential(context.Background(), "acme", domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "rotated"}); err != nil {
		t.Fatal(err)
	}
	e.x.addItems(mbx, "inbox", 1)
	res := e.mustSync("acme", mbx)
	if res.Status != domain.MailboxOK || res.Appended != 1 {
		t.Fatalf("after rotation: status %q appended %d, want ok and 1", res.Status, res.Appended)
	}
	if m := e.mailbox("acme", mbx); m.Status != domain.MailboxOK {
		t.Errorf("mailbox status %q after rotation", m.Status)
	}
}

func TestDeadlineMarginContinues(t *testing.T) {
	e := newEnv(t)
	e.syncer.DeadlineMargin = time.Hour // any deadline is too close
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
	e.x.addItems(mbx, "inbox", 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, err := e.syncer.SyncMailbox(ctx, domain.SyncJob{TenantID: "acme", Mailbox: mbx, Tick: t0})
	var rl *app.RetryLater
	if !errors.As(err, &rl) || rl.After != 0 {
		t.Fatalf("err = %v, want RetryLater to continue at once", err)
	}
	e.syncer.DeadlineMargin = 0
	e.mustSync("acme", mbx)
	if n := len(e.feed("acme", mbx)); n != 10 {
		t.Errorf("feed %d, want 10", n)
	}
}

func TestNothingSharedIsAccessDenied(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessFolderDelegate, nil, mbx)
	e.x.addItems(mbx, "inbox", 3)
	// No grant at all: the tree is hidden and no folder is readable.
	res := e.mustSync("acme", mbx)
	m := e.mailbox("acme", mbx)
	if res.Status != domain.MailboxAccessDenied || m.Status != domain.MailboxAccessDenied || !strings.Contains(m.Hint, "FullAccess") {
		t.Fatalf("status %q hint %q, want access_denied with a hint", m.Status, m.Hint)
	}
	if !slices.Equal(m.UnreadableFolders, []string{"calendar", "contacts", "inbox", "sentitems"}) {
		t.Errorf("unreadable %v", m.UnreadableFolders)
	}
}

func TestSelectionAll(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, []string{domain.FolderAll}, mbx)
	e.x.addItems(mbx, "inbox", 2)
	e.x.addItems(mbx, "tasks", 4) // IPF.Task: not normalized, not synced
	projects := e.x.addFolder(mbx, "deleteditems", "Projects", "IPF.Note")
	e.x.addItems(mbx, projects, 3)
	holidays := e.x.addFolder(mbx, "calendar", "Holidays", "IPF.Appointment.Birthday")
	e.x.addItems(mbx, holidays, 5)
	e.mustSync("acme", mbx)
	kinds := map[domain.ItemKind]int{}
	for _, c := range e.feed("acme", mbx) {
		kinds[c.Item.Kind]++
	}
	if kinds[domain.KindMessage] != 5 || kinds[domain.KindCalendar] != 5 || len(kinds) != 2 {
		t.Errorf("feed kinds %v, want 5 messages (inbox, Projects) and 5 calendar items (Holidays), no tasks", kinds)
	}
}
