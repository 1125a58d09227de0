package app

import (
	"context"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// DefaultSecretCacheTTL is how long a worker reuses a tenant's credential
// before reading Secrets Manager again (each read is billed, and a tick
// syncs many mailboxes of the same tenant).
const DefaultSecretCacheTTL = 5 * time.Minute

// SecretCache is a short-lived read-through cache in front of a
// SecretStore. Writes go through and drop the cached entry. The sync use
// case calls Forget when Exchange rejects a cached credential, so a
// rotation is picked up at once rather than after the TTL.
type SecretCache struct {
	Store domain.SecretStore
	TTL   time.Duration // default DefaultSecretCacheTTL
	Clock domain.Clock

	mu sync.Mutex
	m  map[string]cachedSecret
}

type cachedSecret struct {
	c       domain.Credential
	expires time.Time
}

var _ domain.SecretStore = (*SecretCache)(nil)

// GetCredential returns the cached credential or reads it through.
// Not-found answers are not cached.
func (s *SecretCache) GetCredential(ctx context.Context, tenantID string) (domain.Credential, error) {
	now := s.Clock.Now()
	s.mu.Lock()
	e, ok := s.m[tenantID]
	s.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.c, nil
	}
	c, err := s.Store.GetCredential(ctx, tenantID)
	if err != nil {
		return c, err
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultSecretCacheTTL
	}
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]cachedSecret{}
	}
	s.m[tenantID] = cachedSecret{c: c, expires: now.Add(ttl)}
	s.mu.Unlock()
	return c, nil
}

// PutCredential writes through and drops the cached entry.
func (s *SecretCache) PutCredential(ctx context.Context, tenantID string, c domain.Credential) error {
	s.Forget(tenantID)
	return s.Store.PutCredential(ctx, tenantID, c)
}

// DeleteCredential writes through and drops the cached entry.
func (s *SecretCache) DeleteCredential(ctx context.Context, tenantID string) error {
	s.Forget(tenantID)
	return s.Store.DeleteCredential(ctx, tenantID)
}

// Forget drops the tenant's cached credential.
func (s *SecretCache) Forget(tenantID string) {
	s.mu.Lock()
	delete(s.m, tenantID)
	s.mu.Unlock()
}

// forgetter is what the sync asks of a caching SecretStore.
type forgetter interface{ Forget(tenantID string) }
