package graphsim_test

import (
	"fmt"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

func TestBatch(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	e.addMessage(alice, "inbox", "hello")
	req := func(id, method, url string) map[string]any {
		return map[string]any{"id": id, "method": method, "url": url}
	}
	many := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = req(fmt.Sprint(i+1), "GET", "/users/"+alice+"/mailFolders/inbox")
		}
		return out
	}
	tests := []struct {
		name     string
		requests []any
		status   int
		subs     map[string]int // sub-request id -> status
	}{
		{"20 requests", many(20), 200, nil},
		{"21 requests", many(21), 400, nil},
		{"empty", []any{}, 400, nil},
		{"duplicate ids", []any{req("1", "GET", "/users/"+alice), req("1", "GET", "/users/"+bob)}, 400, nil},
		{"mixed answers", []any{
			req("a", "GET", "/users/"+alice+"/mailFolders/inbox/messages/delta"),
			req("b", "GET", "/users/"+carol+"/mailFolders/inbox"),
			req("c", "GET", "/users/nobody@contoso.com/mailFolders/inbox"),
			map[string]any{"id": "d", "method": "POST", "url": "/users/" + alice + "/events", "body": newEvent("From a batch", "tx-b", ""), "headers": map[string]string{"Content-Type": "application/json"}},
		}, 200, map[string]int{"a": 200, "b": 403, "c": 404, "d": 201}},
		{"dependsOn after a failure", []any{
			req("1", "GET", "/users/"+carol+"/mailFolders/inbox"),
			map[string]any{"id": "2", "method": "GET", "url": "/users/" + alice + "/mailFolders/inbox", "dependsOn": []string{"1"}},
		}, 200, map[string]int{"1": 403, "2": 424}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/$batch", map[string]any{"requests": tc.requests})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if r.status != 200 {
				return
			}
			resps := r.body["responses"].([]any)
			if len(resps) != len(tc.requests) {
				t.Fatalf("%d responses for %d requests", len(resps), len(tc.requests))
			}
			for _, x := range resps {
				sub := x.(map[string]any)
				want, ok := tc.subs[sub["id"].(string)]
				if !ok {
					want = 200
				}
				if int(sub["status"].(float64)) != want {
					t.Errorf("sub-request %v: %v, want %d: %v", sub["id"], sub["status"], want, sub["body"])
				}
				if want >= 400 && want != 424 {
					if _, ok := sub["body"].(map[string]any)["error"]; !ok {
						t.Errorf("sub-request %v without an error body", sub["id"])
					}
				}
			}
		})
	}
	// Twenty requests to one mailbox never exceed the mailbox's cap.
	if st := e.graph.Stats(); st.PeakInFlight[alice] > graphsim.DefaultMaxConcurrency || st.Throttled != 0 {
		t.Errorf("batch went beyond the cap: %+v", st)
	}
}
