package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Creates racing deletes of one tenant must never leave a secret without
// its tenant, nor an active tenant without its secret, and every answer
// must be one the OpenAPI document lists, with a JSON error body.
func TestCreateDeleteRace(t *testing.T) {
	raceCreateDelete(t, newEnv(t), 40)
}

// The same over DynamoDB Local and moto's Secrets Manager (fewer rounds:
// each call is a network round trip).
func TestCreateDeleteRaceOnAWSAdapters(t *testing.T) {
	raceCreateDelete(t, awsEnv(t), 6)
}

type raceAnswer struct {
	op     string
	status int
	body   []byte
}

func raceCreateDelete(t *testing.T, e *env, rounds int) {
	doc, _, err := parseOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	const id, creates, deletes = "racer", 6, 6
	cred := basicCred("svc", "Race-pw-1")
	body := tenantBody(id, "https://mail.contoso.com/EWS/Exchange.asmx", cred, "")
	ctx := context.Background()
	for round := range rounds {
		start := make(chan struct{})
		answers := make(chan raceAnswer, creates+deletes)
		var wg sync.WaitGroup
		for i := range creates + deletes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := req{method: "POST", path: "/tenants", body: body}
				op := "POST /tenants"
				if i%2 == 1 { // interleave, so both kinds start together
					r, op = req{method: "DELETE", path: "/tenants/" + id}, "DELETE /tenants/{id}"
				}
				w := e.do(r)
				answers <- raceAnswer{op, w.Code, w.Body.Bytes()}
			}()
		}
		close(start)
		wg.Wait()
		close(answers)
		for a := range answers {
			if !slices.Contains(doc[a.op], a.status) {
				t.Errorf("round %d: %s answered %d, which infra/openapi.yaml does not list: %s", round, a.op, a.status, a.body)
			}
			if a.status >= 400 {
				var eb errorBody
				if err := json.Unmarshal(a.body, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
					t.Errorf("round %d: %s answered %d with %q, not a JSON error", round, a.op, a.status, a.body)
				}
				if a.status == http.StatusInternalServerError {
					t.Errorf("round %d: %s failed: %s", round, a.op, a.body)
				}
			}
		}
		checkTenantSecret(t, e, id, fmt.Sprintf("round %d", round))
		if _, err := e.store.GetTenant(ctx, id); err == nil {
			e.must(req{method: "DELETE", path: "/tenants/" + id}, 204)
			checkTenantSecret(t, e, id, fmt.Sprintf("round %d, after the clean-up", round))
		}
	}
}

// checkTenantSecret asserts: a secret is stored only with its tenant, and
// an active tenant has its secret, with the fingerprint of it. A tenant
// offboarded while a create was writing its secret stays, offboarded and
// without a secret, until DELETE is sent again (the clean-up does).
func checkTenantSecret(t *testing.T, e *env, id, when string) {
	t.Helper()
	tn, err := e.store.GetTenant(context.Background(), id)
	if err != nil && !domain.IsNotFound(err) {
		t.Fatal(err)
	}
	c, hasSecret := e.secrets.get(id)
	switch {
	case err == nil && tn.Status == domain.TenantOffboarded && !hasSecret:
	case err != nil && hasSecret:
		t.Fatalf("%s: the tenant is gone but its secret is still stored", when)
	case err == nil && !hasSecret:
		t.Fatalf("%s: tenant %+v has no secret", when, tn)
	case err == nil && (tn.Status != domain.TenantActive || tn.CredentialFingerprint != c.Fingerprint()):
		t.Fatalf("%s: tenant left %q with fingerprint %q, secret's %q", when, tn.Status, tn.CredentialFingerprint, c.Fingerprint())
	}
}
