package main

import (
	"testing"

	"github.com/mailbridge/mailbridge/functions/internal/starttest"
)

// A malformed or missing setting stops start-up: exit 1, one log line
// naming the variable and its value.
func TestBadSettingStopsStartup(t *testing.T) {
	valid := map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_SYNC_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/mailbridge-dev-sync-jobs.fifo"}
	with := func(k, v string) map[string]string { return starttest.With(valid, k, v) }
	starttest.Run(t, main, append(starttest.Common(valid), []starttest.Case{
		{Name: "queue URL missing", Env: with("MAILBRIDGE_SYNC_QUEUE_URL", ""), Want: []string{"MAILBRIDGE_SYNC_QUEUE_URL is not set"}},
		{Name: "mailboxes per message out of range", Env: with("MAILBRIDGE_MAILBOXES_PER_MESSAGE", "51"), Want: []string{`MAILBRIDGE_MAILBOXES_PER_MESSAGE="51"`, "between 1 and 50"}},
	}...))
}
