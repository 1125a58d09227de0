package ewssim_test

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// findItemQuery is a FindItem on alice's inbox with a view, restriction
// and sort order (each "" to leave it out), asking for the subject.
func findItemQuery(view, restriction, sort string) string {
	if restriction != "" {
		restriction = `<m:Restriction>` + restriction + `</m:Restriction>`
	}
	if sort != "" {
		sort = `<m:SortOrder>` + sort + `</m:SortOrder>`
	}
	return `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>` +
		`<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape>` +
		view + restriction + sort + `<m:ParentFolderIds>` + dist("inbox", "") + `</m:ParentFolderIds></m:FindItem>`
}

func field(uri string) string { return `<t:FieldURI FieldURI="` + uri + `"/>` }

func compare(op, uri, value string) string {
	return `<t:` + op + `>` + field(uri) + `<t:FieldURIOrConstant><t:Constant Value="` + value + `"/></t:FieldURIOrConstant></t:` + op + `>`
}

func contains(uri, mode, comparison, value string) string {
	attrs := ""
	if mode != "" {
		attrs += ` ContainmentMode="` + mode + `"`
	}
	if comparison != "" {
		attrs += ` ContainmentComparison="` + comparison + `"`
	}
	return `<t:Contains` + attrs + `>` + field(uri) + `<t:Constant Value="` + value + `"/></t:Contains>`
}

func order(dir, uri string) string {
	return `<t:FieldOrder Order="` + dir + `">` + field(uri) + `</t:FieldOrder>`
}

// findPage is what a client reads from a FindItem answer.
type findPage struct {
	Code       string `xml:"Body>FindItemResponse>ResponseMessages>FindItemResponseMessage>ResponseCode"`
	RootFolder struct {
		Offset       *int     `xml:"IndexedPagingOffset,attr"`
		Numerator    *int     `xml:"NumeratorOffset,attr"`
		Denominator  *int     `xml:"AbsoluteDenominator,attr"`
		Total        int      `xml:"TotalItemsInView,attr"`
		IncludesLast bool     `xml:"IncludesLastItemInRange,attr"`
		Subjects     []string `xml:"Items>Message>Subject"`
	} `xml:"Body>FindItemResponse>ResponseMessages>FindItemResponseMessage>RootFolder"`
}

// queryInbox fills alice's inbox with four messages (received an hour
// apart, oldest first: A, B, C, D) and returns the environment.
func queryInbox(t *testing.T) (*testEnv, string) {
	const alice = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, alice)
	recordAll(env)
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	for i, it := range []ewssim.Item{
		{Subject: "Quarterly report", Importance: "High", Categories: []string{"Clients"}, From: ewssim.Address{Name: "Bob", Email: "bob@contoso.com"}},
		{Subject: "Re: Quarterly report", IsRead: true, From: ewssim.Address{Name: "Carol", Email: "carol@contoso.com"}},
		{Subject: "Lunch", Importance: "Low", Categories: []string{"Personal", "Clients"}},
		{Subject: "quarterly numbers", HasAttachments: true},
	} {
		it.Received = t0.Add(time.Duration(i) * time.Hour)
		if _, err := env.sim.AddItem(alice, "inbox", it); err != nil {
			t.Fatal(err)
		}
	}
	return env, impersonate(alice)
}

func (e *testEnv) findPage(t *testing.T, hdr, body string) findPage {
	t.Helper()
	status, b := e.call(t, hdr, body)
	if status != 200 {
		t.Fatalf("status %d:\n%s", status, b)
	}
	var p findPage
	if err := xml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Code != "NoError" {
		t.Fatalf("FindItem answered %s:\n%s", p.Code, b)
	}
	return p
}

// TestFindItemRestrictions: each common restriction returns exactly the
// items Exchange would, in the folder's default order (newest first).
func TestFindItemRestrictions(t *testing.T) {
	env, hdr := queryInbox(t)
	const (
		a, b, c, d = "Quarterly report", "Re: Quarterly report", "Lunch", "quarterly numbers"
		t1         = "2026-05-04T10:00:00Z" // B's received time
	)
	for _, tc := range []struct {
		name, restriction string
		want              []string
	}{
		{"Contains substring ignoring case", contains("item:Subject", "Substring", "IgnoreCase", "QUARTERLY"), []string{d, b, a}},
		{"Contains substring exact case", contains("item:Subject", "Substring", "Exact", "Quarterly"), []string{b, a}},
		{"Contains prefixed", contains("item:Subject", "Prefixed", "IgnoreCase", "re:"), []string{b}},
		{"Contains prefix on words", contains("item:Subject", "PrefixOnWords", "IgnoreCase", "num"), []string{d}},
		{"Contains full string by default", contains("item:Subject", "", "", "Lunch"), []string{c}},
		{"Contains full string needs the whole value", contains("item:Subject", "", "", "Lun"), nil},
		{"Contains on a multi-valued property", contains("item:Categories", "FullString", "IgnoreCase", "personal"), []string{c}},
		{"IsEqualTo bool", compare("IsEqualTo", "message:IsRead", "true"), []string{b}},
		{"IsEqualTo string ignores case", compare("IsEqualTo", "item:Subject", "LUNCH"), []string{c}},
		{"IsEqualTo sender address", compare("IsEqualTo", "message:From", "bob@contoso.com"), []string{a}},
		{"IsEqualTo one of the categories", compare("IsEqualTo", "item:Categories", "clients"), []string{c, a}},
		{"IsNotEqualTo importance", compare("IsNotEqualTo", "item:Importance", "Normal"), []string{c, a}},
		{"IsGreaterThan importance", compare("IsGreaterThan", "item:Importance", "Low"), []string{d, b, a}},
		{"IsGreaterThan time", compare("IsGreaterThan", "item:DateTimeReceived", t1), []string{d, c}},
		{"IsGreaterThanOrEqualTo time", compare("IsGreaterThanOrEqualTo", "item:DateTimeReceived", t1), []string{d, c, b}},
		{"IsLessThan time", compare("IsLessThan", "item:DateTimeReceived", t1), []string{a}},
		{"IsLessThanOrEqualTo time", compare("IsLessThanOrEqualTo", "item:DateTimeReceived", t1), []string{b, a}},
		{"IsEqualTo attachments", compare("IsEqualTo", "item:HasAttachments", "true"), []string{d}},
		{"Exists", `<t:Exists>` + field("item:Categories") + `</t:Exists>`, []string{c, a}},
		{"Not", `<t:Not><t:Exists>` + field("item:Categories") + `</t:Exists></t:Not>`, []string{d, b}},
		{"And", `<t:And>` + contains("item:Subject", "Substring", "IgnoreCase", "quarterly") + compare("IsEqualTo", "message:IsRead", "false") + `</t:And>`, []string{d, a}},
		{"Or", `<t:Or>` + compare("IsEqualTo", "item:Importance", "High") + compare("IsEqualTo", "item:Importance", "Low") + `</t:Or>`, []string{c, a}},
		{"nested", `<t:And><t:Or>` + compare("IsEqualTo", "item:Importance", "High") + compare("IsEqualTo", "message:IsRead", "true") +
			`</t:Or><t:Not>` + contains("item:Subject", "Prefixed", "IgnoreCase", "re") + `</t:Not></t:And>`, []string{a}},
		{"calendar property on messages matches nothing", compare("IsGreaterThan", "calendar:Start", t1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := env.findPage(t, hdr, findItemQuery("", tc.restriction, ""))
			if got := strings.Join(p.RootFolder.Subjects, "|"); got != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", p.RootFolder.Subjects, tc.want)
			}
			if p.RootFolder.Total != len(tc.want) {
				t.Errorf("TotalItemsInView %d, want %d", p.RootFolder.Total, len(tc.want))
			}
		})
	}
	for _, tc := range []struct{ name, restriction, code string }{
		{"Excludes is not evaluated", `<t:Excludes>` + field("item:Subject") + `<t:Bitmask Value="1"/></t:Excludes>`, "ErrorUnsupportedQueryFilter"},
		{"unknown property", compare("IsEqualTo", "item:Attachments", "x"), "ErrorUnsupportedPathForQuery"},
		{"constant of the wrong type", compare("IsGreaterThan", "item:DateTimeReceived", "yesterday"), "ErrorInvalidValueForProperty"},
		{"Contains on a time", contains("item:DateTimeReceived", "Substring", "IgnoreCase", "2026"), "ErrorContainsFilterWrongType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A valid query Exchange cannot run: an error response
			// message, not a fault.
			if m := env.one(t, hdr, findItemQuery("", tc.restriction, "")); m.Class != "Error" || m.Code != tc.code {
				t.Errorf("got %s %s, want Error %s", m.Class, m.Code, tc.code)
			}
		})
	}
	assertBodiesValid(t, env)
}

// TestFindItemSortOrder: FieldOrders sort the view, the first one first,
// strings ignoring case.
func TestFindItemSortOrder(t *testing.T) {
	env, hdr := queryInbox(t)
	for _, tc := range []struct {
		name, sort string
		want       string
	}{
		{"subject ascending", order("Ascending", "item:Subject"), "Lunch|quarterly numbers|Quarterly report|Re: Quarterly report"},
		{"subject descending", order("Descending", "item:Subject"), "Re: Quarterly report|Quarterly report|quarterly numbers|Lunch"},
		{"received ascending", order("Ascending", "item:DateTimeReceived"), "Quarterly report|Re: Quarterly report|Lunch|quarterly numbers"},
		{"received descending", order("Descending", "item:DateTimeReceived"), "quarterly numbers|Lunch|Re: Quarterly report|Quarterly report"},
		{"created ascending", order("Ascending", "item:DateTimeCreated"), "Quarterly report|Re: Quarterly report|Lunch|quarterly numbers"},
		{"importance then received", order("Descending", "item:Importance") + order("Ascending", "item:DateTimeReceived"),
			"Quarterly report|Re: Quarterly report|quarterly numbers|Lunch"},
		{"missing values first ascending", order("Ascending", "item:Categories") + order("Ascending", "item:DateTimeReceived"),
			"Re: Quarterly report|quarterly numbers|Quarterly report|Lunch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := env.findPage(t, hdr, findItemQuery("", "", tc.sort))
			if got := strings.Join(p.RootFolder.Subjects, "|"); got != tc.want {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
		})
	}
	t.Run("sort with restriction and paging", func(t *testing.T) {
		p := env.findPage(t, hdr, findItemQuery(`<m:IndexedPageItemView MaxEntriesReturned="1" Offset="1" BasePoint="Beginning"/>`,
			contains("item:Subject", "Substring", "IgnoreCase", "quarterly"), order("Ascending", "item:Subject")))
		if got := strings.Join(p.RootFolder.Subjects, "|"); got != "Quarterly report" || p.RootFolder.Total != 3 {
			t.Errorf("got %s of %d, want the second of 3 (Quarterly report)", got, p.RootFolder.Total)
		}
	})
	t.Run("unknown sort property", func(t *testing.T) {
		if m := env.one(t, hdr, findItemQuery("", "", order("Ascending", "item:Attachments"))); m.Code != "ErrorUnsupportedPathForSortGroup" {
			t.Errorf("got %s", m.Code)
		}
	})
	t.Run("malformed restriction", func(t *testing.T) {
		status, b := env.call(t, hdr, findItemQuery("", `<t:Not></t:Not>`, ""))
		if code, _ := fault(t, status, b); code != "ErrorSchemaValidation" {
			t.Errorf("got %s, want the ErrorSchemaValidation fault", code)
		}
	})
	assertBodiesValid(t, env)
}

// TestFindItemPaging: IndexedPageItemView from the beginning and from the
// end, and FractionalPageItemView, with the paging attributes a client
// uses to ask for the next page.
func TestFindItemPaging(t *testing.T) {
	env, hdr := queryInbox(t)
	// Default order, newest first: D C B A.
	indexed := func(max, offset int, base string) string {
		return fmt.Sprintf(`<m:IndexedPageItemView MaxEntriesReturned="%d" Offset="%d" BasePoint="%s"/>`, max, offset, base)
	}
	for _, tc := range []struct {
		name, view string
		want       string
		next       int // IndexedPagingOffset or NumeratorOffset
		last       bool
	}{
		{"first page", indexed(3, 0, "Beginning"), "quarterly numbers|Lunch|Re: Quarterly report", 3, false},
		{"second page", indexed(3, 3, "Beginning"), "Quarterly report", 4, true},
		{"offset past the end", indexed(3, 9, "Beginning"), "", 4, true},
		{"whole view", indexed(10, 0, "Beginning"), "quarterly numbers|Lunch|Re: Quarterly report|Quarterly report", 4, true},
		{"from the end", indexed(3, 0, "End"), "Lunch|Re: Quarterly report|Quarterly report", 3, false},
		{"from the end, next page", indexed(3, 3, "End"), "quarterly numbers", 4, true},
		{"fractional half", `<m:FractionalPageItemView MaxEntriesReturned="10" Numerator="1" Denominator="2"/>`, "Re: Quarterly report|Quarterly report", 4, true},
		{"fractional start", `<m:FractionalPageItemView MaxEntriesReturned="1" Numerator="0" Denominator="3"/>`, "quarterly numbers", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := env.findPage(t, hdr, findItemQuery(tc.view, "", ""))
			rf := p.RootFolder
			if got := strings.Join(rf.Subjects, "|"); got != tc.want {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
			next := rf.Offset
			if strings.Contains(tc.view, "Fractional") {
				next = rf.Numerator
				if rf.Denominator == nil || *rf.Denominator != 4 || rf.Offset != nil {
					t.Errorf("fractional view: AbsoluteDenominator %v (want 4), IndexedPagingOffset %v (want none)", rf.Denominator, rf.Offset)
				}
			}
			if next == nil || *next != tc.next {
				t.Errorf("next offset %v, want %d", next, tc.next)
			}
			if rf.IncludesLast != tc.last || rf.Total != 4 {
				t.Errorf("IncludesLastItemInRange %v TotalItemsInView %d, want %v and 4", rf.IncludesLast, rf.Total, tc.last)
			}
		})
	}
	t.Run("bad fractional view", func(t *testing.T) {
		status, b := env.call(t, hdr, findItemQuery(`<m:FractionalPageItemView MaxEntriesReturned="1" Numerator="3" Denominator="2"/>`, "", ""))
		if code, _ := fault(t, status, b); code != "ErrorSchemaValidation" {
			t.Errorf("got %s", code)
		}
	})
	assertBodiesValid(t, env)
}
