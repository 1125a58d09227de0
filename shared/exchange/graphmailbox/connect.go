package graphmailbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
	"github.com/mailbridge/mailbridge/shared/platform/redact"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// Defaults for Options.
const (
	DefaultPageSize      = 100
	DefaultCalendarBack  = 30 * 24 * time.Hour
	DefaultCalendarAhead = 365 * 24 * time.Hour
	DefaultCalendarSlack = 7 * 24 * time.Hour
	// DefaultMaxClients bounds the client cache; past it the cache starts
	// afresh (a process serves a bounded set of tenants, so this is a
	// safety valve, not an eviction policy).
	DefaultMaxClients = 1024
)

// Options configure a Connector.
type Options struct {
	// URLGuard checks the address of every connection, the token
	// requests' included: a tenant's Graph endpoint and authority are
	// tenant input. Required: without it Connect refuses every tenant.
	URLGuard *urlguard.Policy
	// RootCAs trusts a private CA (the simulator); nil: the system's.
	RootCAs          *x509.CertPool
	MaxResponseBytes int64         // 0: the client's default
	Timeout          time.Duration // per HTTP exchange; 0: the client's default
	// PageSize caps Prefer: odata.maxpagesize of a delta call (the sync
	// use case's max may lower it); 0: DefaultPageSize.
	PageSize int
	// The calendar's rolling window (see the package doc).
	CalendarBack, CalendarAhead, CalendarSlack time.Duration
	Clock                                      domain.Clock
	Logger                                     *slog.Logger
	UserAgent                                  string
	// MaxClients bounds the client cache; 0: DefaultMaxClients.
	MaxClients int
	// BodyFormat is the form of message bodies read (domain.BodyFormatText
	// or BodyFormatHTML); Connect sets the tenant's. Empty: text.
	BodyFormat string
}

func (o *Options) defaults() {
	if o.BodyFormat != domain.BodyFormatHTML {
		o.BodyFormat = domain.BodyFormatText
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	o.PageSize = min(o.PageSize, 1000)
	if o.CalendarBack <= 0 {
		o.CalendarBack = DefaultCalendarBack
	}
	if o.CalendarAhead <= 0 {
		o.CalendarAhead = DefaultCalendarAhead
	}
	if o.CalendarSlack <= 0 {
		o.CalendarSlack = DefaultCalendarSlack
	}
	if o.Clock == nil {
		o.Clock = domain.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
}

// Connector opens Graph tenants' mailbox readers, calendar writers and
// access checks over one cache of clients. It is safe for concurrent use.
type Connector struct {
	opts      Options
	transport *http.Transport // URL-guarded; nil without Options.URLGuard
	mu        sync.Mutex
	// One client per tenant, credential and endpoint: a warm Lambda reuses
	// connections and the OAuth token; a rotated credential has a new
	// memory key and so a new client.
	clients map[clientKey]*graph.Client
	// attachments keeps the attachment lists the Graph sync read, so a
	// job retried after throttling reads only the lists it lacks
	// (content.go).
	attachments attachmentCache
}

type clientKey struct{ tenant, memKey, endpoint string }

var (
	_ domain.Connector         = (*Connector)(nil)
	_ domain.CalendarConnector = (*Connector)(nil)
	_ domain.AccessChecker     = (*Connector)(nil)
)

// NewConnector returns a Connector building clients with o.
func NewConnector(o Options) *Connector {
	o.defaults()
	c := &Connector{opts: o, clients: map[clientKey]*graph.Client{}}
	if o.URLGuard != nil {
		tr := o.URLGuard.Transport()
		// A worker syncs up to a hundred mailboxes of one tenant at once,
		// all on one Graph host: keep their connections for reuse (over
		// HTTP/1.1 the default of 2 idle per host makes most requests pay
		// a new TLS handshake; Graph itself speaks HTTP/2).
		tr.MaxIdleConnsPerHost = 128
		tr.ForceAttemptHTTP2 = true
		if o.RootCAs != nil {
			tr.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
		}
		c.transport = tr
	}
	return c
}

// errNoGuard: a connector built without a URL guard connects nowhere.
var errNoGuard = errors.New("graphmailbox: Options.URLGuard is required: every connection to a tenant's endpoint must be checked")

// Connect implements domain.Connector. It does no network I/O.
func (c *Connector) Connect(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.MailboxAccess, error) {
	cl, err := c.client(t, cred)
	if err != nil {
		return nil, err
	}
	acc := NewAccess(cl, c.windowed(t), t.Folders)
	acc.ewsIDs = t.IDFormatOf() == domain.IDFormatEWS
	acc.attachments = &c.attachments
	return acc, nil
}

// windowed is the connector's options with the tenant's calendar window,
// where the tenant sets one (the operator's choice per customer; the
// options' defaults otherwise), and the tenant's body format.
func (c *Connector) windowed(t domain.Tenant) Options {
	o := c.opts
	o.BodyFormat = t.BodyFormatOf()
	if d := t.CalendarWindow.PastDays; d > 0 {
		o.CalendarBack = time.Duration(d) * 24 * time.Hour
	}
	if d := t.CalendarWindow.FutureDays; d > 0 {
		o.CalendarAhead = time.Duration(d) * 24 * time.Hour
	}
	return o
}

// ConnectCalendar implements domain.CalendarConnector. It does no network I/O.
func (c *Connector) ConnectCalendar(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.CalendarWriter, error) {
	cl, err := c.client(t, cred)
	if err != nil {
		return nil, err
	}
	return &Writer{cl: cl, ewsIDs: t.IDFormatOf() == domain.IDFormatEWS}, nil
}

// client returns the cached client of (tenant, credential, endpoint),
// building it on first use. A tenant or credential no client can be built
// from is a permanent *domain.AccessError that names no secret.
func (c *Connector) client(t domain.Tenant, cred domain.Credential) (*graph.Client, error) {
	k := clientKey{t.ID, cred.MemoryKey(), t.GraphEndpoint()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[k]; ok {
		return cl, nil
	}
	if c.transport == nil {
		return nil, &domain.AccessError{Kind: domain.AccessPermanent, Code: "ClientConfig", Err: errNoGuard}
	}
	cl, err := c.newClient(t, cred)
	if err != nil {
		return nil, &domain.AccessError{Kind: domain.AccessPermanent, Code: "ClientConfig", Err: errors.New(scrub(err.Error(), cred))}
	}
	if len(c.clients) >= c.opts.MaxClients {
		clear(c.clients)
	}
	c.clients[k] = cl
	return cl, nil
}

func (c *Connector) newClient(t domain.Tenant, cred domain.Credential) (*graph.Client, error) {
	endpoint := t.GraphEndpoint()
	oc := graph.OAuthConfig{Authority: cred.Authority, Tenant: cred.EntraTenant, ClientID: cred.ClientID,
		Scopes: []string{ScopeFor(endpoint)}, Transport: c.transport}
	var auth graph.Authenticator
	var err error
	switch cred.Kind {
	case domain.AuthOAuthSecret:
		auth, err = graph.OAuthClientSecret(oc, cred.ClientSecret)
	case domain.AuthOAuthCert:
		auth, err = graph.OAuthCertificate(oc, []byte(cred.CertPEM), []byte(cred.KeyPEM))
	default:
		// Graph takes no basic or NTLM credentials.
		return nil, fmt.Errorf("graphmailbox: Microsoft Graph needs an Entra app credential (oauth_secret or oauth_cert), not %q", cred.Kind)
	}
	if err != nil {
		return nil, err
	}
	return graph.New(graph.Config{BaseURL: endpoint, Auth: auth, Transport: c.transport,
		MaxResponseBytes: c.opts.MaxResponseBytes, Timeout: c.opts.Timeout, Clock: c.opts.Clock, UserAgent: c.opts.UserAgent})
}

// graphHosts are the Graph hosts of Microsoft's clouds, whose tokens carry
// their own audience.
var graphHosts = map[string]bool{
	"graph.microsoft.com":             true, // worldwide
	"graph.microsoft.us":              true, // US Government GCC High
	"dod-graph.microsoft.us":          true, // US Government DoD
	"microsoftgraph.chinacloudapi.cn": true, // operated by 21Vianet
}

// ScopeFor is the app-only token scope for a Graph endpoint: the national
// cloud's Graph host + /.default, and graph.DefaultScope for any other
// host (the simulator, a test server), which speaks for the worldwide
// audience.
func ScopeFor(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return graph.DefaultScope
	}
	h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if graphHosts[h] {
		return "https://" + h + "/.default"
	}
	return graph.DefaultScope
}

// scrub removes the credential's secrets from s, belt and braces: the
// client keeps them out of its errors already.
func scrub(s string, c domain.Credential) string {
	return redact.ForCredential(c).Clean(s, redact.MaxDetail)
}
