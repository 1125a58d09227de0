package api

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// TestRateLimit: a tenant's bucket answers 429 with Retry-After once its
// burst is spent, refills at the configured rate (an injected clock, no
// sleeping), is the tenant's alone, and is not spent by refused callers;
// every answer carries the RateLimit-* headers; the 429 matches the
// OpenAPI.
func TestRateLimit(t *testing.T) {
	const (
		operator = "arn:aws:sts::123456789012:assumed-role/mailbridge-operator/ops"
		stranger = "arn:aws:iam::123456789012:user/stranger"
	)
	clock := storetest.NewClock(testNow)
	e := newEnv(t, func(d *Deps) {
		d.Clock = clock
		d.RateLimit = RateLimit{PerSecond: 2, Burst: 5}
		d.CallerTenants = map[string][]string{operator: {"*"}}
	})
	for _, id := range []string{"contoso", "globex"} {
		if w := e.doAs(operator, req{method: "POST", path: "/tenants", body: tenantBody(id, "https://mail."+id+".com/EWS/Exchange.asmx", basicCred("svc", "Rate-pw-"+id), "")}); w.Code != 201 {
			t.Fatalf("create %s = %d %s", id, w.Code, w.Body)
		}
	}
	get := func(caller, path string) *httptest.ResponseRecorder {
		return e.doAs(caller, req{method: "GET", path: path})
	}
	header := func(w *httptest.ResponseRecorder, name string) int {
		t.Helper()
		n, err := strconv.Atoi(w.Header().Get(name))
		if err != nil {
			t.Fatalf("%s = %q: %v", name, w.Header().Get(name), err)
		}
		return n
	}

	// A stranger's refused requests spend nothing of contoso's bucket.
	for range 10 {
		if w := get(stranger, "/tenants/contoso"); w.Code != 403 {
			t.Fatalf("stranger = %d", w.Code)
		}
	}
	for i := range 5 {
		w := get(operator, "/tenants/contoso/mailboxes")
		if w.Code != 200 {
			t.Fatalf("request %d of the burst = %d %s", i+1, w.Code, w.Body)
		}
		if header(w, "RateLimit-Limit") != 5 || header(w, "RateLimit-Remaining") != 4-i {
			t.Fatalf("request %d: limit %s remaining %s, want 5 and %d", i+1, w.Header().Get("RateLimit-Limit"), w.Header().Get("RateLimit-Remaining"), 4-i)
		}
		// i+1 tokens spent at 2 a second: full again in ceil((i+1)/2) s.
		if got, want := header(w, "RateLimit-Reset"), (i+2)/2; got != want {
			t.Errorf("request %d: RateLimit-Reset %d, want %d", i+1, got, want)
		}
	}
	w := get(operator, "/tenants/contoso/mailboxes")
	if w.Code != 429 || header(w, "Retry-After") != 1 || header(w, "RateLimit-Remaining") != 0 {
		t.Fatalf("6th request = %d, Retry-After %q: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "rate_limited" || !strings.Contains(body.Error.Message, "retry after 1 s") {
		t.Fatalf("429 body = %s", w.Body)
	}
	// Another tenant, and the caller's own bucket for /tenants, are not
	// affected.
	if w := get(operator, "/tenants/globex"); w.Code != 200 {
		t.Fatalf("globex while contoso is limited = %d", w.Code)
	}
	if w := get(operator, "/tenants"); w.Code != 200 {
		t.Fatalf("GET /tenants while contoso is limited = %d", w.Code)
	}
	// Half a second refills one token at 2 a second: one request, then 429.
	clock.Advance(500 * time.Millisecond)
	if w := get(operator, "/tenants/contoso"); w.Code != 200 {
		t.Fatalf("after the refill = %d", w.Code)
	}
	if w := get(operator, "/tenants/contoso"); w.Code != 429 {
		t.Fatalf("a refill of one allowed two: %d", w.Code)
	}
	// Idle long enough: the whole burst again, never more.
	clock.Advance(time.Hour)
	if w := get(operator, "/tenants/contoso"); w.Code != 200 || header(w, "RateLimit-Remaining") != 4 || header(w, "RateLimit-Reset") != 1 {
		t.Fatalf("after an idle hour = %d remaining %s reset %s", w.Code, w.Header().Get("RateLimit-Remaining"), w.Header().Get("RateLimit-Reset"))
	}
}

// TestRateLimitPerCaller: the routes without a tenant (POST and GET
// /tenants) are limited per caller.
func TestRateLimitPerCaller(t *testing.T) {
	const (
		ops1 = "arn:aws:sts::123456789012:assumed-role/ops/one"
		ops2 = "arn:aws:sts::123456789012:assumed-role/ops/two"
	)
	e := newEnv(t, func(d *Deps) {
		d.RateLimit = RateLimit{PerSecond: 1, Burst: 2}
		d.CallerTenants = map[string][]string{"arn:aws:sts::123456789012:assumed-role/ops/*": {"*"}}
	})
	for i, want := range []int{200, 200, 429} {
		if w := e.doAs(ops1, req{method: "GET", path: "/tenants"}); w.Code != want {
			t.Fatalf("ops1 request %d = %d, want %d", i+1, w.Code, want)
		}
	}
	if w := e.doAs(ops1, req{method: "POST", path: "/tenants", body: tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("svc", "Rate-pw-c"), "")}); w.Code != 429 {
		t.Fatalf("ops1 create after its burst = %d", w.Code)
	}
	if w := e.doAs(ops2, req{method: "GET", path: "/tenants"}); w.Code != 200 {
		t.Fatalf("ops2 limited by ops1's requests: %d", w.Code)
	}
	if w := e.doAs(ops1, req{method: "GET", path: "/tenants/contoso"}); w.Code != 404 {
		t.Fatalf("a tenant route is limited by the caller's bucket: %d", w.Code)
	}
}

func TestParseRateLimit(t *testing.T) {
	for in, want := range map[string]RateLimit{"20/100": {20, 100}, "0.5/1": {0.5, 1}, "off": {}} {
		if got, err := ParseRateLimit(in); err != nil || got != want {
			t.Errorf("ParseRateLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"20", "20/", "/100", "0/100", "20/0", "-1/5", "x/5", "20/1.5", "NaN/5", "Inf/5", "20/100/3"} {
		if _, err := ParseRateLimit(bad); err == nil {
			t.Errorf("ParseRateLimit(%q) accepted", bad)
		}
	}
}

// TestRateLimiterForgetsIdleBuckets: memory follows the active keys.
func TestRateLimiterForgetsIdleBuckets(t *testing.T) {
	clock := storetest.NewClock(testNow)
	l := newLimiter(RateLimit{PerSecond: 10, Burst: 10}, clock)
	for i := range maxIdleBuckets {
		l.take("k" + strconv.Itoa(i))
	}
	clock.Advance(time.Second)
	l.take("busy")
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets after every idle one refilled, want 1", n)
	}
}
