package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// RateLimit is the API's request rate limit: a token bucket per tenant
// (routes under /tenants/{id}) and per caller (POST and GET /tenants),
// holding Burst requests and refilled at PerSecond. A request finding the
// bucket empty is answered 429 with Retry-After; every limited answer
// carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (IETF
// draft "RateLimit header fields for HTTP"). The buckets live in the
// process: in AWS each Lambda instance has its own, so the limit holds
// per instance, and API Gateway's throttling is the account-wide
// backstop (docs/configuration.md).
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// DefaultRateLimit: 20 requests a second per tenant, in bursts of up to
// 100 (a consumer paging a listing at full speed stays under it; a loop
// gone wrong is stopped within a second).
var DefaultRateLimit = RateLimit{PerSecond: 20, Burst: 100}

// ParseRateLimit reads MAILBRIDGE_API_RATE_LIMIT: "<per second>/<burst>",
// such as "20/100", or "off" for no limit.
func ParseRateLimit(s string) (RateLimit, error) {
	if s == "off" {
		return RateLimit{}, nil
	}
	rate, burst, ok := strings.Cut(s, "/")
	r, rerr := strconv.ParseFloat(rate, 64)
	b, berr := strconv.Atoi(burst)
	if !ok || rerr != nil || berr != nil || !(r >= 0.01 && r <= 100000) || b < 1 || b > 1000000 {
		return RateLimit{}, fmt.Errorf(`want "<requests per second>/<burst>", such as "20/100" (0.01-100000 a second, burst 1-1000000), or "off"`)
	}
	return RateLimit{PerSecond: r, Burst: b}, nil
}

func (l RateLimit) enabled() bool { return l.PerSecond > 0 && l.Burst > 0 }

type bucket struct {
	tokens float64
	at     time.Time
}

// limiter holds the buckets. Full buckets are forgotten when there are
// many (a full bucket and no bucket answer the same), so memory follows
// the keys active in the last Burst/PerSecond seconds.
type limiter struct {
	cfg     RateLimit
	clock   domain.Clock
	mu      sync.Mutex
	buckets map[string]*bucket
}

const maxIdleBuckets = 10000

func newLimiter(cfg RateLimit, clock domain.Clock) *limiter {
	if !cfg.enabled() {
		return nil
	}
	return &limiter{cfg: cfg, clock: clock, buckets: map[string]*bucket{}}
}

// take spends one token of key's bucket. It returns whether the request
// may go on, the tokens left, the seconds until the bucket is full again
// and, when refused, the seconds until a token is back.
func (l *limiter) take(key string) (ok bool, remaining int, reset, retry time.Duration) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxIdleBuckets {
			l.forgetFull(now)
		}
		b = &bucket{tokens: float64(l.cfg.Burst), at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		ok = true
	} else {
		retry = l.after(1 - b.tokens)
	}
	return ok, int(math.Floor(b.tokens)), l.after(float64(l.cfg.Burst) - b.tokens), retry
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(float64(l.cfg.Burst), b.tokens+d.Seconds()*l.cfg.PerSecond)
		b.at = now
	}
}

// after is how long n tokens take to come back.
func (l *limiter) after(n float64) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(n / l.cfg.PerSecond * float64(time.Second))
}

func (l *limiter) forgetFull(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= float64(l.cfg.Burst) {
			delete(l.buckets, k)
		}
	}
}

// ceilSeconds is d in whole seconds, rounded up (headers carry seconds).
func ceilSeconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

// rateLimited answers whether the request over key may go on; it sets
// the rate-limit headers either way and, when not, the 429 error.
func (s *server) rateLimited(w http.ResponseWriter, key string) error {
	if s.limiter == nil {
		return nil
	}
	ok, remaining, reset, retry := s.limiter.take(key)
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(s.limiter.cfg.Burst))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(reset), 10))
	if ok {
		return nil
	}
	secs := max(1, ceilSeconds(retry))
	h.Set("Retry-After", strconv.FormatInt(secs, 10))
	return &domain.Error{Code: domain.CodeRateLimited, Message: fmt.Sprintf(
		"too many requests: at most %d at once and %g a second; retry after %d s", s.limiter.cfg.Burst, s.limiter.cfg.PerSecond, secs)}
}
