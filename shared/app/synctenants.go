// synctenants.go owns the sync worker's short-lived cache of tenant
// records.

package app

import (
	"context"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/readcache"
)

// DefaultTenantCacheTTL is how long a sync worker reuses a tenant record.
// It bounds how late a change to the tenant reaches the workers: an
// offboarded tenant's queued jobs still run for up to this long, and a new
// EWS URL, access mode or folder selection applies from then on.
const DefaultTenantCacheTTL = time.Minute

// TenantCache is a short-lived read-through cache of tenant records for
// the sync worker: a tick syncs many mailboxes of one tenant, and each
// strongly consistent read of the record is billed. Concurrent misses of
// one tenant share one read. Errors (not found included) are not cached.
type TenantCache struct {
	Store TenantGetter
	TTL   time.Duration // default DefaultTenantCacheTTL
	Clock domain.Clock

	once  sync.Once
	cache *readcache.Cache[domain.Tenant]
}

var _ TenantGetter = (*TenantCache)(nil)

// GetTenant returns the cached record or reads it through.
func (c *TenantCache) GetTenant(ctx context.Context, id string) (domain.Tenant, error) {
	c.once.Do(func() {
		ttl := c.TTL
		if ttl <= 0 {
			ttl = DefaultTenantCacheTTL
		}
		c.cache = readcache.New[domain.Tenant](ttl, c.Clock.Now)
	})
	return c.cache.Get(ctx, id, func(ctx context.Context) (domain.Tenant, error) { return c.Store.GetTenant(ctx, id) })
}
