package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/platform/netfail"
	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// Defaults for Config.
const (
	DefaultBaseURL            = "https://graph.microsoft.com/v1.0"
	DefaultMaxResponseBytes   = 32 << 20
	DefaultTimeout            = 60 * time.Second
	DefaultMailboxConcurrency = 4 // Outlook's limit per app per mailbox
	DefaultUserAgent          = "mailbridge-graph/1"
)

// Clock is the time source; domain.Clock satisfies it.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config configures a Client.
type Config struct {
	// BaseURL is the Graph endpoint including the version; default
	// DefaultBaseURL. National clouds (graph.microsoft.us, ...) and the
	// simulator override it. Requests go to its scheme and host only.
	BaseURL string
	Auth    Authenticator
	// Transport sends the requests; production passes the URL-guarded
	// transport (urlguard.Policy.Transport). Default: a clone of
	// http.DefaultTransport requiring TLS 1.2.
	Transport http.RoundTripper
	// MaxResponseBytes bounds a response body; default 32 MiB.
	MaxResponseBytes int64
	// Timeout bounds each HTTP exchange (not the wait for a mailbox slot),
	// on top of the caller's context; default 60s.
	Timeout time.Duration
	// MailboxConcurrency caps the calls in flight per mailbox; default 4.
	MailboxConcurrency int
	// MailboxQuota caps the requests per mailbox in any 10 minutes
	// (quota.go); default DefaultMailboxQuota, Outlook's limit.
	MailboxQuota int
	Clock        Clock // reads Retry-After dates; default system clock
	UserAgent    string
	// NewRequestID makes client-request-id values; default a random UUID.
	NewRequestID func() string
}

// Client calls Microsoft Graph for one tenant's Entra app. It is safe for
// concurrent use and never retries: every failure is an *Error for the
// caller to Classify.
type Client struct {
	base      *url.URL // scheme, host and version path, no trailing slash
	baseStr   string
	auth      Authenticator
	hc        *http.Client
	maxBytes  int64
	timeout   time.Duration
	clock     Clock
	userAgent string
	newID     func() string
	// red scrubs the app's secrets and the tokens sent, in every form,
	// from everything the client reports (a proxy may echo headers back).
	red     *redact.Redactor
	limiter *mailboxLimiter
	quota   *mailboxQuota
}

// New validates cfg and builds a Client. It does no network I/O.
func New(cfg Config) (*Client, error) {
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("graph: BaseURL %q must be an absolute http(s) URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("graph: BaseURL %q must not carry credentials, a query or a fragment", raw)
	}
	if cfg.Auth == nil {
		return nil, errors.New("graph: Config.Auth is required")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c := &Client{
		base:      u,
		baseStr:   u.String(),
		auth:      cfg.Auth,
		maxBytes:  cfg.MaxResponseBytes,
		timeout:   cfg.Timeout,
		clock:     cfg.Clock,
		userAgent: cfg.UserAgent,
		newID:     cfg.NewRequestID,
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxResponseBytes
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.clock == nil {
		c.clock = systemClock{}
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if c.newID == nil {
		c.newID = newUUID
	}
	n := cfg.MailboxConcurrency
	if n <= 0 {
		n = DefaultMailboxConcurrency
	}
	c.limiter = newMailboxLimiter(n)
	qn := cfg.MailboxQuota
	if qn <= 0 {
		qn = DefaultMailboxQuota
	}
	c.quota = newMailboxQuota(qn)
	c.red = redact.New(nil)
	if s, ok := cfg.Auth.(interface{ redactor() *redact.Redactor }); ok {
		c.red = s.redactor()
	}
	rt := cfg.Transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		rt = tr
	} else if tr, ok := rt.(*http.Transport); ok && tr.TLSClientConfig != nil && tr.TLSClientConfig.InsecureSkipVerify {
		return nil, errors.New("graph: refusing a transport that skips TLS verification")
	}
	c.hc = &http.Client{
		Transport: rt,
		// Graph does not redirect API calls; following one would send the
		// token wherever the redirect points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// BaseURL is the endpoint the client calls (for logs and adapters).
func (c *Client) BaseURL() string { return c.baseStr }

// MailboxConcurrency is how many calls to one mailbox the client lets run
// at once (Config.MailboxConcurrency).
func (c *Client) MailboxConcurrency() int { return c.limiter.max }

// request is one HTTP exchange.
type request struct {
	op      string
	method  string
	url     string // absolute, on the base host
	mailbox string // limiter key and ImmutableId preference; "" for directory calls
	body    any    // marshalled as JSON when non-nil
	// pageSize > 0 sends Prefer: odata.maxpagesize.
	pageSize int
	// slots is how many of the mailbox's slots the request holds: a
	// $batch's sub-requests run up to 4 at once and Outlook counts each;
	// 0 means 1.
	slots  int
	header http.Header // extra headers
}

// response is a successful (2xx) answer.
type response struct {
	status          int
	header          http.Header
	body            []byte
	requestID       string
	clientRequestID string
}

// path joins escaped segments onto the base URL.
func (c *Client) path(segments ...string) string {
	var sb strings.Builder
	sb.WriteString(c.baseStr)
	for _, s := range segments {
		sb.WriteByte('/')
		sb.WriteString(url.PathEscape(s))
	}
	return sb.String()
}

// query is an ordered list of query options; encode keeps '$' readable and
// encodes spaces as %20 (Graph reads '+' in $filter literally on some
// services).
type query [][2]string

func (q query) encode() string {
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	var sb strings.Builder
	for i, kv := range q {
		if i > 0 {
			sb.WriteByte('&')
		}
		if name, ok := strings.CutPrefix(kv[0], "$"); ok {
			sb.WriteString("$" + esc(name))
		} else {
			sb.WriteString(esc(kv[0]))
		}
		sb.WriteByte('=')
		sb.WriteString(esc(kv[1]))
	}
	return sb.String()
}

func withQuery(u string, q query) string {
	if len(q) == 0 {
		return u
	}
	return u + "?" + q.encode()
}

// checkLink accepts a nextLink or deltaLink only on the base URL's scheme
// and host: the client would otherwise send its token wherever the server
// (or a tampered checkpoint) points.
func (c *Client) checkLink(op, link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil || !u.IsAbs() {
		return "", &Error{Layer: LayerProtocol, Op: op, Err: fmt.Errorf("%w: not an absolute URL", ErrForeignLink)}
	}
	if !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Host, c.base.Host) || u.User != nil {
		return "", &Error{Layer: LayerProtocol, Op: op, Err: fmt.Errorf("%w: %s://%s is not %s://%s", ErrForeignLink,
			c.red.Clean(u.Scheme, 20), c.red.Clean(u.Host, 100), c.base.Scheme, c.base.Host)}
	}
	return link, nil
}

// do sends one request and returns its 2xx answer; everything else is an
// *Error.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	resp, crid, done, err := c.open(ctx, r)
	if err != nil {
		return nil, err
	}
	defer done()
	return c.finish(r, resp, crid)
}

// open sends one request and returns the response with its body unread:
// done closes it and frees the mailbox slot and the timeout. Streams
// (message MIME, attachment content) read the body themselves.
func (c *Client) open(ctx context.Context, r request) (_ *http.Response, crid string, done func(), err error) {
	if _, err := c.checkLink(r.op, r.url); err != nil {
		// Built URLs are always on the base host; this guards the links.
		return nil, "", nil, err
	}
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, "", nil, &Error{Layer: LayerTransport, Op: r.op, Message: "encoding request", Err: fmt.Errorf("%w: %w", ErrInvalidArgument, err)}
		}
	}
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	if r.mailbox != "" {
		release, err := c.limiter.acquire(ctx, r.mailbox, r.slots)
		if err != nil {
			return nil, "", nil, &Error{Layer: LayerTransport, Op: r.op, Message: "waiting for a mailbox slot", Err: err}
		}
		cleanups = append(cleanups, release)
		if wait, ok := c.quota.take(r.mailbox, c.clock.Now()); !ok {
			return nil, "", nil, &Error{Layer: LayerProtocol, Op: r.op, HTTPStatus: 429, Code: CodeQuotaReached, RetryAfter: wait,
				Message: "this client sent Outlook's limit of requests for the mailbox in the last 10 minutes; not sent"}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	cleanups = append(cleanups, cancel)

	crid = c.newID()
	fail := func(status int, msg string, err error) *Error {
		return &Error{Layer: LayerTransport, Op: r.op, HTTPStatus: status, Message: msg, ClientRequestID: crid, Err: err}
	}
	tok, err := c.auth.Token(ctx)
	if err != nil {
		return nil, "", nil, fail(0, "acquiring token", c.scrubErr(err))
	}
	c.red.Learn(tok)

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(ctx, r.method, r.url, rd)
	if err != nil {
		return nil, "", nil, fail(0, "building request", err)
	}
	for k, vs := range r.header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	hreq.Header.Set("Authorization", "Bearer "+tok)
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	hreq.Header.Set("client-request-id", crid)
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if r.mailbox != "" {
		hreq.Header.Add("Prefer", `IdType="ImmutableId"`)
	}
	if r.pageSize > 0 {
		hreq.Header.Add("Prefer", "odata.maxpagesize="+strconv.Itoa(r.pageSize))
	}

	resp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, "", nil, fail(0, "request failed", c.scrubErr(err))
	}
	cleanups = append(cleanups, func() { resp.Body.Close() })
	return resp, crid, cleanup, nil
}

// finish reads a response's body: its 2xx answer, or an *Error.
func (c *Client) finish(r request, resp *http.Response, crid string) (*response, error) {
	fail := func(status int, msg string, err error) *Error {
		return &Error{Layer: LayerTransport, Op: r.op, HTTPStatus: status, Message: msg, ClientRequestID: crid, Err: err}
	}
	reqID := c.red.Clean(resp.Header.Get("request-id"), 100)
	data, readErr := c.readBody(resp)
	if readErr != nil {
		e := fail(resp.StatusCode, "reading response", readErr)
		e.RequestID = reqID
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
		return nil, e
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if len(bytes.TrimSpace(data)) > 0 && !isJSON(resp.Header.Get("Content-Type"), data) {
			e := fail(resp.StatusCode, "unexpected answer", notJSON(data))
			e.RequestID = reqID
			if !errors.Is(e.Err, ErrTruncated) {
				e.Body = c.describe(resp, data)
			}
			return nil, e
		}
		return &response{status: resp.StatusCode, header: resp.Header, body: data, requestID: reqID, clientRequestID: crid}, nil
	}
	return nil, c.statusError(r.op, resp.StatusCode, resp.Header, data, reqID, crid, LayerProtocol)
}

// statusError turns a non-2xx answer into an *Error: a Graph error body
// gives the given layer, anything else the transport layer.
func (c *Client) statusError(op string, status int, h http.Header, data []byte, reqID, crid string, layer Layer) *Error {
	e := &Error{Layer: LayerTransport, Op: op, HTTPStatus: status, RequestID: reqID, ClientRequestID: crid,
		RetryAfter: parseRetryAfter(h.Get("Retry-After"), c.clock.Now())}
	if code, inner, msg, rid, ok := parseGraphError(data); ok {
		e.Layer = layer
		// Everything the server wrote is scrubbed: it may echo our token.
		e.Code, e.InnerCode = c.red.Clean(code, 100), c.red.Clean(inner, 100)
		e.Message = c.clean(msg)
		if e.RequestID == "" {
			e.RequestID = rid
		}
		e.RequestID = c.red.Clean(e.RequestID, 100)
		return e
	}
	e.Message = http.StatusText(status)
	switch {
	case len(bytes.TrimSpace(data)) == 0:
	case !json.Valid(data):
		e.Err = notJSON(data)
		if !errors.Is(e.Err, ErrTruncated) {
			e.Body = c.describeBody(h.Get("Content-Type"), data)
		}
	}
	return e
}

// notJSON is the cause for a body that is not JSON: an HTML page, or
// anything else.
func notJSON(data []byte) error {
	if netfail.IsHTML(data) {
		return ErrHTMLPage
	}
	var v any
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&v); errors.Is(err, io.ErrUnexpectedEOF) {
		// JSON that stops mid-way: cut off on its way (a proxy, a reset
		// behind it), not some other document.
		return fmt.Errorf("%w: JSON cut off mid-way", ErrTruncated)
	}
	return ErrNotJSON
}

// describe summarises a non-JSON body for an error: its type and a short,
// scrubbed, one-line start.
func (c *Client) describe(resp *http.Response, data []byte) string {
	return c.describeBody(resp.Header.Get("Content-Type"), data)
}

func (c *Client) describeBody(ct string, data []byte) string {
	return c.clean(netfail.Describe(ct, data))
}

// clean bounds, flattens and scrubs server text for an error.
func (c *Client) clean(s string) string {
	return c.red.Clean(s, maxMessageLen)
}

func isJSON(contentType string, data []byte) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return false
	}
	// No or a JSON content type: still make sure the body is JSON, so an
	// HTML page labelled JSON or a truncated body is caught here.
	return json.Valid(data)
}

func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > c.maxBytes {
		return nil, fmt.Errorf("%w: Content-Length %d > %d bytes", ErrResponseTooLarge, resp.ContentLength, c.maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		// A connection cut mid-body is worth retrying.
		return data, fmt.Errorf("%w: %w", errTruncated, c.scrubErr(err))
	}
	if int64(len(data)) > c.maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, c.maxBytes)
	}
	return data, nil
}

// decode unmarshals a 2xx body into v, as a protocol or transport error.
func decode(op string, r *response, v any) error {
	if len(bytes.TrimSpace(r.body)) == 0 {
		return &Error{Layer: LayerTransport, Op: op, HTTPStatus: r.status, RequestID: r.requestID, ClientRequestID: r.clientRequestID, Err: ErrEmptyBody}
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		cause := fmt.Errorf("%w: %s", ErrMalformedResponse, redact.Bound(err.Error(), 200))
		var se *json.SyntaxError
		if errors.As(err, &se) {
			cause = fmt.Errorf("%w: %s", ErrNotJSON, redact.Bound(err.Error(), 200))
		}
		return &Error{Layer: LayerProtocol, Op: op, HTTPStatus: r.status, RequestID: r.requestID, ClientRequestID: r.clientRequestID, Err: cause}
	}
	return nil
}

// scrubErr removes any credential from an error's text while keeping it
// classifiable.
func (c *Client) scrubErr(err error) error { return c.red.Error(err) }

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
