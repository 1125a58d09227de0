package mailboxtest

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// Harness is the real sync use case over an Env: app.Syncer into a bbolt
// store in a temporary directory, with the tenant, its credential and its
// mailboxes registered.
type Harness struct {
	T      testing.TB
	Env    Env
	Store  *boltstore.Store
	Syncer *app.Syncer
	Clock  *storetest.Clock
}

// NewHarness registers env's tenant and mailboxes in a fresh store.
func NewHarness(t testing.TB, env Env) *Harness {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Minute)
	clock := storetest.NewClock(now)
	dbPath := filepath.Join(t.TempDir(), "store.db")
	secretscan.WatchFile(t, dbPath) // read when the test ends, for the package's secret scan
	bs, err := boltstore.Open(dbPath, boltstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	secrets := &Secrets{}
	ctx := context.Background()
	tn := env.Tenant
	tn.Status, tn.CreatedAt, tn.UpdatedAt = domain.TenantActive, now, now
	if err := bs.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if err := secrets.PutCredential(ctx, tn.ID, env.Credential); err != nil {
		t.Fatal(err)
	}
	for _, m := range env.Mailboxes {
		if err := bs.AddMailbox(ctx, domain.Mailbox{TenantID: tn.ID, Address: m, Status: domain.MailboxPending, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	return &Harness{T: t, Env: env, Store: bs, Clock: clock, Syncer: &app.Syncer{
		Store: bs, Secrets: secrets, Connector: env.Connector, Content: env.Content, Clock: clock,
		Log: secretscan.Logger(),
	}}
}

// Job is a sync job for m at the clock's minute.
func (h *Harness) Job(m string) domain.SyncJob {
	return domain.SyncJob{TenantID: h.Env.Tenant.ID, Mailbox: m, Tick: h.Clock.Now().Truncate(time.Minute)}
}

// Sync runs one job for m.
func (h *Harness) Sync(m string) (app.SyncResult, error) {
	res, err := h.Syncer.SyncMailbox(context.Background(), h.Job(m))
	if err != nil {
		secretscan.Capture(secretscan.Answers, "sync error", []byte(err.Error()))
	}
	return res, err
}

// MustSync runs one job for m and fails the test on an error.
func (h *Harness) MustSync(m string) app.SyncResult {
	h.T.Helper()
	res, err := h.Sync(m)
	if err != nil {
		h.T.Fatalf("sync %s: %v", m, err)
	}
	return res
}

// Feed reads m's whole change feed.
func (h *Harness) Feed(m string) []domain.Change {
	h.T.Helper()
	var all []domain.Change
	cursor := ""
	for {
		cs, next, err := h.Store.ReadFeed(context.Background(), domain.FeedQuery{TenantID: h.Env.Tenant.ID, Mailbox: m, Cursor: cursor, Limit: 1000})
		if err != nil {
			h.T.Fatal(err)
		}
		all = append(all, cs...)
		if len(cs) == 0 || next == cursor {
			return all
		}
		cursor = next
	}
}

// ID is the protocol's id of the simulator's item simID.
func (h *Harness) ID(simID string) string {
	h.T.Helper()
	id, err := h.Env.ItemID(simID)
	if err != nil {
		h.T.Fatalf("item id of %s: %v", simID, err)
	}
	return id
}

// SimIDs lists the simulator's ids of m's items in the given folders
// (distinguished names or folder ids), in id order.
func (h *Harness) SimIDs(m string, folders ...string) []string {
	h.T.Helper()
	var ids []string
	for _, f := range folders {
		refs, err := h.Env.Sim.ListItems(m, f)
		if err != nil {
			h.T.Fatal(err)
		}
		for _, r := range refs {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// IDs is SimIDs in the protocol's ids, in id order.
func (h *Harness) IDs(m string, folders ...string) []string {
	h.T.Helper()
	var ids []string
	for _, s := range h.SimIDs(m, folders...) {
		ids = append(ids, h.ID(s))
	}
	slices.Sort(ids)
	return ids
}

// SyncedFolders are the folders a tenant with the default selection
// syncs.
var SyncedFolders = []string{domain.FolderInbox, domain.FolderSentItems, domain.FolderCalendar, domain.FolderContacts}

// FeedKey identifies a change: the same change twice is a duplicate.
func FeedKey(c domain.Change) string {
	if c.Kind == domain.ChangeDelete {
		return "delete " + c.ItemID
	}
	return string(c.Kind) + " " + c.ItemID + " " + c.Item.ChangeKey
}

// Duplicates lists the changes that appear more than once in feed.
func Duplicates(feed []domain.Change) []string {
	seen := map[string]int{}
	var dups []string
	for _, c := range feed {
		k := FeedKey(c)
		if seen[k]++; seen[k] == 2 {
			dups = append(dups, k)
		}
	}
	return dups
}

// IDsOf lists the item ids of feed's changes of kind, in id order.
func IDsOf(feed []domain.Change, kind domain.ChangeKind) []string {
	var ids []string
	for _, c := range feed {
		if c.Kind == kind {
			ids = append(ids, c.ItemID)
		}
	}
	slices.Sort(ids)
	return ids
}

// Changes renders feed as "kind id" lines in order, for comparison.
func Changes(feed []domain.Change) []string {
	out := make([]string, 0, len(feed))
	for _, c := range feed {
		out = append(out, string(c.Kind)+" "+c.ItemID)
	}
	return out
}

// Secrets is a domain.SecretStore in memory.
type Secrets struct {
	mu sync.Mutex
	m  map[string]domain.Credential
}

// PutCredential stores c for tenant id.
func (s *Secrets) PutCredential(_ context.Context, id string, c domain.Credential) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]domain.Credential{}
	}
	s.m[id] = c
	return nil
}

// GetCredential returns tenant id's credential, domain.ErrNotFound if none.
func (s *Secrets) GetCredential(_ context.Context, id string) (domain.Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[id]
	if !ok {
		return domain.Credential{}, domain.ErrNotFound
	}
	return c, nil
}

// DeleteCredential forgets tenant id's credential.
func (s *Secrets) DeleteCredential(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}
