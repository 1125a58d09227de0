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
		{Name: "queue URL malformed", Env: with("MAILBRIDGE_SYNC_QUEUE_URL", "mailbridge-dev-sync-jobs.fifo"), Want: []string{`MAILBRIDGE_SYNC_QUEUE_URL="mailbridge-dev-sync-jobs.fifo"`}},
		{Name: "batch concurrency malformed", Env: with("MAILBRIDGE_BATCH_CONCURRENCY", "10x"), Want: []string{`MAILBRIDGE_BATCH_CONCURRENCY="10x"`, "not an integer"}},
		{Name: "lastSync refresh malformed", Env: with("MAILBRIDGE_LASTSYNC_REFRESH", "hourly"), Want: []string{`MAILBRIDGE_LASTSYNC_REFRESH="hourly"`, "not a duration"}},
		{Name: "lastSync refresh past a day", Env: with("MAILBRIDGE_LASTSYNC_REFRESH", "48h"), Want: []string{`MAILBRIDGE_LASTSYNC_REFRESH="48h"`, "between 1s and 24h"}},
		{Name: "archive bucket upper case", Env: with("MAILBRIDGE_ARCHIVE_BUCKET", "Archive_Bucket"), Want: []string{`MAILBRIDGE_ARCHIVE_BUCKET="Archive_Bucket"`, "lower-case"}},
		{Name: "archive bucket a path", Env: with("MAILBRIDGE_ARCHIVE_BUCKET", "bucket/../other"), Want: []string{`MAILBRIDGE_ARCHIVE_BUCKET="bucket/../other"`}},
		{Name: "archive limit over 150 MB", Env: with("MAILBRIDGE_ARCHIVE_MAX_BYTES", "200000000"), Want: []string{`MAILBRIDGE_ARCHIVE_MAX_BYTES="200000000"`, "between"}},
		{Name: "batch concurrency zero", Env: with("MAILBRIDGE_BATCH_CONCURRENCY", "0"), Want: []string{`MAILBRIDGE_BATCH_CONCURRENCY="0"`, "between 1 and 500"}},
	}...))
}
