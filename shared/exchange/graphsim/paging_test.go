package graphsim_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

// TestEventListsPage: the events list and calendarView answer $top
// entries a page, cut to $select, with an @odata.nextLink ($skip) until
// the last page, so following the links reads every event once; a bad
// $top is refused with 400.
func TestEventListsPage(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	for _, s := range []string{"One", "Two", "Three"} {
		if r := e.do("POST", "/users/"+alice+"/events", newEvent(s, "", "")); r.status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", s, r.status, r.raw)
		}
	}
	for _, tc := range []struct{ name, path string }{
		{"events", "/users/" + alice + "/events?$top=2&$select=subject"},
		{"calendarView", "/users/" + alice + "/calendarView?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-03-31T00:00:00Z&$top=2&$select=subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var subjects []string
			pages := 0
			for next := tc.path; next != ""; pages++ {
				if pages == 5 {
					t.Fatal("the links do not end")
				}
				r := e.do("GET", next, nil)
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: %d %s", next, r.status, r.raw)
				}
				if !strings.HasSuffix(r.body["@odata.context"].(string), "/"+tc.name) {
					t.Errorf("context %v", r.body["@odata.context"])
				}
				for _, v := range r.values() {
					if _, ok := v["body"]; ok {
						t.Errorf("$select=subject answered the body: %v", v)
					}
					subjects = append(subjects, v["subject"].(string))
				}
				next, _ = r.body["@odata.nextLink"].(string)
			}
			sort.Strings(subjects)
			if pages != 2 || strings.Join(subjects, ",") != "One,Three,Two" {
				t.Errorf("%d pages, subjects %v; want 2 pages, each event once", pages, subjects)
			}
			if r := e.do("GET", strings.Replace(tc.path, "$top=2", "$top=0", 1), nil); r.status != http.StatusBadRequest {
				t.Errorf("$top=0: %d %s", r.status, r.raw)
			}
		})
	}
}
