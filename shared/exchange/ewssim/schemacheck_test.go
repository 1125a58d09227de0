package ewssim_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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

// assertBodiesValid validates the operation element of every recorded
// response with xmllint directly, keeping the response's own prefixes:
// validate-soap re-serializes elements with new prefixes, which breaks
// QNames in attribute values (ConvertId's xsi:type="t:AlternateIdType").
func assertBodiesValid(t *testing.T, e *testEnv) {
	t.Helper()
	validator := validatorPath(t)
	schema := filepath.Join(filepath.Dir(validator), "schema", "v2017", "ews.xsd")
	body := regexp.MustCompile(`(?s)<s:Body[^>]*>(.*)</s:Body>`)
	dir := t.TempDir()
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	n := 0
	for name, b := range e.rec.files {
		m := body.FindSubmatch(b)
		if m == nil || strings.Contains(string(m[1]), "<s:Fault>") {
			continue
		}
		p := filepath.Join(dir, fmt.Sprintf("%03d.xml", n))
		n++
		if err := os.WriteFile(p, m[1], 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("xmllint", "--noout", "--schema", schema, p).CombinedOutput(); err != nil {
			t.Errorf("%s does not validate: %v\n%s", name, err, out)
		}
	}
	if n == 0 {
		t.Fatal("no response was validated")
	}
}
