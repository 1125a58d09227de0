package teststandin

import (
	"net/http"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// Both stand-ins answer HTTP at the endpoint they report.
func TestStandinsAnswer(t *testing.T) {
	for name, get := range map[string]func(testing.TB) string{"dynamodb": DynamoDB, "moto": Moto} {
		t.Run(name, func(t *testing.T) {
			ep := get(t)
			if !strings.HasPrefix(ep, "http://") {
				t.Fatalf("endpoint %q is not an http URL", ep)
			}
			resp, err := http.Get(ep + "/")
			if err != nil {
				t.Fatalf("%s does not answer: %v", ep, err)
			}
			resp.Body.Close()
		})
	}
}
