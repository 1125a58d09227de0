package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/aws/smsecrets"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/dynamotable"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

// awsEnv serves the API over the deployment's adapters: a fresh table in
// DynamoDB Local and a fresh stage in moto_server's Secrets Manager.
func awsEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	var r [6]byte
	_, _ = rand.Read(r[:])
	suffix := hex.EncodeToString(r[:])
	cfg := standin.AWSConfig()
	client := dynamostore.NewClient(cfg, standin.DynamoDB(t))
	_, table := dynamotable.New(t, client, "mailbridge-api")
	st, err := dynamostore.New(client, dynamostore.Options{Table: table, Clock: fixedClock{testNow}})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := smsecrets.New(smsecrets.NewClient(cfg, standin.Moto(t)), smsecrets.Options{Stage: "api" + suffix})
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, st, sec, opts...)
}

// TestAPIOnAWSAdapters runs an operator's day over DynamoDB and Secrets
// Manager: onboard (with a replayed Idempotency-Key), mailboxes with paging,
// verify, rotation, offboarding, and onboarding the same id again while
// the old secret waits out its recovery window.
func TestAPIOnAWSAdapters(t *testing.T) {
	e := awsEnv(t)
	cred := basicCred("svc", "Aws-Adapter-pw-1")
	body := tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", cred, "")
	key := map[string]string{"Idempotency-Key": "onboard-contoso"}
	first := e.must(req{method: "POST", path: "/tenants", body: body, header: key}, 201)
	again := e.must(req{method: "POST", path: "/tenants", body: body, header: key}, 201)
	if fmt.Sprint(first) != fmt.Sprint(again) {
		t.Fatalf("replay differs: %v / %v", first, again)
	}

	var addrs []string
	for i := range 25 {
		addrs = append(addrs, fmt.Sprintf("user%02d@contoso.com", i))
	}
	if out := e.addMailboxes("contoso", addrs...); out["added"] != 25.0 {
		t.Fatalf("bulk add = %v", out)
	}
	var listed []string
	cursor := ""
	for pages := 0; ; pages++ {
		path := "/tenants/contoso/mailboxes?limit=10"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page := e.must(req{method: "GET", path: path}, 200)
		for _, m := range page["mailboxes"].([]any) {
			listed = append(listed, m.(map[string]any)["address"].(string))
		}
		next, _ := page["nextCursor"].(string)
		if next == "" || pages > 5 {
			break
		}
		cursor = next
	}
	if strings.Join(listed, ",") != strings.Join(addrs, ",") {
		t.Fatalf("paged listing = %v", listed)
	}

	e.checker.reports["user03@contoso.com"] = domain.AccessReport{Mailbox: "user03@contoso.com", Status: domain.MailboxOutOfScope, Hint: "add it to the scope"}
	rep := e.must(req{method: "POST", path: "/tenants/contoso/verify"}, 200)
	if s := rep["summary"].(map[string]any); s["ok"] != 24.0 || s["out_of_scope"] != 1.0 {
		t.Fatalf("verify summary = %v", s)
	}
	if n := len(e.must(req{method: "GET", path: "/tenants/contoso/mailboxes?status=out_of_scope"}, 200)["mailboxes"].([]any)); n != 1 {
		t.Fatalf("%d out-of-scope mailboxes listed, want 1", n)
	}
	if n := len(e.must(req{method: "GET", path: "/tenants/contoso/audit?limit=1000"}, 200)["entries"].([]any)); n != 25 {
		t.Fatalf("%d audit entries, want 25", n)
	}

	newCred := basicCred("svc", "Aws-Adapter-pw-2")
	nb, _ := domain.MarshalCredential(newCred)
	e.must(req{method: "PUT", path: "/tenants/contoso/credentials", body: `{"credentials":` + string(nb) + `}`}, 200)
	if c, _ := e.secrets.get("contoso"); c.Password != newCred.Password {
		t.Fatal("rotation did not reach Secrets Manager")
	}

	e.must(req{method: "DELETE", path: "/tenants/contoso"}, 204)
	e.must(req{method: "GET", path: "/tenants/contoso"}, 404)
	if _, ok := e.secrets.get("contoso"); ok {
		t.Fatal("the secret is still readable after offboarding")
	}
	if ms, _, err := e.store.ListMailboxes(context.Background(), "contoso", domain.MailboxQuery{Limit: 100}); err != nil || len(ms) != 0 {
		t.Fatalf("mailboxes after purge: %v %v", ms, err)
	}

	// The same id can be onboarded again: the old secret is still in its
	// recovery window.
	third := basicCred("svc", "Aws-Adapter-pw-3")
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", third, "")}, 201)
	if c, _ := e.secrets.get("contoso"); c.Password != third.Password {
		t.Fatal("re-onboarding did not store the new credential")
	}
}
