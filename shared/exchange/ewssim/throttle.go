package ewssim

import (
	"maps"
	"math/rand/v2"
	"sync"
	"time"
)

// throttle counts concurrent calls per budget owner: the service account
// under delegate access, the target mailbox under impersonation.
type throttle struct {
	mu   sync.Mutex
	cur  map[string]int
	peak map[string]int
}

func (t *throttle) acquire(owner string, max int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur == nil {
		t.cur, t.peak = make(map[string]int), make(map[string]int)
	}
	n := t.cur[owner]
	if max > 0 && n >= max {
		return false
	}
	n++
	t.cur[owner] = n
	if n > t.peak[owner] {
		t.peak[owner] = n
	}
	return true
}

func (t *throttle) release(owner string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := t.cur[owner]; n <= 1 {
		delete(t.cur, owner)
	} else {
		t.cur[owner] = n - 1
	}
}

// Stats are the simulator's counters since New or ResetStats. Budget
// owners are named "account:<username or client id>" (delegate access) and
// "mailbox:<address>" (impersonation); "<owner>#sync" is the owner's sync
// budget when Options.MaxConcurrentSyncCalls is set.
type Stats struct {
	Calls            map[string]int64 `json:"calls"`     // by operation; "Invalid" for unparsable requests
	Throttled        int64            `json:"throttled"` // calls answered ErrorServerBusy
	ThrottledByOwner map[string]int64 `json:"throttledByOwner"`
	PeakConcurrency  map[string]int   `json:"peakConcurrency"` // highest concurrent calls per budget owner
	FaultsInjected   int64            `json:"faultsInjected"`
	AuthFailures     int64            `json:"authFailures"` // requests answered 401 after presenting credentials
	TokensIssued     int64            `json:"tokensIssued"`
	// MissingAnchorMailbox counts impersonated calls without an
	// X-AnchorMailbox header naming the impersonated mailbox (Exchange
	// Online routes by it; Mailbridge must always send it).
	MissingAnchorMailbox int64 `json:"missingAnchorMailbox"`
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
	mu    sync.Mutex
	calls map[string]int64
	thr   map[string]int64
	st    Stats
}

func (c *statsCollector) call(op string) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = make(map[string]int64)
	}
	c.calls[op]++
	c.mu.Unlock()
}

func (c *statsCollector) throttle(owner string) {
	c.mu.Lock()
	if c.thr == nil {
		c.thr = make(map[string]int64)
	}
	c.thr[owner]++
	c.st.Throttled++
	c.mu.Unlock()
}

func (c *statsCollector) fault() {
	c.mu.Lock()
	c.st.FaultsInjected++
	c.mu.Unlock()
}

func (c *statsCollector) authFailure() {
	c.mu.Lock()
	c.st.AuthFailures++
	c.mu.Unlock()
}

func (c *statsCollector) missingAnchor() {
	c.mu.Lock()
	c.st.MissingAnchorMailbox++
	c.mu.Unlock()
}

func (c *statsCollector) token() {
	c.mu.Lock()
	c.st.TokensIssued++
	c.mu.Unlock()
}

// Stats returns a copy of the counters.
func (s *Sim) Stats() Stats {
	s.stats.mu.Lock()
	st := s.stats.st
	st.Calls = maps.Clone(s.stats.calls)
	st.ThrottledByOwner = maps.Clone(s.stats.thr)
	s.stats.mu.Unlock()
	s.thr.mu.Lock()
	st.PeakConcurrency = maps.Clone(s.thr.peak)
	s.thr.mu.Unlock()
	if st.Calls == nil {
		st.Calls = map[string]int64{}
	}
	if st.ThrottledByOwner == nil {
		st.ThrottledByOwner = map[string]int64{}
	}
	if st.PeakConcurrency == nil {
		st.PeakConcurrency = map[string]int{}
	}
	return st
}

// ResetStats zeroes the counters (calls in flight still release their
// budget).
func (s *Sim) ResetStats() {
	s.stats.mu.Lock()
	s.stats.calls, s.stats.thr, s.stats.st = nil, nil, Stats{}
	s.stats.mu.Unlock()
	s.thr.mu.Lock()
	s.thr.peak = make(map[string]int)
	if s.thr.cur == nil {
		s.thr.cur = make(map[string]int)
	}
	for k, v := range s.thr.cur {
		s.thr.peak[k] = v
	}
	s.thr.mu.Unlock()
}

// FaultKind is what an injected fault does to a call.
type FaultKind int

// Fault kinds.
const (
	// FaultSOAP answers a SOAP fault (HTTP 500) with Fault.Code
	// (default ErrorInternalServerError) and, if set, Fault.BackOff.
	FaultSOAP FaultKind = iota + 1
	// FaultHTTP503 answers HTTP 503 with Retry-After: Fault.RetryAfter.
	FaultHTTP503
	// FaultSlow delays the answer by Fault.Delay.
	FaultSlow
	// FaultTruncated sends only the first half of the response body.
	FaultTruncated
	// FaultInvalidateSyncState invalidates every sync state of the target
	// mailbox before answering: the next SyncFolderItems or
	// SyncFolderHierarchy with an old state gets ErrorInvalidSyncStateData.
	FaultInvalidateSyncState
	// FaultHTTP429 answers HTTP 429 with Retry-After: Fault.RetryAfter.
	FaultHTTP429
	// FaultRaw answers Fault.Status (default 200) with Fault.Header,
	// Fault.ContentType and Fault.Body verbatim instead of the operation's
	// answer: what a login page, a proxy or a misrouted request sends
	// (an HTML page, a foreign document, an empty body).
	FaultRaw
	// FaultHang answers nothing: the call is held until the client gives
	// up and closes the connection (or the server closes).
	FaultHang
	// FaultReset sends the status, the headers (with the full
	// Content-Length) and the first half of the answer, then resets the
	// connection.
	FaultReset
	// FaultDrop resets the connection before answering anything.
	FaultDrop
	// FaultStall sends the status, the headers and the first half of the
	// answer, then nothing more until the client gives up.
	FaultStall
)

// Fault is an injection rule. Empty Op or Mailbox match any; Skip lets
// that many matching calls through untouched first (a fault in the middle
// of a sync); Rate is the probability per matching call (0 means always);
// Count limits how many times it fires (0 means no limit). The draw uses
// Options.Seed, so a sequential test sees the same faults every run.
type Fault struct {
	Op         string // e.g. SyncFolderItems
	Mailbox    string
	Skip       int
	Rate       float64
	Count      int
	Kind       FaultKind
	Code       string        // FaultSOAP response code
	BackOff    time.Duration // FaultSOAP BackOffMilliseconds
	RetryAfter time.Duration // FaultHTTP503, FaultHTTP429
	Delay      time.Duration // FaultSlow
	// FaultRaw's answer: Status (0: 200), ContentType (empty: none),
	// extra Header fields and Body.
	Status      int
	ContentType string
	Header      map[string]string
	Body        string
}

// Transport reports whether f breaks the HTTP exchange itself (its
// status, body or connection) rather than answering as Exchange would.
func (f Fault) Transport() bool {
	switch f.Kind {
	case FaultRaw, FaultHang, FaultReset, FaultTruncated, FaultDrop, FaultStall:
		return true
	}
	return false
}

type faultRule struct {
	Fault
	seen  int // matching calls, including skipped ones
	fired int
}

type faultSet struct {
	mu    sync.Mutex
	rng   *rand.Rand
	rules []*faultRule
}

// InjectFault adds a fault rule; rules are tried in the order added.
func (s *Sim) InjectFault(f Fault) {
	f.Mailbox = normAddr(f.Mailbox)
	s.faults.mu.Lock()
	s.faults.rules = append(s.faults.rules, &faultRule{Fault: f})
	s.faults.mu.Unlock()
}

// ClearFaults removes every fault rule.
func (s *Sim) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.rules = nil
	s.faults.mu.Unlock()
}

func (fs *faultSet) pick(op, mailbox string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, r := range fs.rules {
		if (r.Op != "" && r.Op != op) || (r.Mailbox != "" && r.Mailbox != normAddr(mailbox)) {
			continue
		}
		if r.Count > 0 && r.fired >= r.Count {
			continue
		}
		if r.seen++; r.seen <= r.Skip {
			continue
		}
		if r.Rate > 0 && r.Rate < 1 && fs.rng.Float64() >= r.Rate {
			continue
		}
		r.fired++
		return r.Fault, true
	}
	return Fault{}, false
}
