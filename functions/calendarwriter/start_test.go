package main

import (
	"maps"
	"testing"

	"github.com/mailbridge/mailbridge/functions/internal/starttest"
)

// A malformed or missing setting stops start-up: exit 1, one log line
// naming the variable and its value.
func TestBadSettingStopsStartup(t *testing.T) {
	valid := map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:mailbridge-dev-calendar-retry"}
	with := func(k, v string) map[string]string {
		m := maps.Clone(valid)
		m[k] = v
		return m
	}
	starttest.Run(t, main, []starttest.Case{
		{Name: "valid settings are accepted", Env: valid},
		{Name: "table missing", Env: with("MAILBRIDGE_TABLE", ""), Want: []string{"MAILBRIDGE_TABLE is not set"}},
		{Name: "audit retention malformed", Env: with("MAILBRIDGE_AUDIT_RETENTION_DAYS", "ninety"), Want: []string{`MAILBRIDGE_AUDIT_RETENTION_DAYS="ninety"`, "not an integer"}},
		{Name: "state machine missing", Env: with("MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN", ""), Want: []string{"MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN is not set"}},
		{Name: "state machine malformed", Env: with("MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN", "calendar-retry"), Want: []string{`MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN="calendar-retry"`, "state machine ARN"}},
	})
}
