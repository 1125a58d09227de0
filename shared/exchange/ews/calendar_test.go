package ews

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/testsupport/golden"
)

// calendarSamples are Microsoft's sample responses with calendar items
// (../shared/ews/samples/msdocs, copied to testdata/msdocs), and one
// response written after the schema for what the samples never show:
// modified and deleted occurrences, attendee responses and resources, a
// relative pattern on a day group, an end zone and a join URL.
var calendarSamples = []string{
	"msdocs/how-to-create-a-recurring-series-by-using-ews-in-exchange.04.GetItemResponse.xml",
	"msdocs/getitem-operation-calendar-item.03.GetItemResponse.xml",
	"msdocs/getitem-operation-calendar-item.04.GetItemResponse.xml",
	"msdocs/how-to-process-calendar-items-in-batches-in-exchange.04.GetItemResponse.xml",
	"msdocs/how-to-create-appointments-and-meetings-by-using-ews-in-exchange-2013.04.GetItemResponse.xml",
	"msdocs/how-to-create-appointments-and-meetings-by-using-ews-in-exchange-2013.08.GetItemResponse.xml",
	"msdocs/how-to-access-a-calendar-as-a-delegate-by-using-ews-in-exchange.03.FindItemResponse.xml",
	"responses/getitem-recurring-master-with-exceptions.xml",
}

// calendarView is the calendar part of a decoded item, for the goldens.
type calendarView struct {
	Subject, CalendarItemType  string       `json:",omitempty"`
	Start, End, OriginalStart  string       `json:",omitempty"`
	IsAllDay, IsCancelled      bool         `json:",omitempty"`
	StartTimeZone, EndTimeZone string       `json:",omitempty"`
	LegacyFreeBusyStatus       string       `json:",omitempty"`
	MyResponseType             string       `json:",omitempty"`
	IsResponseRequested        *bool        `json:",omitempty"`
	ReminderIsSet              bool         `json:",omitempty"`
	ReminderMinutesBeforeStart *int         `json:",omitempty"`
	JoinOnlineMeetingURL       string       `json:",omitempty"`
	Recurrence                 *Recurrence  `json:",omitempty"`
	ModifiedOccurrences        []Occurrence `json:",omitempty"`
	DeletedOccurrences         []time.Time  `json:",omitempty"`
	Attendees                  []string     `json:",omitempty"`
}

// TestDecodeCalendarSamples decodes the series and meeting properties of
// each sample as Exchange gave them (golden files in testdata/golden/
// calendar): the recurring sample's weekly pattern and numbered range with
// its zone-suffixed StartDate, the 2007 sample's reminder, free/busy and
// response, the batch sample's master, and the written master's exceptions,
// deleted occurrence, attendee responses and resources.
func TestDecodeCalendarSamples(t *testing.T) {
	for _, name := range calendarSamples {
		t.Run(filepath.Base(name), func(t *testing.T) {
			items, err := DecodeItems(readFixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if len(items) == 0 {
				t.Fatal("no item decoded")
			}
			var out []calendarView
			for _, it := range items {
				v := calendarView{Subject: it.Subject, CalendarItemType: it.CalendarItemType, Start: jsonTime(it.Start), End: jsonTime(it.End),
					OriginalStart: jsonTime(it.OriginalStart), IsAllDay: it.IsAllDay, IsCancelled: it.IsCancelled, StartTimeZone: it.StartTimeZone,
					EndTimeZone: it.EndTimeZone, LegacyFreeBusyStatus: it.LegacyFreeBusyStatus, MyResponseType: it.MyResponseType,
					IsResponseRequested: it.IsResponseRequested, ReminderIsSet: it.ReminderIsSet, ReminderMinutesBeforeStart: it.ReminderMinutesBeforeStart,
					JoinOnlineMeetingURL: it.JoinOnlineMeetingURL, Recurrence: it.Recurrence, ModifiedOccurrences: it.ModifiedOccurrences,
					DeletedOccurrences: it.DeletedOccurrences}
				for _, l := range []struct {
					kind string
					as   []Attendee
				}{{"required", it.RequiredAttendees}, {"optional", it.OptionalAttendees}, {"resource", it.Resources}} {
					for _, a := range l.as {
						v.Attendees = append(v.Attendees, l.kind+" "+a.EmailAddress+" "+a.ResponseType)
					}
				}
				out = append(out, v)
			}
			b, _ := json.MarshalIndent(out, "", "  ")
			golden.Check(t, filepath.Join("testdata", "golden", "calendar", strings.TrimSuffix(filepath.Base(name), ".xml")+".json"), append(b, '\n'))
		})
	}
}

// TestCalendarShapesPerVersion: an Exchange 2007 tenant is never asked
// for StartTimeZone/EndTimeZone/StartTimeZoneId (it would reject the
// whole GetItem) but for MeetingTimeZone; JoinOnlineMeetingUrl only from
// Exchange 2013.
func TestCalendarShapesPerVersion(t *testing.T) {
	has := func(s Shape, f string) bool {
		for _, x := range s.Fields {
			if x == f {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		version              string
		zones, meeting, join bool
	}{{"Exchange2007_SP1", false, true, false}, {"Exchange2010_SP2", true, false, false}, {"Exchange2013", true, false, true}, {"", true, false, true}} {
		s := ShapeCalendarFor(c.version)
		if has(s, "calendar:StartTimeZone") != c.zones || has(s, "calendar:StartTimeZoneId") != c.zones || has(s, "calendar:MeetingTimeZone") != c.meeting || has(s, "calendar:JoinOnlineMeetingUrl") != c.join {
			t.Errorf("%q: fields %v", c.version, s.Fields)
		}
		if !has(s, "calendar:Recurrence") || !has(s, "calendar:ModifiedOccurrences") || !has(s, "calendar:DeletedOccurrences") {
			t.Errorf("%q: series fields missing", c.version)
		}
	}
}
