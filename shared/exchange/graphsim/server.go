package graphsim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// Limits Outlook applies per app per mailbox.
const (
	DefaultMaxConcurrency = 4
	DefaultQuota          = 10000
	QuotaWindow           = 10 * time.Minute
	DefaultMaxPageSize    = 10
	maxPageSizeLimit      = 1000
	maxBatchRequests      = 20
	maxSchedules          = 20
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Latency is added to every request while it holds its concurrency
	// slot, so slow requests make concurrency visible.
	Latency time.Duration
	// Seed makes fault injection deterministic.
	Seed uint64
	// MaxConcurrency per app per mailbox; 0 means DefaultMaxConcurrency,
	// negative means unlimited.
	MaxConcurrency int
	// Quota is the number of requests per app per mailbox in a sliding
	// QuotaWindow; 0 means DefaultQuota, negative means unlimited.
	Quota int
	// RetryAfter is what throttled answers carry; 0 means 1s.
	RetryAfter time.Duration
	// MaxPageSize is the delta page size without Prefer:
	// odata.maxpagesize; 0 means DefaultMaxPageSize.
	MaxPageSize int
	// Clock drives the quota window and error dates; nil means the
	// system clock.
	Clock domain.Clock
	// MaxRequestBytes bounds a request body; 0 means 4 MiB.
	MaxRequestBytes int64
}

// Server serves Microsoft Graph v1.0 over an ewssim.Sim's mailboxes. It is
// an http.Handler for paths under /v1.0/.
type Server struct {
	sim   *ewssim.Sim
	opts  Options
	clock domain.Clock
	mux   *http.ServeMux

	lim   limiter
	stats statsCollector

	fmu    sync.Mutex
	frng   *mrand.Rand
	faults []*faultRule

	pmu    sync.RWMutex
	denied map[string]map[string]bool // client id -> permission -> denied

	txMu   sync.Mutex
	tx     map[string]string // mailbox + "\x00" + transactionId -> immutable id
	txByID map[string]string // immutable id -> transactionId

	propsMu sync.Mutex
	props   map[string]eventProps // immutable id of an event -> the properties the shared model lacks
}

// New returns a Graph front end for sim.
func New(sim *ewssim.Sim, opts Options) *Server {
	if opts.MaxConcurrency == 0 {
		opts.MaxConcurrency = DefaultMaxConcurrency
	}
	if opts.Quota == 0 {
		opts.Quota = DefaultQuota
	}
	if opts.RetryAfter == 0 {
		opts.RetryAfter = time.Second
	}
	if opts.MaxPageSize == 0 {
		opts.MaxPageSize = DefaultMaxPageSize
	}
	if opts.MaxRequestBytes == 0 {
		opts.MaxRequestBytes = 4 << 20
	}
	clock := opts.Clock
	if clock == nil {
		clock = domain.SystemClock{}
	}
	s := &Server{
		sim:    sim,
		opts:   opts,
		clock:  clock,
		frng:   mrand.New(mrand.NewPCG(opts.Seed, opts.Seed^0x6a09e667f3bcc909)),
		denied: make(map[string]map[string]bool),
		tx:     make(map[string]string),
		txByID: make(map[string]string),
		props:  make(map[string]eventProps),
	}
	s.lim.inflight = make(map[string]int)
	s.lim.window = make(map[string][]time.Time)
	s.routes()
	return s
}

// Permissions the simulator checks (application permissions).
const (
	PermMailRead           = "Mail.Read"
	PermCalendarsRead      = "Calendars.Read"
	PermCalendarsReadWrite = "Calendars.ReadWrite"
	PermContactsRead       = "Contacts.Read"
	PermUserReadAll        = "User.Read.All"
)

// DenyPermission withdraws an application permission from an app (client
// id): its requests that need it answer 403. Calendars.ReadWrite covers
// Calendars.Read, as in Entra.
func (s *Server) DenyPermission(clientID, perm string) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.denied[clientID] == nil {
		s.denied[clientID] = make(map[string]bool)
	}
	s.denied[clientID][perm] = true
}

// GrantPermission undoes DenyPermission.
func (s *Server) GrantPermission(clientID, perm string) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	delete(s.denied[clientID], perm)
}

func (s *Server) hasPermission(clientID, perm string) bool {
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	d := s.denied[clientID]
	if !d[perm] {
		return true
	}
	return perm == PermCalendarsRead && !d[PermCalendarsReadWrite]
}

// --- request context ---

// call is one Graph request while it runs.
type call struct {
	s         *Server
	w         http.ResponseWriter
	r         *http.Request
	app       ewssim.AppToken
	mb        ewssim.MailboxInfo
	userParam string
	op        string
	reqID     string
	clientID  string // client-request-id
	base      string // scheme://host/v1.0
}

func (s *Server) newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// ServeHTTP answers Graph requests under /v1.0/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) begin(w http.ResponseWriter, r *http.Request, op string) *call {
	c := &call{s: s, w: w, r: r, op: op, reqID: s.newRequestID()}
	c.clientID = r.Header.Get("client-request-id")
	if c.clientID == "" {
		c.clientID = c.reqID
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	c.base = scheme + "://" + r.Host + "/v1.0"
	h := w.Header()
	h.Set("request-id", c.reqID)
	h.Set("client-request-id", c.clientID)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"1","ScaleUnit":"000","RoleInstance":"GRAPHSIM"}}`)
	s.stats.request()
	return c
}

// authenticate checks the Bearer token: issued by the simulator for
// Microsoft Graph and not expired.
func (c *call) authenticate() bool {
	h := c.r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		c.s.stats.authFailure()
		c.w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
		c.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return false
	}
	app, ok := c.s.sim.LookupToken(strings.TrimSpace(tok))
	switch {
	case !ok:
		c.s.stats.authFailure()
		c.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.).")
		return false
	case app.Audience != ewssim.GraphAudience:
		c.s.stats.authFailure()
		c.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return false
	}
	c.app = app
	return true
}

// resolveUser finds the mailbox of {user} and checks that the app may use
// it with perm. It answers the error itself.
func (c *call) resolveUser(perm string) bool {
	c.userParam = c.r.PathValue("user")
	mb, ok := c.s.sim.Mailbox(c.userParam)
	if !ok {
		c.fail(http.StatusNotFound, "ErrorInvalidUser", "The requested user '"+c.userParam+"' is invalid.")
		return false
	}
	c.mb = mb
	if !c.s.sim.AppScoped(c.app.ClientID, mb.Address) || !c.s.hasPermission(c.app.ClientID, perm) {
		c.fail(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		return false
	}
	return true
}

// handle wraps a mailbox route: authentication, mailbox and scope,
// throttling, faults and latency, then fn.
func (s *Server) handle(op, perm string, fn func(c *call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := s.begin(w, r, op)
		if !c.authenticate() || !c.resolveUser(perm) {
			return
		}
		key := c.app.ClientID + "|" + c.mb.Address
		release, why, retry := s.lim.acquire(key, c.mb.Address, s.opts.MaxConcurrency, s.opts.Quota, s.clock.Now(), s.opts.RetryAfter)
		if release == nil {
			s.stats.throttle(why)
			w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
			msg := "Application is over its MailboxConcurrency limit."
			if why == "quota" {
				msg = "Application is over its MailboxRequests limit of " + strconv.Itoa(s.opts.Quota) + " requests per 10 minutes."
			}
			c.fail(http.StatusTooManyRequests, "ApplicationThrottled", msg)
			return
		}
		defer release()
		s.stats.call(op)
		delay := s.opts.Latency
		scope := scopeCall
		if _, sub := w.(*recorder); sub {
			scope = scopeSub
		}
		f, hit := s.pickFault(op, c.mb.Address, scope)
		if hit {
			s.stats.fault()
			if c.answerFault(f) {
				return
			}
			if f.Kind == ewssim.FaultSlow {
				delay += f.Delay
			}
		}
		if delay > 0 && !sleep(r.Context(), delay) {
			return
		}
		if hit && ewssim.Cut(f.Kind) {
			cutAnswer(r, w, f.Kind, func(w http.ResponseWriter) { c.w = w; fn(c) })
			return
		}
		fn(c)
	}
}

// cutAnswer runs answer into a buffer and sends what it wrote cut as kind
// says (ewssim.SendCut).
func cutAnswer(r *http.Request, w http.ResponseWriter, kind ewssim.FaultKind, answer func(http.ResponseWriter)) {
	rec := &recorder{h: w.Header()}
	answer(rec)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	ewssim.SendCut(r.Context(), w, kind, rec.status, rec.h.Get("Content-Type"), rec.body.Bytes())
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// --- answers ---

// obj is a JSON object that keeps its keys in order, as Graph writes them
// (annotations first).
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) { return o.appendJSON(nil) }

// appendJSON writes o after b. Nested objects and arrays of them are
// written in place: through json.Marshal, each level's MarshalJSON output
// was validated and compacted again by every level above it, which made
// the simulator's own CPU a large part of a benchmark's.
func (o obj) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	for i, p := range o {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendJSONValue(b, p.k); err != nil {
			return nil, err
		}
		b = append(b, ':')
		if b, err = appendJSONValue(b, p.v); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendJSONValue writes v after b: objects and arrays of them in place,
// anything else through encoding/json.
func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case obj:
		if x == nil {
			return append(b, "null"...), nil
		}
		return x.appendJSON(b)
	case []obj:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, o := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONValue(b, o); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

func (c *call) json(status int, v any) {
	b, err := appendJSONValue(nil, v)
	if err != nil {
		c.fail(http.StatusInternalServerError, "generalException", "An internal error occurred: "+err.Error())
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "private")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
}

// fail answers Graph's error body.
func (c *call) fail(status int, code, msg string) {
	if status >= 400 && status != http.StatusUnauthorized {
		c.s.stats.failure(status)
	}
	c.json(status, obj{{"error", obj{
		{"code", code},
		{"message", msg},
		{"innerError", obj{
			{"date", c.s.clock.Now().UTC().Format("2006-01-02T15:04:05")},
			{"request-id", c.reqID},
			{"client-request-id", c.clientID},
		}},
	}}})
}

// --- throttling ---

// limiter enforces Outlook's per app per mailbox limits: concurrent
// requests and requests in a sliding window.
type limiter struct {
	mu       sync.Mutex
	inflight map[string]int
	window   map[string][]time.Time // admitted request times, oldest first
	peak     map[string]int         // by mailbox
}

func (l *limiter) acquire(key, mailbox string, maxConc, quota int, now time.Time, retry time.Duration) (release func(), why string, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if maxConc > 0 && l.inflight[key] >= maxConc {
		return nil, "concurrency", retry
	}
	if quota > 0 {
		w := l.window[key]
		cut := 0
		for cut < len(w) && !w[cut].After(now.Add(-QuotaWindow)) {
			cut++
		}
		w = w[cut:]
		if len(w) >= quota {
			l.window[key] = w
			return nil, "quota", max(w[0].Add(QuotaWindow).Sub(now), time.Second)
		}
		l.window[key] = append(w, now)
	}
	l.inflight[key]++
	if l.peak == nil {
		l.peak = make(map[string]int)
	}
	if n := l.inflight[key]; n > l.peak[mailbox] {
		l.peak[mailbox] = n
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.inflight[key]--; l.inflight[key] <= 0 {
				delete(l.inflight, key)
			}
		})
	}, "", 0
}

// Stats are the Graph front end's counters since New or ResetStats.
type Stats struct {
	Requests             int64            `json:"requests"` // every request, answered or not
	Calls                map[string]int64 `json:"calls"`    // admitted requests by operation
	Throttled            int64            `json:"throttled"`
	ThrottledConcurrency int64            `json:"throttledConcurrency"`
	ThrottledQuota       int64            `json:"throttledQuota"`
	// PeakInFlight is the highest number of concurrent admitted requests
	// of one app per mailbox.
	PeakInFlight   map[string]int   `json:"peakInFlight"`
	FaultsInjected int64            `json:"faultsInjected"`
	AuthFailures   int64            `json:"authFailures"`
	Errors         map[string]int64 `json:"errors"` // error answers by status (401 not included)
}

// TotalCalls sums Calls.
func (st Stats) TotalCalls() int64 {
	var n int64
	for _, v := range st.Calls {
		n += v
	}
	return n
}

type statsCollector struct {
	mu     sync.Mutex
	st     Stats
	calls  map[string]int64
	errors map[string]int64
}

func (c *statsCollector) with(fn func(*statsCollector)) {
	c.mu.Lock()
	fn(c)
	c.mu.Unlock()
}

func (c *statsCollector) request() { c.with(func(c *statsCollector) { c.st.Requests++ }) }
func (c *statsCollector) fault()   { c.with(func(c *statsCollector) { c.st.FaultsInjected++ }) }
func (c *statsCollector) authFailure() {
	c.with(func(c *statsCollector) { c.st.AuthFailures++ })
}

func (c *statsCollector) call(op string) {
	c.with(func(c *statsCollector) {
		if c.calls == nil {
			c.calls = make(map[string]int64)
		}
		c.calls[op]++
	})
}

func (c *statsCollector) failure(status int) {
	c.with(func(c *statsCollector) {
		if c.errors == nil {
			c.errors = make(map[string]int64)
		}
		c.errors[strconv.Itoa(status)]++
	})
}

func (c *statsCollector) throttle(why string) {
	c.with(func(c *statsCollector) {
		c.st.Throttled++
		if why == "quota" {
			c.st.ThrottledQuota++
		} else {
			c.st.ThrottledConcurrency++
		}
	})
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	st := s.stats.st
	st.Calls = maps.Clone(s.stats.calls)
	st.Errors = maps.Clone(s.stats.errors)
	s.stats.mu.Unlock()
	s.lim.mu.Lock()
	st.PeakInFlight = maps.Clone(s.lim.peak)
	s.lim.mu.Unlock()
	if st.Calls == nil {
		st.Calls = map[string]int64{}
	}
	if st.Errors == nil {
		st.Errors = map[string]int64{}
	}
	if st.PeakInFlight == nil {
		st.PeakInFlight = map[string]int{}
	}
	return st
}

// ResetStats zeroes the counters and the quota windows.
func (s *Server) ResetStats() {
	s.stats.mu.Lock()
	s.stats.st, s.stats.calls, s.stats.errors = Stats{}, nil, nil
	s.stats.mu.Unlock()
	s.lim.mu.Lock()
	s.lim.peak = nil
	s.lim.window = make(map[string][]time.Time)
	s.lim.mu.Unlock()
}

// --- faults ---

type faultRule struct {
	ewssim.Fault
	seen  int // matching calls, including skipped ones
	fired int
}

// InjectFault adds a fault rule, with ewssim's Fault type. Op names a
// Graph operation (see Stats.Calls keys, e.g. "messages.delta", "batch").
// Kinds: FaultHTTP429 (429 TooManyRequests with Retry-After),
// FaultHTTP503 (503 with Retry-After), FaultSlow (Delay added),
// FaultInvalidateSyncState (the mailbox's delta tokens answer 410 from
// then on), and the ones that break the HTTP exchange, which apply to a
// $batch request as a whole, not to the requests inside it: FaultRaw (a
// verbatim answer: an HTML page, a gateway's error, an empty body),
// FaultHang, FaultTruncated, FaultReset and FaultStall (the answer cut,
// the connection reset, or the answer stalled, half way) and FaultDrop
// (reset before any answer).
func (s *Server) InjectFault(f ewssim.Fault) {
	f.Mailbox = strings.ToLower(strings.TrimSpace(f.Mailbox))
	s.fmu.Lock()
	s.faults = append(s.faults, &faultRule{Fault: f})
	s.fmu.Unlock()
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() {
	s.fmu.Lock()
	s.faults = nil
	s.fmu.Unlock()
}

// faultScope is which rules a request may fire: the rules that break the
// HTTP exchange (Fault.Transport) apply to a $batch request itself, the
// others to the requests inside it.
type faultScope int

const (
	scopeCall  faultScope = iota // a request on its own: every rule
	scopeSub                     // a request inside a $batch: no transport rules
	scopeBatch                   // a $batch request: transport rules only
)

// pickFault is the first rule in scope that fires for a call of op on
// mailbox.
func (s *Server) pickFault(op, mailbox string, scope faultScope) (ewssim.Fault, bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	for _, r := range s.faults {
		if (r.Op != "" && r.Op != op) || (r.Mailbox != "" && r.Mailbox != mailbox) ||
			(scope == scopeSub && r.Transport()) || (scope == scopeBatch && !r.Transport()) {
			continue
		}
		if r.Count > 0 && r.fired >= r.Count {
			continue
		}
		if r.seen++; r.seen <= r.Skip {
			continue
		}
		if r.Rate > 0 && r.Rate < 1 && s.frng.Float64() >= r.Rate {
			continue
		}
		r.fired++
		return r.Fault, true
	}
	return ewssim.Fault{}, false
}

// answerFault applies f and reports whether it answered the request.
func (c *call) answerFault(f ewssim.Fault) bool {
	retry := strconv.Itoa(int((f.RetryAfter + time.Second - 1) / time.Second))
	switch f.Kind {
	case ewssim.FaultHTTP429:
		c.w.Header().Set("Retry-After", retry)
		c.fail(http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
		return true
	case ewssim.FaultHTTP503:
		c.w.Header().Set("Retry-After", retry)
		c.fail(http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Try again later.")
		return true
	case ewssim.FaultRaw:
		ewssim.AnswerRaw(c.w, f)
		return true
	case ewssim.FaultHang:
		ewssim.Hang(c.r.Context())
		return true
	case ewssim.FaultDrop:
		ewssim.Drop(c.w)
		return true
	case ewssim.FaultInvalidateSyncState:
		_ = c.s.sim.InvalidateSyncStates(c.mb.Address, "")
	}
	return false
}
