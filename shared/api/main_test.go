package api

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

// TestMain runs the suite, then two checks over everything it saw: no secret
// value used by any test appears in any log line or API answer, and every
// status an operation answered is one the OpenAPI document lists for it.
func TestMain(m *testing.M) {
	code := m.Run()
	if s := hostileSummary(); s != "" {
		fmt.Println(s)
	}
	standin.Stop() // DynamoDB Local and moto_server, if this binary started them
	if code == 0 {
		if problems := suiteChecks(); len(problems) > 0 {
			for _, p := range problems {
				fmt.Fprintln(os.Stderr, "FAIL:", p)
			}
			code = 1
		}
	}
	os.Exit(code)
}

func suiteChecks() []string {
	seen.Lock()
	defer seen.Unlock()
	if len(seen.secrets) == 0 || seen.output.Len() == 0 {
		// A -run filter may skip the tests that use secrets.
		return nil
	}
	problems := findLeaks(seen.output.String(), sortedKeys(seen.secrets))
	doc, _, err := parseOpenAPI()
	if err != nil {
		return append(problems, err.Error())
	}
	for op, statuses := range seen.responses {
		for st := range statuses {
			if !slices.Contains(doc[op], st) {
				problems = append(problems, fmt.Sprintf("%s answered %d, which infra/openapi.yaml does not list", op, st))
			}
		}
	}
	return problems
}

// findLeaks reports each secret found in output, naming it only by a prefix.
func findLeaks(output string, secrets []string) []string {
	var problems []string
	for _, s := range secrets {
		// Every form it could travel in: raw, JSON-escaped (a JSON log or
		// answer), base64, URL-encoded, UTF-16.
		if hits := secretscan.Find(output, nil, s); len(hits) > 0 {
			problems = append(problems, fmt.Sprintf("secret value %q appears in captured logs or API answers (%s)", s[:min(4, len(s))]+"...", hits[0].Form.Name))
		}
	}
	return problems
}

// TestFindLeaks shows the suite-wide check catches a leak, including one
// JSON would escape differently, so its silence at the end means something.
func TestFindLeaks(t *testing.T) {
	out := `{"level":"ERROR","msg":"request failed","error":"auth failed for svc with Leaky-pw-1"}` +
		`{"password":"p\u003cw\u003e\"q"}`
	got := findLeaks(out, []string{"Leaky-pw-1", "Never-logged-2", `p<w>"q`})
	if len(got) != 2 || !strings.Contains(got[0], "Leak...") || !strings.Contains(got[1], "p<w>...") {
		t.Fatalf("findLeaks = %v, want two leaks", got)
	}
}
