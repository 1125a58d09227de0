package ewsaccess

import (
	"sync"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// ClientCache holds one EWS client per tenant, endpoint, credential and
// Exchange version, so a warm Lambda reuses connections and OAuth tokens.
// A rotated credential has a new memory key and so gets a new client. The
// sync path (Connector), the calendar writer and the access probe each
// keep one. It is safe for concurrent use.
type ClientCache struct {
	opts    Options
	max     int
	mu      sync.Mutex
	clients map[clientKey]*ews.Client
}

type clientKey struct{ tenant, url, memKey, version string }

// NewClientCache returns a cache building clients with opts. Past max
// clients it starts afresh: a process serves a bounded set of tenants, so
// this is a safety valve, not an eviction policy.
func NewClientCache(opts Options, max int) *ClientCache {
	return &ClientCache{opts: opts, max: max, clients: map[clientKey]*ews.Client{}}
}

// For binds the cache to one tenant and credential, fingerprinting the
// credential once rather than on every call.
func (c *ClientCache) For(t domain.Tenant, cred domain.Credential) TenantClients {
	return TenantClients{cache: c, tenant: t, cred: cred, memKey: cred.MemoryKey()}
}

// TenantClients are one tenant's clients, one per endpoint.
type TenantClients struct {
	cache  *ClientCache
	tenant domain.Tenant
	cred   domain.Credential
	memKey string
}

// Client returns the client for url (the tenant's EWS URL or a mailbox's
// override), building it on first use.
func (tc TenantClients) Client(url string) (*ews.Client, error) {
	c, t := tc.cache, tc.tenant
	k := clientKey{t.ID, url, tc.memKey, t.ExchangeVersion}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[k]; ok {
		return cl, nil
	}
	cl, err := newClient(t, tc.cred, url, c.opts)
	if err != nil {
		return nil, err
	}
	if len(c.clients) >= c.max {
		clear(c.clients)
	}
	c.clients[k] = cl
	return cl, nil
}

// Target returns the client for m's endpoint (its override, else the
// tenant's) and the EWS target for its access mode. A client that cannot be
// built is a permanent *domain.AccessError.
func (tc TenantClients) Target(m domain.MailboxRef) (*ews.Client, ews.Target, error) {
	url := m.EWSURL
	if url == "" {
		url = tc.tenant.EWSURL
	}
	cl, err := tc.Client(url)
	if err != nil {
		return nil, ews.Target{}, &domain.AccessError{Kind: domain.AccessPermanent, Code: "ClientConfig", Err: err}
	}
	mode := ews.ModeImpersonation
	if m.Mode.Delegated() {
		mode = ews.ModeDelegate
	}
	return cl, ews.Target{Mailbox: m.Address, Mode: mode}, nil
}
