package ewssim_test

import (
	"context"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// recordAll makes e keep every response (one per distinct shape) for
// assertSchemaValid.
func recordAll(e *testEnv) { e.rec = &recorder{files: map[string][]byte{}} }

// assertSchemaValid validates every response e recorded against the
// official EWS schema, as TestEveryOperationAnswersSchemaValidXML does.
func assertSchemaValid(t *testing.T, e *testEnv) {
	t.Helper()
	validator := validatorPath(t)
	dir := t.TempDir()
	n := e.rec.writeTo(t, dir)
	if n == 0 {
		t.Fatal("no response was recorded")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", validator, dir).CombinedOutput()
	summary := regexp.MustCompile(`(\d+) passed, (\d+) failed`).FindStringSubmatch(string(out))
	if err != nil || summary == nil || summary[2] != "0" {
		t.Fatalf("validate-soap failed (%v):\n%s", err, out)
	}
}
