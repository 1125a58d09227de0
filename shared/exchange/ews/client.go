package ews

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mailbridge/mailbridge/shared/platform/netfail"
	"github.com/mailbridge/mailbridge/shared/platform/redact"
	"github.com/mailbridge/mailbridge/shared/platform/retryafter"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// Defaults for Config.
const (
	DefaultVersion          = "Exchange2016"
	DefaultMaxResponseBytes = 32 << 20
	DefaultTimeout          = 60 * time.Second
	DefaultUserAgent        = "mailbridge-ews/1"
)

// Versions are the RequestServerVersion values the schema accepts
// (ExchangeVersionType).
var Versions = []string{
	"Exchange2007", "Exchange2007_SP1", "Exchange2009", "Exchange2010", "Exchange2010_SP1",
	"Exchange2010_SP2", "Exchange2012", "Exchange2013", "Exchange2013_SP1", "Exchange2015",
	"Exchange2016", "V2015_10_05", "V2016_01_06", "V2016_04_13", "V2016_07_13", "V2016_10_10",
	"V2017_01_07", "V2017_04_14", "V2017_07_11",
}

// Clock is the time source; domain.Clock satisfies it.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config configures a Client.
type Config struct {
	URL     string // EWS endpoint, e.g. https://outlook.office365.com/EWS/Exchange.asmx
	Version string // RequestServerVersion; default Exchange2016
	Auth    Authenticator
	// URLGuard checks the address of every connection the client opens
	// (to Exchange and to the OAuth token endpoint), after DNS resolution.
	// An endpoint URL is tenant input: without the check a URL, or a DNS
	// change after it was registered, could point the client and its
	// credentials at loopback, the cloud metadata service or the
	// deployment's private network. Required; a local simulator needs
	// urlguard.Policy{DevLoopback: true}.
	URLGuard *urlguard.Policy
	// HTTPClient supplies transport settings (pool sizes, dial hooks). Its
	// Transport must be an *http.Transport (nil: the default one); the
	// client uses a clone of it, without its proxy and with every
	// connection checked by URLGuard, wrapped with Auth (NTLM uses clones
	// of it, see NTLMConnections). Its Timeout and redirect policy are not
	// used. Optional.
	HTTPClient *http.Client
	// RootCAs trusts a private CA (on-premises Exchange). Only used when
	// HTTPClient is nil.
	RootCAs *x509.CertPool
	// MaxResponseBytes bounds a response body; default 32 MiB.
	MaxResponseBytes int64
	// Timeout bounds each call, on top of the caller's context; default 60s.
	Timeout time.Duration
	// NTLMConnections is, for NTLM only, how many calls run at once, each
	// on a connection of its own (NTLM authenticates a connection); more
	// calls wait for one, within their Timeout. Default
	// DefaultNTLMConnections. Other auth kinds use the transport's pool.
	NTLMConnections int
	Trace           *Tracer // optional request/response recorder
	UserAgent       string
	Clock           Clock // used to read Retry-After dates; default system clock
}

// Client calls one EWS endpoint with one set of credentials. It is safe
// for concurrent use and never retries: every failure is returned as an
// *Error for the caller to Classify.
type Client struct {
	url       string
	version   string
	hc        *http.Client
	maxBytes  int64
	timeout   time.Duration
	trace     *Tracer
	userAgent string
	clock     Clock
	// red scrubs the credential, in every form, from everything the client
	// reports: a server or proxy may echo the Authorization header back.
	red *redact.Redactor
	// serverVersion is the last ServerVersionInfo seen (see ServerVersion).
	serverVersion atomic.Pointer[ServerVersion]
}

// New validates cfg and builds a Client. It does no network I/O.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("ews: URL %q must be an absolute http(s) URL", cfg.URL)
	}
	if u.User != nil {
		return nil, errors.New("ews: URL must not contain credentials; use Config.Auth")
	}
	if cfg.Auth == nil {
		return nil, errors.New("ews: Config.Auth is required")
	}
	if cfg.URLGuard == nil {
		return nil, errors.New("ews: Config.URLGuard is required: every connection to a tenant's endpoint must be checked " +
			"(urlguard.Policy{DevLoopback: true} allows a local simulator)")
	}
	c := &Client{
		url:       u.String(),
		version:   cfg.Version,
		maxBytes:  cfg.MaxResponseBytes,
		timeout:   cfg.Timeout,
		trace:     cfg.Trace,
		userAgent: cfg.UserAgent,
		clock:     cfg.Clock,
	}
	if c.version == "" {
		c.version = DefaultVersion
	}
	if !validVersion(c.version) {
		return nil, fmt.Errorf("ews: unknown Exchange version %q (want one of %s)", c.version, strings.Join(Versions, ", "))
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxResponseBytes
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if c.clock == nil {
		c.clock = systemClock{}
	}
	base, err := baseTransport(cfg)
	if err != nil {
		return nil, err
	}
	c.red = redact.New(nil)
	if s, ok := cfg.Auth.(interface{ redactor() *redact.Redactor }); ok {
		c.red = s.redactor()
	}
	var rt http.RoundTripper
	if a, ok := cfg.Auth.(*ntlmAuth); ok {
		rt = a.pooled(base, cfg.NTLMConnections)
	} else {
		rt = cfg.Auth.RoundTripper(base)
	}
	c.hc = &http.Client{
		Transport: rt,
		// EWS does not redirect; following one would send credentials to
		// wherever the redirect points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// AtLeast reports whether RequestServerVersion v (empty: DefaultVersion)
// is min or later, so a caller asks only for properties the tenant's
// Exchange knows (an older server rejects the whole request otherwise).
func AtLeast(v, min string) bool {
	if v == "" {
		v = DefaultVersion
	}
	return slices.Index(Versions, v) >= slices.Index(Versions, min) && slices.Index(Versions, min) >= 0
}

func validVersion(v string) bool {
	for _, s := range Versions {
		if s == v {
			return true
		}
	}
	return false
}

// baseTransport builds the transport every call and token request goes
// through: the caller's *http.Transport cloned, or a default one, always
// without a proxy (the guard would check the proxy's address instead of
// Exchange's) and with every connection checked by cfg.URLGuard.
func baseTransport(cfg Config) (http.RoundTripper, error) {
	var tr *http.Transport
	if cfg.HTTPClient != nil {
		if cfg.RootCAs != nil {
			return nil, errors.New("ews: set RootCAs on HTTPClient's transport, not in Config, when HTTPClient is given")
		}
		switch rt := cfg.HTTPClient.Transport.(type) {
		case nil:
			tr = http.DefaultTransport.(*http.Transport).Clone()
			tr.DialContext = nil
		case *http.Transport:
			if rt.TLSClientConfig != nil && rt.TLSClientConfig.InsecureSkipVerify {
				return nil, errors.New("ews: refusing an HTTP client that skips TLS verification; use RootCAs for a private CA")
			}
			if rt.DialTLSContext != nil {
				return nil, errors.New("ews: refusing an HTTP client with its own DialTLSContext: the URL guard could not check its connections")
			}
			tr = rt.Clone()
		default:
			return nil, fmt.Errorf("ews: HTTPClient.Transport is a %T; only an *http.Transport can have its connections checked by the URL guard", rt)
		}
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = nil
		tr.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		// NTLM authenticates a connection, not a request; HTTP/2
		// multiplexing breaks it, so stay on HTTP/1.1 for every auth kind.
		tr.ForceAttemptHTTP2 = false
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	tr.Proxy = nil
	tr.DialContext = guardedDial(cfg.URLGuard, tr.DialContext)
	return tr, nil
}

// dialFunc is http.Transport's DialContext.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// guardedDial returns a dial function whose every connection the guard
// allowed. Without a caller's dial function the guard's own dialer refuses
// a forbidden address before connecting; a caller's dial function (a dial
// hook) is checked on the address it connected to, and that connection is
// closed before anything is sent on it.
func guardedDial(g *urlguard.Policy, dial dialFunc) dialFunc {
	if dial == nil {
		return g.Dialer(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := g.Control(network, addr, nil); err != nil && isIPAddrPort(addr) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := g.Control(network, conn.RemoteAddr().String(), nil); err != nil {
			_ = conn.Close()
			return nil, &net.OpError{Op: "dial", Net: network, Addr: conn.RemoteAddr(), Err: err}
		}
		return conn, nil
	}
}

func isIPAddrPort(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && net.ParseIP(host) != nil
}

// call sends one operation and returns the element inside soap:Body. SOAP
// faults, HTTP errors and malformed bodies come back as *Error. It is the
// one way out of the client for what a server said, so it is where that
// text is scrubbed of credentials and bounded: every *Error it returns is
// sealed, and the MessageText of each response message too.
func (c *Client) call(ctx context.Context, op string, t Target, req any) (elem, error) {
	res, e := c.roundTrip(ctx, op, t, req)
	if e != nil {
		return elem{}, c.seal(e)
	}
	c.sealMessages(res)
	return res, nil
}

// seal scrubs and bounds every text field of e.
func (c *Client) seal(e *Error) *Error {
	e.ResponseCode = c.red.Clean(e.ResponseCode, redact.MaxCode)
	e.FaultCode = c.red.Clean(e.FaultCode, redact.MaxCode)
	e.FaultString = c.red.Clean(e.FaultString, redact.MaxDetail)
	e.Message = c.red.Clean(e.Message, redact.MaxDetail)
	e.Body = c.red.Clean(e.Body, redact.MaxDetail)
	e.Err = c.red.Error(e.Err)
	return e
}

// sealMessages scrubs, in place, the texts of the response messages that
// did not succeed: they become *Error values outside call (respMsg.err).
// A Success message's code and text never leave the layer, so a page of
// successful items costs one pass over the nodes and no scrubbing.
func (c *Client) sealMessages(res elem) {
	if !res.ok() {
		return
	}
	for i := range res.t.nodes {
		m := elem{res.t, int32(i)}
		if cls := m.attr("ResponseClass"); cls == "" || cls == "Success" {
			continue
		}
		for n := range m.children() {
			switch p := &res.t.nodes[n.i]; p.name {
			case "MessageText":
				p.text = c.red.Clean(p.text, redact.MaxDetail)
			case "ResponseCode":
				p.text = c.red.Clean(p.text, redact.MaxCode)
			}
		}
	}
}

func (c *Client) roundTrip(ctx context.Context, op string, t Target, req any) (elem, *Error) {
	body, err := marshalEnvelope(c.version, t, req)
	if err != nil {
		return elem{}, &Error{Layer: LayerTransport, Op: op, Message: "encoding request", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return elem{}, &Error{Layer: LayerTransport, Op: op, Message: "building request", Err: err}
	}
	hreq.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hreq.Header.Set("Accept", "text/xml")
	hreq.Header.Set("User-Agent", c.userAgent)
	hreq.Header.Set("SOAPAction", nsMessages+"/"+op)
	if t.Mailbox != "" {
		// Routes the request to the mailbox's server; Exchange Online
		// requires it with impersonation and it keeps delegate calls on
		// the right backend.
		hreq.Header.Set("X-AnchorMailbox", t.Mailbox)
	}

	start := c.clock.Now()
	resp, err := c.hc.Do(hreq)
	if err != nil {
		e := &Error{Layer: LayerTransport, Op: op, Message: "request failed", Err: c.red.Error(err)}
		c.trace.record(c, op, hreq, body, nil, nil, e, c.clock.Now().Sub(start))
		return elem{}, e
	}
	defer resp.Body.Close()
	data, readErr := c.readBody(resp)
	if readErr != nil {
		e := &Error{Layer: LayerTransport, Op: op, HTTPStatus: resp.StatusCode, Message: "reading response", Err: readErr}
		c.trace.record(c, op, hreq, body, resp, data, e, c.clock.Now().Sub(start))
		return elem{}, e
	}
	res, e := c.interpret(op, resp, data)
	if e != nil {
		c.trace.record(c, op, hreq, body, resp, data, e, c.clock.Now().Sub(start))
		return elem{}, e
	}
	// Not passing e here: a nil *Error in an error parameter is not nil.
	c.trace.record(c, op, hreq, body, resp, data, nil, c.clock.Now().Sub(start))
	c.noteServerVersion(res)
	return res, nil
}

func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > c.maxBytes {
		return nil, fmt.Errorf("%w: Content-Length %d > %d bytes", ErrResponseTooLarge, resp.ContentLength, c.maxBytes)
	}
	data, err := readAllSized(io.LimitReader(resp.Body, c.maxBytes+1), resp.ContentLength, c.maxBytes)
	if err != nil {
		// A connection cut mid-body is worth retrying.
		return data, fmt.Errorf("%w: %w", errTruncated, err)
	}
	if int64(len(data)) > c.maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, c.maxBytes)
	}
	return data, nil
}

// readAllSized is io.ReadAll with the buffer sized from the announced
// length (bounded by max), so a body is read into one allocation instead of
// a doubling series (a sync's responses are most of its allocations). A
// wrong Content-Length only costs growth: the read still goes to EOF.
func readAllSized(r io.Reader, announced, max int64) ([]byte, error) {
	if announced <= 0 || announced > max {
		return io.ReadAll(r)
	}
	// One byte more, so reading EOF does not grow a full buffer.
	b := make([]byte, 0, announced+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append pick the growth
		}
	}
}

// interpret turns an HTTP response into the operation element or an error.
func (c *Client) interpret(op string, resp *http.Response, data []byte) (elem, *Error) {
	status := resp.StatusCode
	if status == http.StatusOK || status == http.StatusInternalServerError {
		res, fault, err := parseEnvelope(data)
		switch {
		case fault != nil:
			// Exchange names its build in the header of faults too.
			c.noteServerVersion(fault.el)
			return elem{}, fault.toError(op, status)
		case err == nil && status == http.StatusOK:
			return res, nil
		case err != nil && status == http.StatusOK:
			e := &Error{Layer: LayerTransport, Op: op, HTTPStatus: status, Err: err}
			switch {
			case len(bytes.TrimSpace(data)) == 0:
				e.Err = ErrEmptyBody
			case errors.Is(err, errTruncated):
				// A SOAP answer cut short: its start says nothing.
			case netfail.IsHTML(data):
				e.Err, e.Body = ErrHTMLPage, netfail.Describe(resp.Header.Get("Content-Type"), data)
			default:
				e.Body = netfail.Describe(resp.Header.Get("Content-Type"), data)
			}
			return elem{}, e
		}
		// HTTP 500 without a fault: fall through to the status error.
	}
	e := &Error{Layer: LayerTransport, Op: op, HTTPStatus: status, Message: http.StatusText(status), Body: netfail.Describe(resp.Header.Get("Content-Type"), data)}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		e.BackOff = parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
	}
	// Exchange Online explains 401/403 in x-ms-diagnostics, e.g.
	// `2000008;reason="The token has expired."`. It never holds secrets.
	if d := resp.Header.Get("X-Ms-Diagnostics"); d != "" {
		e.Message += ": " + truncate(d, 300)
	}
	return elem{}, e
}

// parseRetryAfter reads delta-seconds or an HTTP date, at most a day;
// anything else is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	return retryafter.Parse(v, now, 24*time.Hour)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
