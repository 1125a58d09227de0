package app

import (
	"testing"
	"time"
)

func TestNextCalendarRetry(t *testing.T) {
	f := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	h := time.Hour
	tests := []struct {
		name    string
		start   time.Time
		retries int
		backOff time.Duration
		want    time.Duration // delay after f; -1 = no retry
	}{
		{"far event: 24h later", f.Add(72 * h), 0, 0, 24 * h},
		{"just over 36h: 24h later", f.Add(36*h + time.Second), 0, 0, 24 * h},
		{"exactly 36h: half, capped at 18h", f.Add(36 * h), 0, 0, 18 * h},
		{"30h: half is 15h", f.Add(30 * h), 0, 0, 15 * h},
		{"10h: half is 5h", f.Add(10 * h), 1, 0, 5 * h},
		{"last retry allowed", f.Add(10 * h), 2, 0, 5 * h},
		{"retries used up", f.Add(10 * h), 3, 0, -1},
		{"started already", f.Add(-time.Minute), 0, 0, -1},
		{"starts now", f, 0, 0, -1},
		{"5 minutes: half is 2m30s", f.Add(5 * time.Minute), 0, 0, 150 * time.Second},
		{"90s: floor of 1 minute fits", f.Add(90 * time.Second), 0, 0, time.Minute},
		{"60s: floor reaches the start", f.Add(time.Minute), 0, 0, -1},
		{"server back-off longer than the rule", f.Add(10 * h), 0, 6 * h, 6 * h},
		{"server back-off past the start", f.Add(10 * time.Minute), 0, time.Hour, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NextCalendarRetry(f, tc.start, tc.retries, tc.backOff)
			if tc.want < 0 {
				if got.Retry || got.Reason == "" {
					t.Fatalf("want no retry with a reason, got %+v", got)
				}
				return
			}
			if !got.Retry || !got.At.Equal(f.Add(tc.want)) {
				t.Fatalf("want retry at +%v, got %+v (+%v)", tc.want, got, got.At.Sub(f))
			}
		})
	}
}

// A failing write is retried at most three times, each from its own failure
// time, and every retry lands before the event starts.
func TestNextCalendarRetryChain(t *testing.T) {
	f := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	start := f.Add(100 * time.Hour)
	var at []time.Duration
	now := f
	for i := 0; ; i++ {
		d := NextCalendarRetry(now, start, i, 0)
		if !d.Retry {
			break
		}
		at = append(at, d.At.Sub(f))
		now = d.At.Add(2 * time.Second) // the retry itself takes a moment and fails
	}
	// 100h → +24h; 76h-2s left → +24h; ~52h → +24h; then used up.
	if len(at) != MaxCalendarRetries {
		t.Fatalf("want %d retries, got %v", MaxCalendarRetries, at)
	}
	if at[0] != 24*time.Hour || at[2] >= 100*time.Hour {
		t.Fatalf("unexpected schedule %v", at)
	}
}
