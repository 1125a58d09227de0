package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// listingCase is one listing of the API and how to read its entries' keys.
type listingCase struct {
	name string
	path string // of tenant contoso, with its filters, ending in ? or &
	// foreign are the same listing's paths a cursor of path must not work
	// on: another tenant, other filters, another listing.
	foreign map[string]string
	key     func(raw json.RawMessage) string // an entry's identity
	field   string                           // the page's array
	want    []string                         // every key, in order
}

// TestListingCursors: on both stores, the mailbox and audit listings
// (filtered and not) page without skipping or repeating an entry, and a cursor that is not the
// listing's own (another tenant's, other filters', another listing's,
// edited, garbage) is a 400 with field cursor that changes nothing.
func TestListingCursors(t *testing.T) {
	for name, open := range map[string]func(testing.TB, ...envOption) *env{"bolt": newEnv, "DynamoDB Local": awsEnv} {
		t.Run(name, func(t *testing.T) { testListingCursors(t, open(t)) })
	}
}

func testListingCursors(t *testing.T, e *env) {
	ctx := context.Background()
	var contoso, globex []string
	for i := range 7 {
		contoso = append(contoso, fmt.Sprintf("user%02d@contoso.com", i))
		globex = append(globex, fmt.Sprintf("user%02d@globex.com", i))
	}
	e.onboard("contoso", basicCred("svc", "Cursor-test-pw-1"), contoso...)
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("globex", "https://mail.globex.com/EWS/Exchange.asmx", basicCred("svc", "Cursor-test-pw-2"), "")}, 201)
	e.addMailboxes("globex", globex...)
	// Three of contoso's mailboxes fail to authenticate.
	var failed []string
	for _, a := range []string{contoso[1], contoso[4], contoso[5]} {
		m, err := e.store.GetMailbox(ctx, "contoso", a)
		if err != nil {
			t.Fatal(err)
		}
		m.Status = domain.MailboxAuthFailed
		if err := e.store.PutMailbox(ctx, m); err != nil {
			t.Fatal(err)
		}
		failed = append(failed, a)
	}
	// Audit entries of both tenants, a minute apart, about two mailboxes
	// and two operations.
	var syncs, all []string
	for i := range 9 {
		op, mb := "sync", contoso[i%2]
		if i%3 == 0 {
			op = fmt.Sprintf("calendar.create evt-%d", i)
		}
		at := testNow.Add(time.Duration(i-60) * time.Minute)
		for _, tn := range []string{"contoso", "globex"} {
			if err := e.store.AppendAudit(ctx, domain.AuditEntry{TenantID: tn, Mailbox: strings.Replace(mb, "contoso", tn, 1), Operation: op, AccessMode: domain.AccessImpersonation, Result: "ok", At: at, RequestID: fmt.Sprintf("%s-%d", tn, i)}); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, fmt.Sprintf("contoso-%d", i))
		if op == "sync" && mb == contoso[1] {
			syncs = append(syncs, fmt.Sprintf("contoso-%d", i))
		}
	}
	// The audit trail also holds the onboarding's entries (none with the
	// filters below); the unfiltered audit listing is checked whole.
	auditAll := listKeys(t, e, "/tenants/contoso/audit?limit=1000", "entries", requestIDKey)
	for _, id := range all {
		if !slices.Contains(auditAll, id) {
			t.Fatalf("audit listing lacks %s: %v", id, auditAll)
		}
	}
	address := func(raw json.RawMessage) string {
		var v struct {
			Address string `json:"address"`
		}
		_ = json.Unmarshal(raw, &v)
		return v.Address
	}
	filter := func(mailbox, op string, since time.Duration) string {
		return "mailbox=" + url.QueryEscape(mailbox) + "&operation=" + op + "&since=" + url.QueryEscape(testNow.Add(since).Format(time.RFC3339)) + "&until=" + url.QueryEscape(testNow.Format(time.RFC3339))
	}
	mbFilter := filter(contoso[1], "sync", -2*time.Hour)
	cases := []listingCase{
		{
			name: "mailboxes", path: "/tenants/contoso/mailboxes?", field: "mailboxes", key: address, want: contoso,
			foreign: map[string]string{
				"another tenant":        "/tenants/globex/mailboxes?",
				"another status filter": "/tenants/contoso/mailboxes?status=auth_failed&",
				"the audit listing":     "/tenants/contoso/audit?",
			},
		},
		{
			name: "mailboxes by status", path: "/tenants/contoso/mailboxes?status=auth_failed&", field: "mailboxes", key: address, want: failed,
			foreign: map[string]string{
				"no status filter": "/tenants/contoso/mailboxes?",
				"another status":   "/tenants/contoso/mailboxes?status=pending&",
				"another tenant":   "/tenants/globex/mailboxes?status=auth_failed&",
			},
		},
		{
			name: "audit", path: "/tenants/contoso/audit?", field: "entries", key: requestIDKey, want: auditAll,
			foreign: map[string]string{
				"another tenant":      "/tenants/globex/audit?",
				"a mailbox filter":    "/tenants/contoso/audit?mailbox=" + url.QueryEscape(contoso[1]) + "&",
				"the mailbox listing": "/tenants/contoso/mailboxes?",
				"the tenant feed":     "/tenants/contoso/changes?",
			},
		},
		{
			name: "audit, filtered", path: "/tenants/contoso/audit?" + mbFilter + "&", field: "entries", key: requestIDKey, want: syncs,
			foreign: map[string]string{
				"no filters":            "/tenants/contoso/audit?",
				"another operation":     "/tenants/contoso/audit?" + filter(contoso[1], "calendar.create", -2*time.Hour) + "&",
				"another since":         "/tenants/contoso/audit?" + filter(contoso[1], "sync", -2*time.Hour+time.Second) + "&",
				"another tenant":        "/tenants/globex/audit?" + filter(globex[1], "sync", -2*time.Hour) + "&",
				"an item listing":       "/tenants/contoso/items?",
				"the tenants' listing":  "/tenants?",
				"another mailbox (too)": "/tenants/contoso/audit?" + filter(contoso[0], "sync", -2*time.Hour) + "&",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 2, 3} {
				got := listKeys(t, e, fmt.Sprintf("%slimit=%d", tc.path, limit), tc.field, tc.key)
				if !slices.Equal(got, tc.want) {
					t.Fatalf("limit %d: listed %v, want %v (no skip, no repeat)", limit, got, tc.want)
				}
			}
			w := e.do(req{method: "GET", path: tc.path + "limit=1"})
			var page struct {
				NextCursor string `json:"nextCursor"`
			}
			if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &page) != nil || page.NextCursor == "" {
				t.Fatalf("first page = %d %s; want a nextCursor", w.Code, w.Body)
			}
			c := page.NextCursor
			payload, check, _ := strings.Cut(c, ".")
			bad := map[string]string{}
			for what, p := range tc.foreign {
				bad["a cursor used on "+what] = p + "cursor=" + url.QueryEscape(c)
			}
			for what, v := range map[string]string{
				"an edited check":    payload + "." + flip(check),
				"an edited payload":  flip(payload) + "." + check,
				"no check":           payload,
				"garbage":            "garbage",
				"a bare store key":   "dXNlcjAxQGNvbnRvc28uY29t",
				"a number":           "3",
				"an empty check":     payload + ".",
				"two checks":         c + "." + check,
				"a forged payload":   "eyJzIjoieCJ9." + check,
				"a feed-style value": "1." + check,
			} {
				bad[what] = tc.path + "cursor=" + url.QueryEscape(v)
			}
			before := e.snapshot()
			for what, p := range bad {
				w := e.do(req{method: "GET", path: p})
				var body struct {
					Error struct {
						Field   string `json:"field"`
						Message string `json:"message"`
					} `json:"error"`
				}
				_ = json.Unmarshal(w.Body.Bytes(), &body)
				if w.Code != 400 || body.Error.Field != "cursor" || !strings.Contains(body.Error.Message, "without a cursor") {
					t.Errorf("%s: GET %s = %d %s; want 400 on field cursor saying to start again without one", what, p, w.Code, w.Body)
				}
			}
			if e.snapshot() != before {
				t.Fatal("a refused cursor changed what is stored")
			}
		})
	}
}

// TestAuditFilters: on both stores, the audit listing's filters answer
// what they name, and a bad value is a 400 naming its parameter.
func TestAuditFilters(t *testing.T) {
	for name, open := range map[string]func(testing.TB, ...envOption) *env{"bolt": newEnv, "DynamoDB Local": awsEnv} {
		t.Run(name, func(t *testing.T) {
			e := open(t)
			e.onboard("contoso", basicCred("svc", "Audit-filter-pw-1"), "a@contoso.com", "b@contoso.com")
			for i, en := range []struct{ mb, op string }{
				{"a@contoso.com", "sync"}, {"b@contoso.com", "sync"}, {"a@contoso.com", "calendar.delete evt-1"}, {"b@contoso.com", "people.find (q: 3 characters) by app"},
			} {
				if err := e.store.AppendAudit(context.Background(), domain.AuditEntry{TenantID: "contoso", Mailbox: en.mb, Operation: en.op, AccessMode: domain.AccessImpersonation, Result: "ok", At: testNow.Add(time.Duration(i-10) * time.Minute), RequestID: fmt.Sprintf("r%d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			at := func(m int) string {
				return url.QueryEscape(testNow.Add(time.Duration(m) * time.Minute).Format(time.RFC3339))
			}
			for q, want := range map[string][]string{
				"mailbox=A@contoso.com&since=" + at(-30) + "&until=" + at(-1): {"r0", "r2"},
				"operation=sync&since=" + at(-30) + "&until=" + at(-1):        {"r0", "r1"},
				"operation=calendar.delete":                                   {"r2"},
				"operation=people.find":                                       {"r3"},
				"operation=calendar":                                          nil,
				"since=" + at(-9) + "&until=" + at(-7):                        {"r1", "r2"},
				"since=" + at(-8) + "&operation=sync":                         nil,
				"mailbox=b@contoso.com&until=" + at(-8):                       {"r1"},
				"since=2026-11-23T08:51:00%2B00:00&until=" + at(-7):           {"r1", "r2"},
			} {
				got := listKeys(t, e, "/tenants/contoso/audit?limit=1&"+q, "entries", requestIDKey)
				if !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
					t.Errorf("?%s listed %v, want %v", q, got, want)
				}
			}
			before := e.snapshot()
			for q, field := range map[string]string{
				"mailbox=not-an-address":               "mailbox",
				"mailbox=":                             "mailbox",
				"operation=calendar.create%20evt-1":    "operation",
				"operation=":                           "operation",
				"operation=" + strings.Repeat("x", 65): "operation",
				"since=yesterday":                      "since",
				"since=2026-11-23":                     "since",
				"until=2026-11-23T09:00:00":            "until",
				"since=" + at(-5) + "&until=" + at(-5): "until",
				"since=" + at(-4) + "&until=" + at(-5): "until",
				"since=" + at(-4) + "&since=" + at(-5): "since",
				"mailboxes=a@contoso.com":              "mailboxes",
				"until=0001-01-01T00:00:00Z":           "until",
			} {
				w := e.do(req{method: "GET", path: "/tenants/contoso/audit?" + q})
				var body struct {
					Error struct {
						Field string `json:"field"`
					} `json:"error"`
				}
				_ = json.Unmarshal(w.Body.Bytes(), &body)
				if w.Code != 400 || body.Error.Field != field {
					t.Errorf("?%s = %d %s; want 400 on field %s", q, w.Code, w.Body, field)
				}
			}
			if e.snapshot() != before {
				t.Fatal("a refused audit query changed what is stored")
			}
		})
	}
}

func requestIDKey(raw json.RawMessage) string {
	var v struct {
		RequestID string `json:"requestId"`
		Operation string `json:"operation"`
	}
	_ = json.Unmarshal(raw, &v)
	if v.RequestID == "" {
		return v.Operation
	}
	return v.RequestID
}

// listKeys follows a listing's cursors from path and returns its entries'
// keys in order.
func listKeys(t *testing.T, e *env, path, field string, key func(json.RawMessage) string) []string {
	t.Helper()
	var out []string
	p := path
	for range 500 {
		w := e.do(req{method: "GET", path: p})
		if w.Code != 200 {
			t.Fatalf("GET %s = %d %s", p, w.Code, w.Body)
		}
		var page map[string]json.RawMessage
		var entries []json.RawMessage
		var next string
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(page[field], &entries)
		_ = json.Unmarshal(page["nextCursor"], &next)
		for _, raw := range entries {
			out = append(out, key(raw))
		}
		if next == "" {
			return out
		}
		p = path + "&cursor=" + url.QueryEscape(next)
	}
	t.Fatalf("GET %s: paging does not end", path)
	return nil
}

// flip changes a cursor part's first character to another valid one.
func flip(s string) string {
	if s == "" {
		return "A"
	}
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}
