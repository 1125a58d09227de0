// Package storetest is the contract test suite every domain.Store adapter
// passes (shared/dynamostore against DynamoDB Local, shared/local/boltstore
// on disk). It asserts what callers rely on: optimistic concurrency,
// not-found and conflict sentinels, paging, tenant isolation and purging,
// expiry of audit entries, idempotency records and job progress, a change
// feed that holds every change exactly once, in order, under concurrent
// writers, and the immutable-id index that keeps moves and removals of
// EWS ids read over Graph right. RunCorruptRecords (corrupt.go) adds the
// contract for a stored record that does not decode: reported by its key,
// isolated from the tenant's other mailboxes.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Options are what the suite needs the adapter to be built with.
type Options struct {
	// Clock drives expiry (audit retention, idempotency TTL) and feed times.
	Clock domain.Clock
	// AuditRetention is how long audit entries are kept.
	AuditRetention time.Duration
	// FeedRetention is how long changes are kept in the feeds; 0 keeps
	// them all. The suite sets it only for its FeedRetention tests.
	FeedRetention time.Duration
}

// SuiteFeedRetention is the feed retention the FeedRetention tests run with.
const SuiteFeedRetention = 7 * 24 * time.Hour

// Start is the time the suite's clocks start at. It lies in the future so
// that a stand-in which really deletes expired items (DynamoDB Local runs
// TTL deletion) does not remove the suite's data behind its back.
var Start = time.Date(2046, 3, 2, 9, 0, 0, 0, time.UTC)

// Run runs the whole contract against stores made by newStore. Each call of
// newStore must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T, opts Options) domain.Store) {
	setupWith := func(feedRetention time.Duration) setupFunc {
		return func(t *testing.T) (domain.Store, *Clock) {
			t.Helper()
			clock := NewClock(Start)
			return newStore(t, Options{Clock: clock, AuditRetention: 30 * 24 * time.Hour, FeedRetention: feedRetention}), clock
		}
	}
	setup := setupWith(0)
	t.Run("Tenants", func(t *testing.T) { testTenants(t, setup) })
	t.Run("Mailboxes", func(t *testing.T) { testMailboxes(t, setup) })
	t.Run("SyncState", func(t *testing.T) { testSyncState(t, setup) })
	t.Run("ApplyChanges", func(t *testing.T) { testApplyChanges(t, setup) })
	t.Run("ReadFeed", func(t *testing.T) { testReadFeed(t, setup) })
	t.Run("FeedRestart", func(t *testing.T) { testFeedRestart(t, setup) })
	t.Run("FeedConcurrency", func(t *testing.T) { testFeedConcurrency(t, setup) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, setup) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, setup) })
	t.Run("WriteState", func(t *testing.T) { testWriteState(t, setup) })
	t.Run("PurgeTenant", func(t *testing.T) { testPurge(t, setup) })
	t.Run("Recovery", func(t *testing.T) { testRecovery(t, setup) })
	t.Run("ImmutableIndex", func(t *testing.T) { testImmutableIndex(t, setup) })
	t.Run("JobProgress", func(t *testing.T) { testJobProgress(t, setup) })
	t.Run("RoomMarks", func(t *testing.T) { testRoomMarks(t, setup) })
	t.Run("SyncSnapshots", func(t *testing.T) { testSyncSnapshots(t, setup) })
	t.Run("Items", func(t *testing.T) { testItems(t, setup) })
	t.Run("InitialSync", func(t *testing.T) { testInitialSync(t, setup) })
	t.Run("FeedRetention", func(t *testing.T) { testFeedRetention(t, setupWith(SuiteFeedRetention)) })
}

type setupFunc func(t *testing.T) (domain.Store, *Clock)

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code domain.ErrorCode, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	if got := domain.ErrorCodeOf(err); got != code {
		t.Fatalf("%s: error %v has code %s, want %s", what, err, got, code)
	}
	switch code {
	case domain.CodeNotFound:
		if !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("%s: error %v does not wrap domain.ErrNotFound", what, err)
		}
	case domain.CodeConflict:
		if !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("%s: error %v does not wrap domain.ErrConflict", what, err)
		}
	}
}

func tenant(id string) domain.Tenant {
	return domain.Tenant{
		ID:                    id,
		DisplayName:           "Tenant " + id,
		EWSURL:                "https://mail." + id + ".example/EWS/Exchange.asmx",
		ExchangeVersion:       domain.DefaultExchangeVersion,
		AuthKind:              domain.AuthNTLM,
		AccessMode:            domain.AccessImpersonation,
		AllowFallback:         true,
		Folders:               domain.DefaultFolders,
		SyncInterval:          domain.DefaultSyncInterval,
		MaxConcurrentJobs:     domain.DefaultMaxConcurrentJobs,
		Status:                domain.TenantActive,
		CredentialFingerprint: "sha256:0011223344556677",
		CreatedAt:             Start,
		UpdatedAt:             Start,
	}
}

func mailbox(tenantID, addr string, status domain.MailboxStatus) domain.Mailbox {
	return domain.Mailbox{TenantID: tenantID, Address: addr, Status: status, UpdatedAt: Start}
}

func addrs(ms []domain.Mailbox) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Address
	}
	return out
}

// Create is a change creating message id with change key ck, for a
// store's own tests beyond the contract.
func Create(id, ck string) domain.ItemChange { return create(id, ck) }

func message(id, ck string) *domain.Item {
	read := false
	return &domain.Item{
		ID: id, ChangeKey: ck, Kind: domain.KindMessage, FolderID: "inbox-id",
		Subject:  "Subject of " + id + " at " + ck,
		From:     &domain.Address{Name: "Ann", Email: "ann@example.com"},
		To:       []domain.Address{{Email: "bob@example.com"}},
		Received: Start, Sent: Start.Add(-time.Minute), Preview: "hello", IsRead: &read,
	}
}

func create(id, ck string) domain.ItemChange {
	return domain.ItemChange{Kind: domain.ChangeCreate, ItemID: id, ChangeKey: ck, Item: message(id, ck)}
}

func update(id, ck string) domain.ItemChange {
	return domain.ItemChange{Kind: domain.ChangeUpdate, ItemID: id, ChangeKey: ck, Item: message(id, ck)}
}

func del(id string) domain.ItemChange {
	return domain.ItemChange{Kind: domain.ChangeDelete, ItemID: id}
}

// listAll pages through a List call with the given page size: list reads
// the page after cursor ("" for the first). Every page must keep to the
// limit, and the paging must end.
func listAll[T any](t *testing.T, what string, limit int, list func(cursor string) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	cursor := ""
	for range 1000 {
		page, next, err := list(cursor)
		must(t, err)
		if len(page) > limit {
			t.Fatalf("%s: page of %d for limit %d", what, len(page), limit)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		cursor = next
	}
	t.Fatalf("%s: paging does not end", what)
	return nil
}

// readAll pages through a feed with the given page size.
func readAll(t *testing.T, s domain.Store, q domain.FeedQuery, limit int) ([]domain.Change, string) {
	t.Helper()
	var all []domain.Change
	q.Limit = limit
	for i := 0; ; i++ {
		page, next, err := s.ReadFeed(ctx, q)
		must(t, err)
		if len(page) > limit {
			t.Fatalf("ReadFeed returned %d changes for limit %d", len(page), limit)
		}
		all = append(all, page...)
		if len(page) == 0 {
			if next != q.Cursor {
				t.Fatalf("empty page moved the cursor from %q to %q", q.Cursor, next)
			}
			return all, next
		}
		q.Cursor = next
		if i > 100000 {
			t.Fatal("feed never ends")
		}
	}
}

// summary renders changes as "kind itemID" lines for comparison.
func summary(cs []domain.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %s %s", c.Mailbox, c.Kind, c.ItemID)
		if c.Item != nil {
			out[i] += " " + c.Item.ChangeKey
		}
	}
	return out
}
