package api

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// doAs serves one request as an authenticated IAM caller (what
// LambdaHandler takes from API Gateway's request context).
func (e *env) doAs(caller string, r req) *httptest.ResponseRecorder {
	e.t.Helper()
	hr := httptest.NewRequest(r.method, "http://api.test"+r.path, strings.NewReader(r.body))
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr = hr.WithContext(withCaller(hr.Context(), caller))
	_, pattern := e.srv.mux.Handler(hr)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, hr)
	e.note(pattern, w.Code, w.Header(), w.Body.Bytes())
	if !e.quiet && !e.noValidate {
		checkResponse(e.t, hr, w)
	}
	return w
}

// listTenantIDs pages through GET /tenants as caller with page size limit
// and returns the ids listed and the number of pages.
func listTenantIDs(t *testing.T, e *env, caller string, limit string) ([]string, int) {
	t.Helper()
	var ids []string
	cursor, pages := "", 0
	for {
		p := "/tenants?limit=" + limit
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		w := e.doAs(caller, req{method: "GET", path: p})
		if w.Code != 200 {
			t.Fatalf("GET %s as %q = %d: %s", p, caller, w.Code, w.Body)
		}
		var page struct {
			Tenants []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"tenants"`
			NextCursor string `json:"nextCursor"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tn := range page.Tenants {
			ids = append(ids, tn.ID)
		}
		if page.NextCursor == "" {
			return ids, pages
		}
		if pages > 20 {
			t.Fatalf("listing does not end: %v", ids)
		}
		cursor = page.NextCursor
	}
}

func TestListTenants(t *testing.T) {
	const (
		operator   = "arn:aws:sts::123456789012:assumed-role/mailbridge-operator/ops"
		contosoApp = "arn:aws:sts::123456789012:assumed-role/contoso-app/session-1"
		stranger   = "arn:aws:iam::123456789012:user/stranger"
	)
	for name, open := range map[string]func(testing.TB, ...envOption) *env{"bolt": newEnv, "DynamoDB Local": awsEnv} {
		t.Run("every tenant, in id order, paged, on "+name, func(t *testing.T) {
			testListAllTenants(t, open(t))
		})
	}
	t.Run("bad limits and cursors are 400 and name the field", func(t *testing.T) {
		e := newEnv(t)
		e.onboard("contoso", basicCred("svc", "List-pw-x"))
		e.onboard("globex", basicCred("svc", "List-pw-y"))
		page := e.must(req{method: "GET", path: "/tenants?limit=1"}, 200)
		next, _ := page["nextCursor"].(string)
		if next == "" {
			t.Fatalf("first page of 2 by 1 has no nextCursor: %v", page)
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=abc", "limit=-1", "cursor=%25%25", "cursor=abc.def",
			"cursor=" + url.QueryEscape(next[:len(next)-2]+"xx"), "status=active"} {
			w := e.do(req{method: "GET", path: "/tenants?" + q})
			if w.Code != 400 {
				t.Errorf("GET /tenants?%s = %d, want 400: %s", q, w.Code, w.Body)
			}
		}
	})
	t.Run("a restricted caller sees only its tenants; its cursor is its own", func(t *testing.T) {
		e := newEnv(t, func(d *Deps) {
			d.CallerTenants = map[string][]string{
				operator: {"*"},
				"arn:aws:sts::123456789012:assumed-role/contoso-app/*": {"contoso-5", "contoso-2", "contoso-ghost"},
			}
		})
		for _, id := range []string{"contoso-1", "contoso-2", "contoso-3", "contoso-5", "globex-1"} {
			if w := e.doAs(operator, req{method: "POST", path: "/tenants", body: tenantBody(id, "https://mail."+strings.Split(id, "-")[0]+".com/EWS/Exchange.asmx", basicCred("svc", "List-pw-"+id), "")}); w.Code != 201 {
				t.Fatalf("create %s = %d %s", id, w.Code, w.Body)
			}
		}
		got, pages := listTenantIDs(t, e, contosoApp, "1")
		if want := []string{"contoso-2", "contoso-5"}; !slices.Equal(got, want) || pages != 2 {
			t.Fatalf("restricted caller listed %v in %d pages, want %v in 2 (no empty last page)", got, pages, want)
		}
		if got, _ := listTenantIDs(t, e, operator, "2"); len(got) != 5 {
			t.Fatalf("operator listed %v, want all 5", got)
		}
		for _, c := range []string{stranger, ""} {
			if w := e.doAs(c, req{method: "GET", path: "/tenants"}); w.Code != 403 {
				t.Errorf("GET /tenants as %q = %d, want 403: %s", c, w.Code, w.Body)
			}
		}
		// A restricted caller's cursor does not page the operator's
		// listing, nor the other way round.
		var rp, op map[string]any
		_ = json.Unmarshal(e.doAs(contosoApp, req{method: "GET", path: "/tenants?limit=1"}).Body.Bytes(), &rp)
		_ = json.Unmarshal(e.doAs(operator, req{method: "GET", path: "/tenants?limit=1"}).Body.Bytes(), &op)
		for _, tc := range []struct {
			caller, cursor string
		}{{operator, rp["nextCursor"].(string)}, {contosoApp, op["nextCursor"].(string)}} {
			if w := e.doAs(tc.caller, req{method: "GET", path: "/tenants?cursor=" + url.QueryEscape(tc.cursor)}); w.Code != 400 || !strings.Contains(w.Body.String(), `"cursor"`) {
				t.Errorf("another listing's cursor as %s = %d, want 400 naming cursor: %s", tc.caller, w.Code, w.Body)
			}
		}
	})
}

func testListAllTenants(t *testing.T, e *env) {
	var want []string
	for _, id := range []string{"contoso-5", "contoso-1", "globex-7", "contoso-3", "globex-2", "contoso-6", "contoso-4"} {
		e.onboard(id, basicCred("svc", "List-pw-"+id))
		want = append(want, id)
	}
	e.must(req{method: "DELETE", path: "/tenants/contoso-6"}, 204)
	slices.Sort(want)
	got, pages := listTenantIDs(t, e, "", "3")
	// contoso-6 is purged at once here (no queue holds it back).
	want = slices.DeleteFunc(want, func(id string) bool { return id == "contoso-6" })
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	if pages != 2 {
		t.Errorf("6 tenants by 3 took %d pages, want 2", pages)
	}
	if got, _ := listTenantIDs(t, e, "", "1000"); !slices.Equal(got, want) {
		t.Fatalf("one page listed %v, want %v", got, want)
	}
}
