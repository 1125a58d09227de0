package ewssim_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// TestSeriesAsExchange: a weekly series in Berlin, across the DST change,
// as a client sees it: CalendarView lists its occurrences at 09:00 local
// (08:00 UTC before the change, 07:00 after), never the master; retitling
// one occurrence and deleting another change the master's ChangeKey and
// SyncFolderItems reports the master (not the occurrences) as updated;
// GetItem gives the master its ModifiedOccurrences and DeletedOccurrences,
// and the exception its own subject as an Exception; MaxEntriesReturned
// cuts the view and says so.
func TestSeriesAsExchange(t *testing.T) {
	const alice = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, alice)
	sim := env.sim
	loc, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2026, 3, 16, 9, 0, 0, 0, loc)
	master, err := sim.AddItem(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Weekly", Start: start, End: start.Add(time.Hour),
		TimeZone: "W. Europe Standard Time", IsRecurring: true,
		Recurrence: &ewssim.Recurrence{Pattern: "WeeklyRecurrence", Interval: 1, DaysOfWeek: []string{"Monday"}, Range: "NumberedRecurrence", StartDate: "2026-03-16", Count: 4}})
	must(t, err)
	_, state, _ := env.syncAll(t, impersonate(alice), dist("calendar", ""), "", 100)

	view := func(max int) (string, []ews.Item) {
		attr := ""
		if max > 0 {
			attr = ` MaxEntriesReturned="` + strconv.Itoa(max) + `"`
		}
		status, body := env.call(t, impersonate(alice), `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`+
			`<t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="calendar:Start"/><t:FieldURI FieldURI="calendar:End"/><t:FieldURI FieldURI="calendar:CalendarItemType"/>`+
			`</t:AdditionalProperties></m:ItemShape><m:CalendarView`+attr+` StartDate="2026-03-01T00:00:00Z" EndDate="2026-05-01T00:00:00Z"/><m:ParentFolderIds>`+dist("calendar", "")+`</m:ParentFolderIds></m:FindItem>`)
		if status != 200 {
			t.Fatalf("FindItem = %d", status)
		}
		items, err := ews.DecodeItems(body)
		must(t, err)
		return string(body), items
	}
	_, occ := view(0)
	var starts []string
	for _, it := range occ {
		starts = append(starts, it.Start.UTC().Format("01-02T15:04")+" "+it.CalendarItemType)
	}
	if got, want := strings.Join(starts, ", "), "03-16T08:00 Occurrence, 03-23T08:00 Occurrence, 03-30T07:00 Occurrence, 04-06T07:00 Occurrence"; got != want {
		t.Fatalf("view: %s, want %s", got, want)
	}

	// Retitle the second occurrence, delete the third.
	status, body := env.call(t, impersonate(alice), `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>`+
		`<t:ItemId Id="`+occ[1].ItemID+`"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Moved</t:Subject></t:CalendarItem></t:SetItemField>`+
		`<t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>2026-03-24T08:00:00Z</t:Start></t:CalendarItem></t:SetItemField>`+
		`<t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>2026-03-24T09:00:00Z</t:End></t:CalendarItem></t:SetItemField>`+
		`</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	if ms := messages(t, status, body); ms[0].Code != "NoError" {
		t.Fatalf("UpdateItem on an occurrence: %s", body)
	}
	status, body = env.call(t, impersonate(alice), `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="`+occ[2].ItemID+`"/></m:ItemIds></m:DeleteItem>`)
	if ms := messages(t, status, body); ms[0].Code != "NoError" {
		t.Fatalf("DeleteItem on an occurrence: %s", body)
	}
	changes, _, _ := env.syncAll(t, impersonate(alice), dist("calendar", ""), state, 100)
	if len(changes) != 1 || changes[0].Kind != "Update" || changes[0].ID != master.ID || changes[0].ChangeKey == master.ChangeKey {
		t.Fatalf("sync after the edits: %+v, want one Update of the master %s with a new ChangeKey", changes, master.ID)
	}

	status, body = env.call(t, impersonate(alice), `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`+
		`<t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="calendar:CalendarItemType"/><t:FieldURI FieldURI="calendar:Recurrence"/>`+
		`<t:FieldURI FieldURI="calendar:ModifiedOccurrences"/><t:FieldURI FieldURI="calendar:DeletedOccurrences"/><t:FieldURI FieldURI="calendar:OriginalStart"/>`+
		`</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="`+master.ID+`"/><t:ItemId Id="`+occ[1].ItemID+`"/></m:ItemIds></m:GetItem>`)
	if status != 200 {
		t.Fatalf("GetItem = %d", status)
	}
	items, err := ews.DecodeItems(body)
	must(t, err)
	m, x := items[0], items[1]
	if m.CalendarItemType != "RecurringMaster" || m.Recurrence == nil || m.Recurrence.Pattern != "WeeklyRecurrence" || m.Recurrence.NumberOfOccurrences != 4 {
		t.Errorf("master: %+v", m)
	}
	if len(m.ModifiedOccurrences) != 1 || !m.ModifiedOccurrences[0].OriginalStart.Equal(occ[1].Start) || m.ModifiedOccurrences[0].Start.Format(time.RFC3339) != "2026-03-24T08:00:00Z" {
		t.Errorf("modified occurrences: %+v", m.ModifiedOccurrences)
	}
	if len(m.DeletedOccurrences) != 1 || !m.DeletedOccurrences[0].Equal(occ[2].Start) {
		t.Errorf("deleted occurrences: %v, want %v", m.DeletedOccurrences, occ[2].Start)
	}
	if x.CalendarItemType != "Exception" || x.Subject != "Moved" || !x.OriginalStart.Equal(occ[1].Start) {
		t.Errorf("exception: %+v", x)
	}

	// The view now: the exception in its new place, the deleted one gone;
	// cut at two entries, it says more are in the window.
	raw, occ := view(0)
	if len(occ) != 3 || occ[1].Subject != "Moved" || occ[1].CalendarItemType != "Exception" || strings.Contains(raw, "RecurringMaster") {
		t.Errorf("view after the edits: %+v", occ)
	}
	raw, occ = view(2)
	if len(occ) != 2 || !strings.Contains(raw, `IncludesLastItemInRange="false"`) || !strings.Contains(raw, `TotalItemsInView="3"`) {
		t.Errorf("view of 2 entries: %s", raw)
	}
}
