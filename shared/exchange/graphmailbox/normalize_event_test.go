package graphmailbox_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
)

// TestNormalizeDocumentedEvent normalizes the Create event docs' recurring
// series master: its pattern (only the members a weekly pattern uses, not
// Graph's month 0 or index "first"), range, zone, free/busy, reminder and
// responses.
func TestNormalizeDocumentedEvent(t *testing.T) {
	var e graph.Event
	readJSON(t, filepath.Join("..", "graph", "testdata", "responses", "event-created-recurring.json"), &e)
	got := graphmailbox.NormalizeEvent(e, graphmailbox.CalendarFolderID)
	checkGolden(t, "event-created-recurring.json", got)
	r := got.Recurrence
	if r == nil || r.Pattern.Type != domain.PatternWeekly || strings.Join(r.Pattern.DaysOfWeek, ",") != "monday" || r.Pattern.Index != "" ||
		r.Range.Type != domain.RangeEndDate || r.Range.EndDate != "2017-12-31" || r.Range.StartDate != "2017-09-04" {
		t.Errorf("recurrence %+v", r)
	}
	if got.CalendarItemType != domain.CalendarSeriesMaster || got.ShowAs != domain.ShowAsBusy || got.MyResponse != domain.ResponseOrganizer ||
		got.ReminderMinutes == nil || *got.ReminderMinutes != 15 || got.ResponseRequested == nil || !*got.ResponseRequested ||
		got.WindowsTimeZone != "Pacific Standard Time" || got.EndTimeZone != "" {
		t.Errorf("calendar fields %+v", got)
	}
	if len(got.Attendees) != 1 || got.Attendees[0].Type != "required" || got.Attendees[0].Response != domain.ResponseNone {
		t.Errorf("attendees %+v", got.Attendees)
	}
}

// TestNormalizeEventCalendarFields: a master read by id with its
// exceptions and cancelled occurrences, an occurrence, the reminder off,
// a Teams join URL, an end zone of its own, and values outside Graph's
// enums (dropped, never passed on).
func TestNormalizeEventCalendarFields(t *testing.T) {
	yes, no := true, false
	at := func(s string) time.Time { t0, _ := time.Parse(time.RFC3339, s); return t0 }
	dt := func(s string) *graph.DateTimeTimeZone { return &graph.DateTimeTimeZone{DateTime: s, TimeZone: "UTC"} }
	master := graph.Event{
		ID: "m", ChangeKey: "ck", Type: "seriesMaster", Subject: "Standup",
		// 09:00 in Berlin (CET, UTC+1) on Monday 2026-01-05.
		Start: dt("2026-01-05T08:00:00.0000000"), End: dt("2026-01-05T08:15:00.0000000"),
		OriginalStartTimeZone: "W. Europe Standard Time", OriginalEndTimeZone: "W. Europe Standard Time",
		IsReminderOn: &no, ReminderMinutesBeforeStart: 15, ResponseRequested: &yes,
		ResponseStatus: &graph.ResponseStatus{Response: "accepted"}, ShowAs: "workingElsewhere",
		OnlineMeeting: &graph.OnlineMeetingInfo{JoinURL: "https://teams.microsoft.com/l/meetup-join/x"},
		Recurrence: &graph.PatternedRecurrence{
			Pattern: graph.RecurrencePattern{Type: "relativeMonthly", Interval: 1, Month: 0, DayOfMonth: 0, DaysOfWeek: []string{"Monday", "funday"}, FirstDayOfWeek: "sunday", Index: "First"},
			Range:   graph.RecurrenceRange{Type: "noEnd", StartDate: "2026-01-05", EndDate: "0001-01-01", RecurrenceTimeZone: "W. Europe Standard Time"},
		},
		// One cancelled in winter, one in summer (CEST, UTC+2): the same
		// 09:00 local; a duplicate and a malformed id are dropped.
		CancelledOccurrences: []string{"OID.m.2026-07-06", "OID.m.2026-02-02", "OID.m.2026-02-02", "garbage", "OID.m.notadate"},
		ExceptionOccurrences: []graph.Event{
			{ID: "x2", OriginalStart: at("2026-04-06T07:00:00Z"), Start: dt("2026-04-07T07:00:00.0000000"), End: dt("2026-04-07T07:30:00.0000000"),
				Subject: "Standup (moved)", Location: &graph.Location{DisplayName: "Room 2"}},
			{ID: "x1", OriginalStart: at("2026-03-02T08:00:00Z"), Start: dt("2026-03-02T10:00:00.0000000"), End: dt("2026-03-02T10:15:00.0000000"), IsCancelled: true},
		},
		Attendees: []graph.Attendee{
			{Type: "optional", Status: &graph.ResponseStatus{Response: "tentativelyAccepted"}, EmailAddress: graph.EmailAddress{Address: "O@x.com"}},
			{Type: "required", Status: &graph.ResponseStatus{Response: "maybe"}, EmailAddress: graph.EmailAddress{Address: "R@x.com"}},
			{Type: "resource", EmailAddress: graph.EmailAddress{Address: "room@x.com"}},
		},
	}
	got := graphmailbox.NormalizeEvent(master, "calendar")
	if got.ReminderMinutes != nil {
		t.Errorf("reminder off, got %d minutes", *got.ReminderMinutes)
	}
	if got.MyResponse != domain.ResponseAccepted || got.ShowAs != domain.ShowAsWorkingElsewhere || got.OnlineMeetingURL != "https://teams.microsoft.com/l/meetup-join/x" {
		t.Errorf("response, showAs, join URL: %+v", got)
	}
	r := got.Recurrence
	if r == nil || r.Pattern.Type != domain.PatternRelativeMonthly || strings.Join(r.Pattern.DaysOfWeek, ",") != "monday" || r.Pattern.Index != "first" ||
		r.Pattern.FirstDayOfWeek != "" || r.Range.Type != domain.RangeNoEnd || r.Range.EndDate != "" {
		t.Errorf("recurrence %+v", r)
	}
	wantDeleted := []time.Time{at("2026-02-02T08:00:00Z"), at("2026-07-06T07:00:00Z")}
	if len(got.DeletedOccurrences) != len(wantDeleted) {
		t.Fatalf("deleted %+v", got.DeletedOccurrences)
	}
	for i, w := range wantDeleted {
		if !got.DeletedOccurrences[i].OriginalStart.Equal(w) {
			t.Errorf("deleted[%d] %v, want %v", i, got.DeletedOccurrences[i].OriginalStart, w)
		}
	}
	if len(got.ModifiedOccurrences) != 2 || got.ModifiedOccurrences[0].ItemID != "x1" || !got.ModifiedOccurrences[0].IsCancelled ||
		got.ModifiedOccurrences[1].Location != "Room 2" || !got.ModifiedOccurrences[1].Start.Equal(at("2026-04-07T07:00:00Z")) {
		t.Errorf("modified (by original start) %+v", got.ModifiedOccurrences)
	}
	if len(got.Attendees) != 2 || got.Attendees[0].Email != "r@x.com" || got.Attendees[0].Response != "" || got.Attendees[0].Type != "required" ||
		got.Attendees[1].Response != domain.ResponseTentativelyAccepted || got.Attendees[1].Type != "optional" {
		t.Errorf("attendees %+v", got.Attendees)
	}

	t.Run("occurrence", func(t *testing.T) {
		occ := graphmailbox.NormalizeEvent(graph.Event{ID: "o", Type: "occurrence", SeriesMasterID: "m", OriginalStart: at("2026-01-12T08:00:00Z"),
			ShowAs: "sleeping", OriginalStartTimeZone: "Pacific Standard Time", OriginalEndTimeZone: "Eastern Standard Time",
			OnlineMeetingURL: "https://skype/x", IsAllDay: true, IsCancelled: true}, "calendar")
		if occ.CalendarItemType != domain.CalendarOccurrence || occ.SeriesMasterID != "m" || !occ.OriginalStart.Equal(at("2026-01-12T08:00:00Z")) ||
			occ.ShowAs != "" || occ.OnlineMeetingURL != "https://skype/x" || !occ.IsAllDay || !occ.IsCancelled || !occ.IsRecurring {
			t.Errorf("%+v", occ)
		}
		if occ.EndTimeZone != "America/New_York" || occ.WindowsEndTimeZone != "Eastern Standard Time" {
			t.Errorf("end zone %q %q", occ.EndTimeZone, occ.WindowsEndTimeZone)
		}
	})
	t.Run("unknown type and pattern", func(t *testing.T) {
		e := graphmailbox.NormalizeEvent(graph.Event{ID: "u", Type: "weird", Recurrence: &graph.PatternedRecurrence{Pattern: graph.RecurrencePattern{Type: "hourly"}}}, "calendar")
		if e.CalendarItemType != "" || e.Recurrence != nil {
			t.Errorf("%+v", e)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		big := master
		big.ExceptionOccurrences = nil
		for i := range domain.MaxItemOccurrences + 10 {
			big.ExceptionOccurrences = append(big.ExceptionOccurrences, graph.Event{ID: "x", OriginalStart: at("2026-01-05T08:00:00Z").AddDate(0, 0, 7*i),
				Subject: strings.Repeat("é", domain.MaxItemValueText)})
		}
		e := graphmailbox.NormalizeEvent(big, "calendar")
		if len(e.ModifiedOccurrences) != domain.MaxItemOccurrences || !e.Truncated || len(e.ModifiedOccurrences[0].Subject) > domain.MaxItemValueText {
			t.Errorf("%d occurrences, truncated %v", len(e.ModifiedOccurrences), e.Truncated)
		}
	})
}

// TestNormalizeMessageHeaders: the thread headers and sensitivity come
// from the extended properties whatever form Graph echoes their ids in;
// a sensitivity outside PR_SENSITIVITY's four values is dropped; the body
// keeps its type and is cut to the bound, marked bodyTruncated.
func TestNormalizeMessageHeaders(t *testing.T) {
	props := func(kv ...string) []graph.SingleValueExtendedProperty {
		var out []graph.SingleValueExtendedProperty
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, graph.SingleValueExtendedProperty{ID: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, c := range []struct {
		name        string
		m           graph.Message
		topic, irt  string
		refs        int
		sensitivity string
		bodyType    string
		cut         bool
	}{
		{"Graph's echo", graph.Message{ID: "1", Body: &graph.ItemBody{ContentType: "text", Content: " Hi \r\n"},
			SingleValueExtendedProperties: props("String 0x70", " Budget ", "Integer 0x36", "3", "String 0x1042", "<a@x>", "String 0x1039", "<r@x>\r\n <a@x>")},
			"Budget", "<a@x>", 2, domain.SensitivityConfidential, domain.BodyFormatText, false},
		{"the ids as asked", graph.Message{ID: "2", Body: &graph.ItemBody{ContentType: "html", Content: "<html>" + strings.Repeat("<p>x</p>", 300) + "</html>"},
			SingleValueExtendedProperties: props(graph.PropConversationTopic, "Budget", graph.PropSensitivity, "1")},
			"Budget", "", 0, domain.SensitivityPersonal, domain.BodyFormatHTML, true},
		{"hostile values", graph.Message{ID: "3", Body: &graph.ItemBody{ContentType: "text", Content: "   "},
			SingleValueExtendedProperties: props("Integer 0x36", "7", "String 0x1039", "   ", "Binary 0x70", "AAAA")},
			"", "", 0, "", "", false},
		{"none", graph.Message{ID: "4"}, "", "", 0, "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := graphmailbox.NormalizeMessage(c.m, "f")
			if got.ConversationTopic != c.topic || got.InReplyTo != c.irt || len(got.References) != c.refs || got.Sensitivity != c.sensitivity ||
				got.BodyType != c.bodyType || got.BodyTruncated != c.cut || len(got.Body) > domain.MaxItemBody || got.Truncated {
				t.Errorf("%+v", got)
			}
		})
	}
}
