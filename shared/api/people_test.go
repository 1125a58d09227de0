package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestPeopleAPI: on both stores, the people the simulated organisation
// holds, looked up as a registered mailbox, with one audit entry that
// names the lookup and the length of q, never q itself.
func TestPeopleAPI(t *testing.T) {
	for _, st := range []struct {
		name string
		mk   func(testing.TB, ...envOption) *env
	}{{"bolt", newEnv}, {"dynamodb", awsEnv}} {
		t.Run(st.name, func(t *testing.T) {
			e, _ := availabilitySimEnv(t, st.mk)
			e.addMailboxes("contoso", "ann@contoso.com")
			out := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/ANN@contoso.com/people?q=bob"}, 200)
			if got := fmt.Sprint(out["people"]); got != "[map[address:bob@contoso.com displayName:bob kind:user]]" {
				t.Errorf("people %s", got)
			}
			none := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/ann@contoso.com/people?q=" + "Zebulon%20Quaxley"}, 200)
			if got, ok := none["people"].([]any); !ok || len(got) != 0 {
				t.Errorf("nobody: %v, want an empty list", none["people"])
			}
			entries, _, err := e.store.ListAudit(context.Background(), "contoso", domain.AuditQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for _, a := range entries {
				if strings.HasPrefix(a.Operation, "people.find") {
					seen = append(seen, a.Operation+" -> "+a.Result+" as "+a.Mailbox)
					if strings.Contains(a.Operation, "bob") || strings.Contains(a.Operation, "Zebulon") {
						t.Errorf("the audit entry holds q: %+v", a)
					}
				}
			}
			want := []string{"people.find (q: 3 characters) by an unauthenticated caller -> found 1 as ann@contoso.com",
				"people.find (q: 15 characters) by an unauthenticated caller -> found 0 as ann@contoso.com"}
			for _, w := range want {
				found := false
				for _, s := range seen {
					found = found || s == w
				}
				if !found {
					t.Errorf("no audit entry %q in %q", w, seen)
				}
			}
		})
	}
}

// TestPeopleHostile: bad q, addresses and tenants get JSON 4xx naming the
// problem, before Exchange is called, and change nothing.
func TestPeopleHostile(t *testing.T) {
	e, sim := availabilitySimEnv(t, newEnv)
	e.addMailboxes("contoso", "ann@contoso.com")
	const people = "/tenants/contoso/mailboxes/ann@contoso.com/people"
	cases := []refusedCase{
		{"no q", req{method: "GET", path: people}, 400, "q", "required"},
		{"empty q", req{method: "GET", path: people + "?q="}, 400, "q", "required"},
		{"blank q", req{method: "GET", path: people + "?q=%20%20"}, 400, "q", "required"},
		{"q too long", req{method: "GET", path: people + "?q=" + strings.Repeat("a", 101)}, 400, "q", "at most 100"},
		{"q too long in characters", req{method: "GET", path: people + "?q=" + strings.Repeat("%C3%A9", 101)}, 400, "q", "at most 100"},
		{"q with a control character", req{method: "GET", path: people + "?q=ann%00"}, 400, "q", "control"},
		{"q not UTF-8", req{method: "GET", path: people + "?q=%FF%FE"}, 400, "q", "UTF-8"},
		{"q twice", req{method: "GET", path: people + "?q=ann&q=bob"}, 400, "q", "more than once"},
		{"unknown parameter", req{method: "GET", path: people + "?q=ann&top=500"}, 400, "top", "unknown"},
		{"mailbox not registered", req{method: "GET", path: "/tenants/contoso/mailboxes/bob@contoso.com/people?q=ann"}, 404, "", "not registered"},
		{"malformed mailbox", req{method: "GET", path: "/tenants/contoso/mailboxes/bob/people?q=ann"}, 400, "address", ""},
		{"unknown tenant", req{method: "GET", path: "/tenants/globex/mailboxes/ann@contoso.com/people?q=ann"}, 404, "", "globex"},
		{"bad tenant id", req{method: "GET", path: "/tenants/Bad_Id!/mailboxes/ann@contoso.com/people?q=ann"}, 400, "id", ""},
		{"POST", req{method: "POST", path: people + "?q=ann", body: "{}"}, 405, "", "GET"},
	}
	assertRefused(t, e, sim, cases)
}
