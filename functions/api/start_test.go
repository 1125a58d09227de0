package main

import (
	"testing"

	"github.com/mailbridge/mailbridge/functions/internal/starttest"
)

// A malformed or missing setting stops start-up: exit 1, one log line
// naming the variable and its value.
func TestBadSettingStopsStartup(t *testing.T) {
	valid := map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_CALENDAR_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/mailbridge-dev-calendar-writes"}
	with := func(k, v string) map[string]string { return starttest.With(valid, k, v) }
	starttest.Run(t, main, append(starttest.Common(valid), []starttest.Case{
		{Name: "calendar queue URL malformed", Env: with("MAILBRIDGE_CALENDAR_QUEUE_URL", "sqs/calendar-writes"), Want: []string{`MAILBRIDGE_CALENDAR_QUEUE_URL="sqs/calendar-writes"`, "absolute https URL"}},
		{Name: "caller tenants malformed", Env: with("MAILBRIDGE_CALLER_TENANTS", "{not json"), Want: []string{`MAILBRIDGE_CALLER_TENANTS="{not json"`}},
		{Name: "rate limit malformed", Env: with("MAILBRIDGE_API_RATE_LIMIT", "20 per second"), Want: []string{`MAILBRIDGE_API_RATE_LIMIT="20 per second"`, "<requests per second>/<burst>"}},
		{Name: "archive bucket upper case", Env: with("MAILBRIDGE_ARCHIVE_BUCKET", "Archive_Bucket"), Want: []string{`MAILBRIDGE_ARCHIVE_BUCKET="Archive_Bucket"`, "lower-case"}},
	}...))
}
