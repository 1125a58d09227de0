package app

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// DefaultTenantCacheTTL is how long a sync worker reuses a tenant record.
// It bounds how late a change to the tenant reaches the workers: an
// offboarded tenant's queued jobs still run for up to this long, and a new
// EWS URL, access mode or folder selection applies from then on.
const DefaultTenantCacheTTL = time.Minute

// TenantCache is a short-lived read-through cache of tenant records for
// the sync worker: a tick syncs many mailboxes of one tenant, and each
// strongly consistent read of the record is billed.
type TenantCache struct {
	Store TenantGetter
	TTL   time.Duration // default DefaultTenantCacheTTL
	Clock domain.Clock

	mu sync.Mutex
	m  map[string]cachedTenant
	// reads makes concurrent misses of one tenant share one read: a
	// worker starts a batch's hundred syncs at once, and without it each
	// would read the record while the cache is still empty.
	reads singleflight.Group
}

type cachedTenant struct {
	t       domain.Tenant
	expires time.Time
}

var _ TenantGetter = (*TenantCache)(nil)

// GetTenant returns the cached record or reads it through. Errors (a
// tenant not found included) are not cached.
func (c *TenantCache) GetTenant(ctx context.Context, id string) (domain.Tenant, error) {
	now := c.Clock.Now()
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.t, nil
	}
	v, err, _ := c.reads.Do(id, func() (any, error) { return c.Store.GetTenant(ctx, id) })
	if err != nil {
		return domain.Tenant{}, err
	}
	t := v.(domain.Tenant)
	ttl := c.TTL
	if ttl <= 0 {
		ttl = DefaultTenantCacheTTL
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cachedTenant{}
	}
	c.m[id] = cachedTenant{t: t, expires: now.Add(ttl)}
	c.mu.Unlock()
	return t, nil
}
