// Package starttest checks, in a function's tests, that its main refuses to
// start on a bad setting: it runs the test binary again as a child process
// that calls main with only the given environment, and looks at the exit
// code and the log line. Test support only.
package starttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Case is one start-up: the environment, and what the refusal must say
// (every string must be in its error); no Want: the settings are accepted,
// and start-up goes on until lambda.Start finds no Lambda runtime.
type Case struct {
	Name string
	Env  map[string]string
	Want []string
}

const childVar = "STARTTEST_RUN_MAIN"

// With returns a copy of env with k set to v ("" for a missing setting).
func With(env map[string]string, k, v string) map[string]string {
	m := maps.Clone(env)
	m[k] = v
	return m
}

// Common returns the cases every function shares, from its valid
// settings (which must set MAILBRIDGE_TABLE): those settings accepted,
// the table missing, the audit retention malformed.
func Common(valid map[string]string) []Case {
	return []Case{
		{Name: "valid settings are accepted", Env: valid},
		{Name: "table missing", Env: With(valid, "MAILBRIDGE_TABLE", ""), Want: []string{"MAILBRIDGE_TABLE is not set"}},
		{Name: "audit retention malformed", Env: With(valid, "MAILBRIDGE_AUDIT_RETENTION_DAYS", "ninety"), Want: []string{`MAILBRIDGE_AUDIT_RETENTION_DAYS="ninety"`, "not an integer"}},
	}
}

// Run runs each case in a child process. Call it from the test function
// itself (not a subtest): the child runs that test, which calls main.
func Run(t *testing.T, main func(), cases []Case) {
	t.Helper()
	if os.Getenv(childVar) == "1" {
		main()
		return
	}
	parent := t.Name()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^"+parent+"$")
			// Only the case's settings: none of the caller's MAILBRIDGE_*
			// variables leak in; a region lets the AWS configuration load.
			// SECRETSCAN_CHILD (secretscan.ChildEnv): the child's TestMain
			// runs the test only; the parent's scans.
			cmd.Env = []string{childVar + "=1", "SECRETSCAN_CHILD=1", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}
			for k, v := range tc.Env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("main did not exit with an error (%v); stdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			refusal := refusal(stdout.String())
			if len(tc.Want) == 0 {
				if refusal != "" || !strings.Contains(stderr.String(), "expected AWS Lambda environment variables") {
					t.Fatalf("want the settings accepted and lambda.Start reached; refusal %q, stderr:\n%s", refusal, stderr.String())
				}
				return
			}
			if exit.ExitCode() != 1 || refusal == "" {
				t.Fatalf("exit %d, want 1 with a \"cannot start\" log line; stdout:\n%s\nstderr:\n%s", exit.ExitCode(), stdout.String(), stderr.String())
			}
			for _, w := range tc.Want {
				if !strings.Contains(refusal, w) {
					t.Errorf("refusal %q does not say %q", refusal, w)
				}
			}
		})
	}
}

// refusal returns the error of the one "cannot start" JSON log line in
// out, "" when there is none.
func refusal(out string) string {
	found := ""
	for line := range strings.Lines(out) {
		var rec struct{ Msg, Err string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "cannot start" {
			if found != "" {
				return "more than one \"cannot start\" line"
			}
			found = rec.Err
		}
	}
	return found
}
