package app_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// countingTenants counts the tenant reads that reach the store.
type countingTenants struct {
	store app.TenantGetter
	mu    sync.Mutex
	reads int
}

func (c *countingTenants) GetTenant(ctx context.Context, id string) (domain.Tenant, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.store.GetTenant(ctx, id)
}

func TestTenantCacheOffboardingWithinTTL(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
	reads := &countingTenants{store: e.store}
	e.syncer.Tenants = &app.TenantCache{Store: reads, Clock: e.clock, TTL: time.Minute}

	e.mustSync("acme", mbx)
	e.mustSync("acme", mbx)
	if reads.reads != 1 {
		t.Errorf("two jobs within the TTL read the tenant %d times, want 1", reads.reads)
	}
	if _, err := e.sync("nobody", mbx); !app.IsRejectedJob(err) {
		t.Errorf("unknown tenant: err = %v, want rejected", err)
	}

	tn := e.tenant("acme")
	tn.Status = domain.TenantOffboarded
	if err := e.store.UpdateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	// Documented: offboarding reaches a worker within the TTL.
	e.clock.Advance(59 * time.Second)
	if _, err := e.sync("acme", mbx); err != nil {
		t.Errorf("within the TTL the cached record still syncs: %v", err)
	}
	e.clock.Advance(2 * time.Second)
	if _, err := e.sync("acme", mbx); !app.IsRejectedJob(err) {
		t.Errorf("after the TTL: err = %v, want the offboarded tenant refused", err)
	}
}

// staleStore answers the next GetSyncState with an old checkpoint, as an
// eventually consistent read may.
type staleStore struct {
	domain.Store
	stale *domain.SyncState
}

func (s *staleStore) GetSyncState(ctx context.Context, tenantID, mailbox string) (domain.SyncState, error) {
	if st := s.stale; st != nil {
		s.stale = nil
		return *st, nil
	}
	return s.Store.GetSyncState(ctx, tenantID, mailbox)
}

func TestStaleCheckpointReadIsRetried(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
	e.x.addItems(mbx, "inbox", 30)
	first, err := e.store.GetSyncState(ctx, "acme", mbx) // before any sync: version 0
	if err != nil {
		t.Fatal(err)
	}
	e.mustSync("acme", mbx)
	newIDs := e.x.addItems(mbx, "inbox", 2)

	stale := &staleStore{Store: e.store, stale: &first}
	e.syncer.Store = stale
	_, err = e.sync("acme", mbx)
	var later *app.RetryLater
	if !errors.As(err, &later) || later.After != app.ConflictRetryDelay || app.IsRejectedJob(err) {
		t.Fatalf("sync on a stale checkpoint: err = %v, want RetryLater after %v", err, app.ConflictRetryDelay)
	}
	// The retry reads afresh and finishes; the feed holds every item once.
	res, err := e.sync("acme", mbx)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	feed := e.feed("acme", mbx)
	assertNoDuplicates(t, feed)
	if len(feed) != 32 {
		t.Fatalf("feed has %d entries, want 32 (30 + 2 new)", len(feed))
	}
	last := []string{feed[30].ItemID, feed[31].ItemID}
	slices.Sort(last)
	slices.Sort(newIDs)
	if !slices.Equal(last, newIDs) {
		t.Errorf("feed ends with %v, want the new items %v", last, newIDs)
	}
	if res.Appended != 0 {
		t.Errorf("the retry appended %d, want 0 (the stale run stored the new items)", res.Appended)
	}
	audit, _, err := e.bolt.ListAudit(ctx, "acme", domain.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 3 || !strings.HasSuffix(audit[1].Result, "(checkpoint not saved: retried)") {
		t.Errorf("audit = %+v, want one entry per job (3), the stale run's saying it is retried", audit)
	}
}

// gatedTenants holds every read until released.
type gatedTenants struct {
	countingTenants
	entered chan struct{}
	release chan struct{}
}

func (g *gatedTenants) GetTenant(ctx context.Context, id string) (domain.Tenant, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.countingTenants.GetTenant(ctx, id)
}

// A worker starts a batch's syncs at once: while the cache is empty they
// must share one read of the tenant, not each pay for their own.
func TestTenantCacheSharesConcurrentMisses(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
	// In a synctest bubble, synctest.Wait returns once every caller is
	// blocked: in the cache waiting for the shared read, or (were misses
	// not shared) in a read of their own. No sleep guessing how long the
	// callers take to get there.
	synctest.Test(t, func(t *testing.T) {
		g := &gatedTenants{countingTenants: countingTenants{store: e.store}, entered: make(chan struct{}, 100), release: make(chan struct{})}
		cache := &app.TenantCache{Store: g, Clock: e.clock}
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, err := cache.GetTenant(context.Background(), "acme"); err != nil {
					t.Error(err)
				}
			})
		}
		<-g.entered
		synctest.Wait()
		close(g.release)
		wg.Wait()
		if g.reads != 1 {
			t.Fatalf("50 concurrent misses read the tenant %d times, want 1", g.reads)
		}
	})
}

// A job syncs from a snapshot read when its message began, possibly
// seconds before: the status it records goes onto the record as it is
// then, so an admin's override made meanwhile stays and a mailbox deleted
// meanwhile stays deleted.
func TestStaleSnapshotKeepsAdminChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(e *env, m domain.Mailbox)
		check  func(t *testing.T, e *env)
	}{
		{"override set meanwhile", func(e *env, m domain.Mailbox) {
			m.EWSURL = "https://mail2.example.com/EWS/Exchange.asmx"
			if err := e.store.PutMailbox(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, e *env) {
			got, err := e.store.GetMailbox(context.Background(), "acme", mbx)
			if err != nil {
				t.Fatal(err)
			}
			if got.EWSURL != "https://mail2.example.com/EWS/Exchange.asmx" || got.Status != domain.MailboxOK {
				t.Fatalf("record %+v: want the admin's URL kept and the sync's status recorded", got)
			}
		}},
		{"deleted meanwhile", func(e *env, m domain.Mailbox) {
			if err := e.store.DeleteMailbox(context.Background(), "acme", mbx); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, e *env) {
			if _, err := e.store.GetMailbox(context.Background(), "acme", mbx); !domain.IsNotFound(err) {
				t.Fatalf("after the sync: %v, want the deleted mailbox to stay deleted", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
			e.x.addItems(mbx, "inbox", 3)
			ctx := context.Background()
			m, err := e.store.GetMailbox(ctx, "acme", mbx)
			if err != nil {
				t.Fatal(err)
			}
			st, err := e.store.GetSyncState(ctx, "acme", mbx)
			if err != nil {
				t.Fatal(err)
			}
			snap := &domain.SyncSnapshot{Mailbox: m, Found: true, State: st}
			tc.change(e, m)
			job := domain.SyncJob{TenantID: "acme", Mailbox: mbx, Tick: e.clock.Now().Truncate(time.Minute)}
			if _, err := e.syncer.SyncMailboxWith(ctx, job, snap); err != nil {
				t.Fatal(err)
			}
			tc.check(t, e)
		})
	}
}
