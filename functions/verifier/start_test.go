package main

import (
	"testing"

	"github.com/mailbridge/mailbridge/functions/internal/starttest"
)

// A malformed or missing setting stops start-up: exit 1, one log line
// naming the variable and its value.
func TestBadSettingStopsStartup(t *testing.T) {
	valid := map[string]string{"MAILBRIDGE_TABLE": "t"}
	with := func(k, v string) map[string]string { return starttest.With(valid, k, v) }
	starttest.Run(t, main, append(starttest.Common(valid), []starttest.Case{
		{Name: "private ranges malformed", Env: with("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS", "10.0.0.0/8,bogus"), Want: []string{`MAILBRIDGE_ALLOWED_PRIVATE_CIDRS="10.0.0.0/8,bogus"`}},
		{Name: "stage malformed", Env: with("MAILBRIDGE_STAGE", "Prod_1"), Want: []string{`MAILBRIDGE_STAGE="Prod_1"`}},
	}...))
}
