package api

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

// TestMain runs the suite, then the checks over everything it saw: every
// status an operation answered is one the OpenAPI document lists for it,
// and (secretscan) no form of any credential the tests used is in a log
// line, an API answer or a stored record (bolt files, encrypted secrets
// files, DynamoDB Local tables).
func TestMain(m *testing.M) {
	code := m.Run()
	if s := hostileSummary(); s != "" {
		fmt.Println(s)
	}
	standin.Stop() // DynamoDB Local and moto_server, if this binary started them
	if code == 0 {
		if problems := openAPIChecks(); len(problems) > 0 {
			for _, p := range problems {
				fmt.Fprintln(os.Stderr, "FAIL:", p)
			}
			code = 1
		}
	}
	os.Exit(secretscan.Finish(code))
}

func openAPIChecks() []string {
	seen.Lock()
	defer seen.Unlock()
	if len(seen.responses) == 0 {
		return nil
	}
	doc, _, err := parseOpenAPI()
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for op, statuses := range seen.responses {
		for st := range statuses {
			if !slices.Contains(doc[op], st) {
				problems = append(problems, fmt.Sprintf("%s answered %d, which infra/openapi.yaml does not list", op, st))
			}
		}
	}
	return problems
}
