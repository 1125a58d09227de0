package main

import (
	"testing"

	"github.com/mailbridge/mailbridge/functions/internal/starttest"
)

// A malformed or missing setting stops start-up: exit 1, one log line
// naming the variable and its value.
func TestBadSettingStopsStartup(t *testing.T) {
	valid := map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:mailbridge-dev-calendar-retry"}
	with := func(k, v string) map[string]string { return starttest.With(valid, k, v) }
	starttest.Run(t, main, append(starttest.Common(valid), []starttest.Case{
		{Name: "state machine missing", Env: with("MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN", ""), Want: []string{"MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN is not set"}},
		{Name: "state machine malformed", Env: with("MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN", "calendar-retry"), Want: []string{`MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN="calendar-retry"`, "state machine ARN"}},
	}...))
}
