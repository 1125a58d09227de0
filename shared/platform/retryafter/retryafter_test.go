package retryafter

import (
	"net/http"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	const limit = 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {" ", 0}, {"0", 0}, {"-5", 0}, {"120", 2 * time.Minute}, {" 7 ", 7 * time.Second},
		{"999999", limit}, {"99999999999", limit}, {"9223372036854775807", limit},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), limit},
		{"soon", 0}, {"1.5", 0},
	}
	for _, tt := range tests {
		if got := Parse(tt.in, now, limit); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
