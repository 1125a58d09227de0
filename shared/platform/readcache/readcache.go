// Package readcache is the read-through cache with a TTL that the sync
// worker keeps in front of billed reads (tenant records, Secrets Manager
// credentials). Concurrent misses of one key share one read (a worker
// starts a hundred syncs of a tenant at once), errors are not cached, and
// a read that began before Forget never puts its value back after it.
package readcache

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache caches values of type V by key. The zero value is not usable:
// make one with New.
type Cache[V any] struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]entry[V]
	// gen counts Forgets per key: a read that began before one is neither
	// shared with later callers nor stored.
	gen   map[string]uint64
	reads singleflight.Group
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// New returns a cache keeping each value for ttl by the clock now.
func New[V any](ttl time.Duration, now func() time.Time) *Cache[V] {
	return &Cache[V]{ttl: ttl, now: now, entries: map[string]entry[V]{}, gen: map[string]uint64{}}
}

// Get returns the value cached for key if younger than the TTL, or calls
// load (once for all concurrent callers of the key) and caches its value.
func (c *Cache[V]) Get(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	gen := c.gen[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	got, err, _ := c.reads.Do(key+"\x00"+strconv.FormatUint(gen, 10), func() (any, error) { return load(ctx) })
	if err != nil {
		var zero V
		return zero, err
	}
	v := got.(V)
	c.mu.Lock()
	if c.gen[key] == gen {
		c.entries[key] = entry[V]{v: v, expires: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return v, nil
}

// Forget drops key's value, so the next Get loads it again.
func (c *Cache[V]) Forget(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.gen[key]++
	c.mu.Unlock()
}
