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
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/readcache"
)

// DefaultTTL is how long a credential is served from memory.
const DefaultTTL = 5 * time.Minute

// Cache is a domain.SecretStore that caches GetCredential.
type Cache struct {
	inner domain.SecretStore
	cache *readcache.Cache[domain.Credential]
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
	return &Cache{inner: inner, cache: readcache.New[domain.Credential](ttl, clock.Now)}
}

// GetCredential serves a cached credential younger than the TTL, or reads
// the store (one read for concurrent callers) and caches what it returns.
// A read that began before a Put, Delete or Forget is not cached.
func (c *Cache) GetCredential(ctx context.Context, tenantID string) (domain.Credential, error) {
	return c.cache.Get(ctx, tenantID, func(ctx context.Context) (domain.Credential, error) {
		return c.inner.GetCredential(ctx, tenantID)
	})
}

// PutCredential writes through and drops the cached entry, whether or not
// the write succeeded (a failed write may still have landed).
func (c *Cache) PutCredential(ctx context.Context, tenantID string, cred domain.Credential) error {
	defer c.cache.Forget(tenantID)
	return c.inner.PutCredential(ctx, tenantID, cred)
}

// DeleteCredential deletes through and drops the cached entry.
func (c *Cache) DeleteCredential(ctx context.Context, tenantID string) error {
	defer c.cache.Forget(tenantID)
	return c.inner.DeleteCredential(ctx, tenantID)
}

// Forget drops the tenant's cached credential, so the next read goes to
// the store: the sync use case calls it when Exchange rejects a cached
// credential, to pick up a rotation done in another process at once.
func (c *Cache) Forget(tenantID string) { c.cache.Forget(tenantID) }
