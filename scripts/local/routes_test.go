package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/testsupport/openapicheck"
)

// TestLocalRunServesEveryRoute: every operation infra/openapi.yaml
// describes (method and path) is served by the local run: none answers the
// router's "no such route" 404 or a 405, and each answer matches the
// document. The requests name a tenant that does not exist, so nothing
// changes and each route answers its own error.
func TestLocalRunServesEveryRoute(t *testing.T) {
	ops, err := openapicheck.Operations()
	if err != nil {
		t.Fatal(err)
	}
	s, err := openStack(context.Background(), testConfig(t.TempDir()), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	fill := strings.NewReplacer("{id}", "absent", "{address}", "nobody@example.com", "{clientEventId}", "evt-1")
	client := openapicheck.Client(t)
	for _, op := range ops {
		t.Run(op.Method+" "+op.Path, func(t *testing.T) {
			var body io.Reader
			if op.Method == "POST" || op.Method == "PUT" || op.Method == "PATCH" {
				body = strings.NewReader("{}")
			}
			req, err := http.NewRequest(op.Method, s.apiURL+fill.Replace(op.Path), body)
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusMethodNotAllowed || strings.Contains(string(b), "no such route") {
				t.Errorf("%s %s is not served on the local run: %d %s", op.Method, op.Path, resp.StatusCode, b)
			}
		})
	}
	fmt.Printf("openapi routes on the local run: %d operations served\n", len(ops))
}
