// Package secretcache puts a short-lived in-memory cache in front of a
// domain.SecretStore: a worker syncing many mailboxes of one tenant reads
// the tenant's secret once per TTL instead of once per job (Secrets Manager
// charges $0.05 per 10,000 calls and throttles), while a rotated or deleted
// credential stops being used within the TTL at the latest, and at once in
// the process that rotated it.
//
// Only successful reads are cached; errors (not found included) always go
// to the store, so a tenant onboarded a moment ago is seen at once.
package secretcache

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// DefaultTTL is how long a credential is served from memory.
const DefaultTTL = 5 * time.Minute

// Cache is a domain.SecretStore that caches GetCredential.
type Cache struct {
	inner domain.SecretStore
	ttl   time.Duration
	clock domain.Clock

	mu      sync.Mutex
	entries map[string]entry
	// gen counts invalidations per tenant, so a read that started before
	// a Put or Delete cannot put the old credential back after it.
	gen map[string]uint64
	// reads makes concurrent misses of one tenant share one read: a sync
	// worker starts a hundred syncs of a tenant at once.
	reads singleflight.Group
}

type entry struct {
	cred    domain.Credential
	expires time.Time
}

var _ domain.SecretStore = (*Cache)(nil)

// New wraps inner. A ttl of zero or less means DefaultTTL; a nil clock the
// system clock.
func New(inner domain.SecretStore, ttl time.Duration, clock domain.Clock) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if clock == nil {
		clock = domain.SystemClock{}
	}
	return &Cache{inner: inner, ttl: ttl, clock: clock, entries: map[string]entry{}, gen: map[string]uint64{}}
}

// GetCredential serves a cached credential younger than the TTL, or reads
// the store and caches what it returns.
func (c *Cache) GetCredential(ctx context.Context, tenantID string) (domain.Credential, error) {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.entries[tenantID]
	gen := c.gen[tenantID]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.cred, nil
	}
	// The key carries the generation, so a read that began before an
	// invalidation is never shared with a caller after it.
	v, err, _ := c.reads.Do(tenantID+"\x00"+strconv.FormatUint(gen, 10), func() (any, error) {
		return c.inner.GetCredential(ctx, tenantID)
	})
	if err != nil {
		return domain.Credential{}, err
	}
	cred := v.(domain.Credential)
	c.mu.Lock()
	if c.gen[tenantID] == gen {
		c.entries[tenantID] = entry{cred: cred, expires: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return cred, nil
}

// PutCredential writes through and drops the cached entry, whether or not
// the write succeeded (a failed write may still have landed).
func (c *Cache) PutCredential(ctx context.Context, tenantID string, cred domain.Credential) error {
	defer c.invalidate(tenantID)
	return c.inner.PutCredential(ctx, tenantID, cred)
}

// DeleteCredential deletes through and drops the cached entry.
func (c *Cache) DeleteCredential(ctx context.Context, tenantID string) error {
	defer c.invalidate(tenantID)
	return c.inner.DeleteCredential(ctx, tenantID)
}

// Forget drops the tenant's cached credential, so the next read goes to
// the store: the sync use case calls it when Exchange rejects a cached
// credential, to pick up a rotation done in another process at once.
func (c *Cache) Forget(tenantID string) { c.invalidate(tenantID) }

func (c *Cache) invalidate(tenantID string) {
	c.mu.Lock()
	delete(c.entries, tenantID)
	c.gen[tenantID]++
	c.mu.Unlock()
}
