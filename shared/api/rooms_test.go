package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestRoomsAPI: on both stores, the room lists and rooms the simulated
// organisation holds, one list's rooms in its order, every room once, an
// unknown list as 404; nothing is stored.
func TestRoomsAPI(t *testing.T) {
	for _, st := range []struct {
		name string
		mk   func(testing.TB, ...envOption) *env
	}{{"bolt", newEnv}, {"dynamodb", awsEnv}} {
		t.Run(st.name, func(t *testing.T) {
			e, _ := availabilitySimEnv(t, st.mk)
			e.addMailboxes("contoso", "ann@contoso.com") // the mailbox the reads impersonate
			before := e.snapshotBut("rooms.read", "roomlists.read")
			lists := e.must(req{method: "GET", path: "/tenants/contoso/roomlists"}, 200)
			if got := fmt.Sprint(lists["roomLists"]); got != "[map[address:hq@contoso.com displayName:HQ] map[address:annex@contoso.com displayName:Annex]]" {
				t.Errorf("room lists %s", got)
			}
			rooms := func(q string) string {
				out := e.must(req{method: "GET", path: "/tenants/contoso/rooms" + q}, 200)
				var addrs []string
				for _, r := range out["rooms"].([]any) {
					addrs = append(addrs, r.(map[string]any)["address"].(string))
				}
				return strings.Join(addrs, ",")
			}
			if got := rooms("?roomList=HQ@contoso.com"); got != "room2@contoso.com,room1@contoso.com" {
				t.Errorf("rooms of hq: %s", got)
			}
			if got := rooms(""); got != "room1@contoso.com,room2@contoso.com,room3@contoso.com" {
				t.Errorf("every room: %s", got)
			}
			w := e.do(req{method: "GET", path: "/tenants/contoso/rooms?roomList=nolist@contoso.com"})
			var body errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 404 || !strings.Contains(body.Error.Message, "roomlists") {
				t.Errorf("unknown room list = %d %s", w.Code, w.Body)
			}
			if e.snapshotBut("rooms.read", "roomlists.read") != before {
				t.Error("reading rooms changed the stores (beyond their audit entries)")
			}
			// Each read is audited with who asked and what it found.
			if got := auditOps(e, "room"); got != "roomlists.read by an unauthenticated caller: found 2; rooms.read by an unauthenticated caller: found 3; "+
				"rooms.read of hq@contoso.com by an unauthenticated caller: found 2; rooms.read of nolist@contoso.com by an unauthenticated caller: failed: no such room list" {
				t.Errorf("audit: %s", got)
			}
		})
	}
}

// TestRoomsHostile: bad query parameters and tenants get JSON 4xx naming
// the problem, before Exchange is called.
func TestRoomsHostile(t *testing.T) {
	e, sim := availabilitySimEnv(t, newEnv)
	cases := []refusedCase{
		{"empty roomList", req{method: "GET", path: "/tenants/contoso/rooms?roomList="}, 400, "roomList", "leave it out"},
		{"roomList not an address", req{method: "GET", path: "/tenants/contoso/rooms?roomList=HQ%20rooms"}, 400, "roomList", "plain address"},
		{"roomList a path", req{method: "GET", path: "/tenants/contoso/rooms?roomList=..%2F..%2Fusers%2Fx"}, 400, "roomList", "plain address"},
		{"roomList non-ASCII", req{method: "GET", path: "/tenants/contoso/rooms?roomList=%E2%84%AAate@contoso.com"}, 400, "roomList", "ASCII"},
		{"roomList twice", req{method: "GET", path: "/tenants/contoso/rooms?roomList=a@contoso.com&roomList=b@contoso.com"}, 400, "roomList", "more than once"},
		{"roomList too long", req{method: "GET", path: "/tenants/contoso/rooms?roomList=" + strings.Repeat("a", 250) + "@contoso.com"}, 400, "roomList", "longer"},
		{"unknown parameter on rooms", req{method: "GET", path: "/tenants/contoso/rooms?building=HQ"}, 400, "building", "unknown"},
		{"unknown parameter on room lists", req{method: "GET", path: "/tenants/contoso/roomlists?roomList=hq@contoso.com"}, 400, "roomList", "unknown"},
		{"unknown tenant", req{method: "GET", path: "/tenants/globex/roomlists"}, 404, "", "globex"},
		{"bad tenant id", req{method: "GET", path: "/tenants/Bad_Id!/rooms"}, 400, "id", ""},
		{"POST room lists", req{method: "POST", path: "/tenants/contoso/roomlists", body: "{}"}, 405, "", "GET"},
	}
	assertRefused(t, e, sim, cases)
}

// auditOps is the tenant contoso's audit entries whose operation starts
// with prefix, oldest first, as "operation: result; ...".
func auditOps(e *env, prefix string) string {
	e.t.Helper()
	as, _, err := e.store.ListAudit(context.Background(), "contoso", domain.AuditQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		if strings.HasPrefix(a.Operation, prefix) {
			out = append(out, a.Operation+": "+a.Result)
		}
	}
	slices.Sort(out) // the stores list entries of one instant in different orders
	return strings.Join(out, "; ")
}
