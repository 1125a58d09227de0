package main

import (
	"maps"
	"testing"

	"github.com/mailbridge/mailbridge/functions/internal/starttest"
)

// A malformed or missing setting stops start-up: exit 1, one log line
// naming the variable and its value.
func TestBadSettingStopsStartup(t *testing.T) {
	valid := map[string]string{"MAILBRIDGE_TABLE": "t"}
	with := func(k, v string) map[string]string {
		m := maps.Clone(valid)
		m[k] = v
		return m
	}
	starttest.Run(t, main, []starttest.Case{
		{Name: "valid settings are accepted", Env: valid},
		{Name: "table missing", Env: with("MAILBRIDGE_TABLE", ""), Want: []string{"MAILBRIDGE_TABLE is not set"}},
		{Name: "audit retention malformed", Env: with("MAILBRIDGE_AUDIT_RETENTION_DAYS", "ninety"), Want: []string{`MAILBRIDGE_AUDIT_RETENTION_DAYS="ninety"`, "not an integer"}},
		{Name: "private ranges malformed", Env: with("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS", "10.0.0.0/8,bogus"), Want: []string{`MAILBRIDGE_ALLOWED_PRIVATE_CIDRS="10.0.0.0/8,bogus"`}},
		{Name: "stage malformed", Env: with("MAILBRIDGE_STAGE", "Prod_1"), Want: []string{`MAILBRIDGE_STAGE="Prod_1"`}},
	})
}
