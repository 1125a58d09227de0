package ewssim_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// recordAll makes e keep every response (one per distinct shape) for
// assertBodiesValid.
func recordAll(e *testEnv) { e.rec = &recorder{files: map[string][]byte{}} }

var soapBody = regexp.MustCompile(`(?s)<s:Body[^>]*>(.*)</s:Body>`)

// assertBodiesValid validates the operation element of every response e
// recorded against the official EWS schema (the header is the same
// constant in every response, validated by
// TestEveryOperationAnswersSchemaValidXML). It runs xmllint once over all
// of them, keeping each response's own prefixes: validate-soap
// re-serializes elements with new prefixes, which breaks QNames in
// attribute values (ConvertId's xsi:type="t:AlternateIdType"), and loads
// the schema once per element.
func assertBodiesValid(t *testing.T, e *testEnv) {
	t.Helper()
	validator := validatorPath(t)
	schema := filepath.Join(filepath.Dir(validator), "schema", "v2017", "ews.xsd")
	dir := t.TempDir()
	e.rec.mu.Lock()
	var files []string
	names := map[string]string{}
	for name, b := range e.rec.files {
		m := soapBody.FindSubmatch(b)
		if m == nil || bytes.Contains(m[1], []byte("<s:Fault>")) {
			continue
		}
		p := filepath.Join(dir, fmt.Sprintf("%03d.xml", len(files)))
		if err := os.WriteFile(p, m[1], 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
		names[p] = name
	}
	e.rec.mu.Unlock()
	if len(files) == 0 {
		t.Fatal("no response was recorded")
	}
	out, err := exec.Command("xmllint", append([]string{"--noout", "--schema", schema}, files...)...).CombinedOutput()
	if err != nil {
		var bad []string
		for _, line := range strings.Split(string(out), "\n") {
			for p, name := range names {
				if strings.HasPrefix(line, p+" fails to validate") {
					bad = append(bad, name)
				}
			}
		}
		t.Fatalf("%d of %d responses do not validate (%v): %s\n%s", len(bad), len(files), err, strings.Join(bad, ", "), out)
	}
}
