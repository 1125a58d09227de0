package ewsmailbox

// connect.go owns the EWS clients: one per tenant, endpoint, credential and
// Exchange version, built with the URL guard, and the EWS target an access
// mode addresses.

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// Options configure the EWS clients the adapters build.
type Options struct {
	// URLGuard checks every connection's address (required: ews.New
	// refuses a client without one). Production passes the deployment's
	// policy; the local run and tests against the simulator one that
	// allows loopback.
	URLGuard *urlguard.Policy
	// HTTPClient supplies transport settings (pool sizes); optional. Its
	// connections are checked by URLGuard all the same.
	HTTPClient       *http.Client
	RootCAs          *x509.CertPool // private CA for on-premises Exchange
	Timeout          time.Duration  // per call; 0 = the client's default
	MaxResponseBytes int64          // 0 = the client's default
	Trace            *ews.Tracer    // on-demand request/response recording
	Clock            ews.Clock
	UserAgent        string
}

// newClient builds an EWS client for one tenant endpoint and credential.
// url is the tenant's EWS URL or a mailbox's override.
func newClient(t domain.Tenant, c domain.Credential, url string, o Options) (*ews.Client, error) {
	auth, err := authenticator(c)
	if err != nil {
		return nil, err
	}
	return ews.New(ews.Config{
		URL: url, Version: t.ExchangeVersion, Auth: auth, URLGuard: o.URLGuard, HTTPClient: o.HTTPClient, RootCAs: o.RootCAs,
		MaxResponseBytes: o.MaxResponseBytes, Timeout: o.Timeout, Trace: o.Trace, Clock: o.Clock, UserAgent: o.UserAgent,
	})
}

// authenticator maps a stored credential to the client's auth. Errors
// never quote the secret.
func authenticator(c domain.Credential) (ews.Authenticator, error) {
	switch c.Kind {
	case domain.AuthBasic:
		return ews.BasicAuth(c.Username, c.Password), nil
	case domain.AuthNTLM:
		return ews.NTLMAuth(c.Username, c.Password, c.Domain), nil
	case domain.AuthOAuthSecret:
		return ews.OAuthClientSecret(c.Authority, c.EntraTenant, c.ClientID, c.ClientSecret)
	case domain.AuthOAuthCert:
		return ews.OAuthCertificate(c.Authority, c.EntraTenant, c.ClientID, []byte(c.CertPEM), []byte(c.KeyPEM))
	}
	return nil, fmt.Errorf("ewsmailbox: unknown auth kind %q", c.Kind)
}

// ClientCache holds one EWS client per tenant, endpoint, credential and
// Exchange version, so a warm Lambda reuses connections and OAuth tokens.
// A rotated credential has a new memory key and so gets a new client. The
// sync path (Connector), the calendar writer and the access checker each
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
		return nil, ews.Target{}, clientConfigError(err)
	}
	return cl, target(m.Address, m.Mode), nil
}

// target is the EWS addressing of an access mode: the ExchangeImpersonation
// header for impersonation, the mailbox inside the folder ids for either
// delegate mode.
func target(mailbox string, mode domain.AccessMode) ews.Target {
	if mode.Delegated() {
		return ews.Target{Mailbox: mailbox, Mode: ews.ModeDelegate}
	}
	return ews.Target{Mailbox: mailbox, Mode: ews.ModeImpersonation}
}
