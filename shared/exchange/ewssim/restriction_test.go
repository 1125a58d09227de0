package ewssim_test

import (
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

const markerSet = "c11ff724-aa03-4555-9952-8fa248a11c3e"

func findByMarker(value, view string) string {
	return `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>` +
		`<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape>` + view +
		`<m:Restriction><t:IsEqualTo><t:ExtendedFieldURI PropertySetId="` + markerSet + `" PropertyName="Marker" PropertyType="String"/>` +
		`<t:FieldURIOrConstant><t:Constant Value="` + value + `"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>` +
		`<m:ParentFolderIds>` + dist("calendar", "") + `</m:ParentFolderIds></m:FindItem>`
}

// TestFindItemRestriction: FindItem returns only the items whose extended
// property equals the constant (ignoring case, like Exchange), in page and
// calendar views, and refuses restrictions it cannot evaluate.
func TestFindItemRestriction(t *testing.T) {
	const mb = "ann@contoso.com"
	e := newEnv(t, ewssim.Options{}, mb)
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ids := map[string]string{} // subject of a marked item -> id
	add := func(subject, marker string) {
		it := ewssim.Item{Kind: ewssim.KindCalendar, Subject: subject, Start: start, End: start.Add(time.Hour)}
		if marker != "" {
			it.Extended = []ewssim.ExtendedProperty{{SetID: markerSet, Name: "Marker", Type: "String", Value: marker}}
		}
		ref, err := e.sim.AddItem(mb, "calendar", it)
		if err != nil {
			t.Fatal(err)
		}
		if marker != "" {
			ids[subject] = ref.ID
		}
	}
	add("Flight", "")       // the user's own item, no marker
	add("Flight", "trip-1") // same subject, marked
	add("Hotel", "trip-2")  // another marked item
	add("Other set", "")    // unmarked
	hdr := impersonate(mb)
	pageView := `<m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/>`
	calView := `<m:CalendarView StartDate="2026-11-30T00:00:00Z" EndDate="2026-12-02T00:00:00Z"/>`
	for _, tc := range []struct {
		name, value, view string
		want              []string
	}{
		{"page view", "trip-1", pageView, []string{"Flight"}},
		{"case ignored", "TRIP-2", pageView, []string{"Hotel"}},
		{"calendar view", "trip-2", calView, []string{"Hotel"}},
		{"no match", "trip-3", pageView, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := e.one(t, hdr, findByMarker(tc.value, tc.view))
			if m.Class != "Success" {
				t.Fatalf("FindItem answered %s %s", m.Class, m.Code)
			}
			var got, want []string
			for _, it := range m.RootFolder.Items.Items {
				got = append(got, it.ItemID.ID)
			}
			for _, s := range tc.want {
				want = append(want, ids[s])
			}
			if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
				t.Errorf("got items %v, want %v (%v)", got, want, tc.want)
			}
			if m.RootFolder.Total != len(tc.want) {
				t.Errorf("TotalItemsInView %d, want %d", m.RootFolder.Total, len(tc.want))
			}
		})
	}
	t.Run("unsupported expression", func(t *testing.T) {
		body := `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>` +
			`<m:Restriction><t:Excludes><t:ExtendedFieldURI PropertyTag="0x0E07" PropertyType="Integer"/>` +
			`<t:Bitmask Value="1"/></t:Excludes></m:Restriction>` +
			`<m:ParentFolderIds>` + dist("calendar", "") + `</m:ParentFolderIds></m:FindItem>`
		if m := e.one(t, hdr, body); m.Class != "Error" || m.Code != "ErrorUnsupportedQueryFilter" {
			t.Errorf("got %s %s, want Error ErrorUnsupportedQueryFilter", m.Class, m.Code)
		}
	})
}
