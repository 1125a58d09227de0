// Package retryafter reads an HTTP Retry-After header, the one way the
// Exchange clients (EWS and Graph) learn how long a server wants them to
// wait.
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Parse reads delta-seconds or an HTTP date relative to now and caps the
// delay at limit; anything else, or a delay in the past, is 0.
func Parse(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		// Compared in seconds: a huge value would overflow as a Duration.
		if s > int64(limit/time.Second) {
			return limit
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d <= 0 {
			return 0
		}
		return min(d, limit)
	}
	return 0
}
