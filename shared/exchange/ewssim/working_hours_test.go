package ewssim_test

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

func availabilityRequest(view string, addrs ...string) string {
	var b strings.Builder
	b.WriteString(`<m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>0</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>0</t:DayOrder><t:Month>0</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime>` +
		`<t:DaylightTime><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>0</t:DayOrder><t:Month>0</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone><m:MailboxDataArray>`)
	for _, a := range addrs {
		b.WriteString(`<t:MailboxData><t:Email><t:Address>` + a + `</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData>`)
	}
	b.WriteString(`</m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>2026-07-06T00:00:00</t:StartTime><t:EndTime>2026-07-08T00:00:00</t:EndTime></t:TimeWindow>` +
		`<t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>` + view + `</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>`)
	return b.String()
}

type zoneTimeXML struct {
	Bias      int    `xml:"Bias"`
	Time      string `xml:"Time"`
	DayOrder  int    `xml:"DayOrder"`
	Month     int    `xml:"Month"`
	DayOfWeek string `xml:"DayOfWeek"`
}

type workingHoursXML struct {
	Bias     int         `xml:"TimeZone>Bias"`
	Standard zoneTimeXML `xml:"TimeZone>StandardTime"`
	Daylight zoneTimeXML `xml:"TimeZone>DaylightTime"`
	Periods  []struct {
		Days  string `xml:"DayOfWeek"`
		Start int    `xml:"StartTimeInMinutes"`
		End   int    `xml:"EndTimeInMinutes"`
	} `xml:"WorkingPeriodArray>WorkingPeriod"`
}

// TestAvailabilityWorkingHours: the FreeBusyView carries the mailbox's
// working hours (the default, or those set in the seed API, with their
// zone's DST rule) for the views Exchange gives them in, and none for a
// mailbox without working hours or for MergedOnly.
func TestAvailabilityWorkingHours(t *testing.T) {
	const alice, bob, carol = "alice@contoso.com", "bob@contoso.com", "carol@contoso.com"
	env := newEnv(t, ewssim.Options{Clock: &fakeClock{t: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}}, alice, bob, carol)
	recordAll(env)
	must(t, env.sim.SetWorkingHours(bob, ewssim.WorkingHours{TimeZone: "Pacific Standard Time",
		Days: []time.Weekday{time.Thursday, time.Monday, time.Tuesday, time.Wednesday}, Start: 9 * time.Hour, End: 18*time.Hour + 30*time.Minute}))
	must(t, env.sim.SetWorkingHours(carol, ewssim.WorkingHours{TimeZone: "UTC"}))
	read := func(t *testing.T, view string) []*workingHoursXML {
		status, b := env.call(t, "", availabilityRequest(view, alice, bob, carol))
		if status != 200 {
			t.Fatalf("status %d:\n%s", status, b)
		}
		var r struct {
			Responses []struct {
				Code  string           `xml:"ResponseMessage>ResponseCode"`
				Hours *workingHoursXML `xml:"FreeBusyView>WorkingHours"`
			} `xml:"Body>GetUserAvailabilityResponse>FreeBusyResponseArray>FreeBusyResponse"`
		}
		if err := xml.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		var out []*workingHoursXML
		for _, x := range r.Responses {
			if x.Code != "NoError" {
				t.Fatalf("availability answered %s", x.Code)
			}
			out = append(out, x.Hours)
		}
		return out
	}
	for _, view := range []string{"FreeBusy", "FreeBusyMerged", "Detailed", "DetailedMerged"} {
		t.Run(view, func(t *testing.T) {
			hs := read(t, view)
			a, b, c := hs[0], hs[1], hs[2]
			if a == nil || a.Bias != 0 || a.Standard.Month != 0 || len(a.Periods) != 1 ||
				a.Periods[0].Days != "Monday Tuesday Wednesday Thursday Friday" || a.Periods[0].Start != 480 || a.Periods[0].End != 1020 {
				t.Errorf("default working hours: %+v", a)
			}
			wantStd := zoneTimeXML{0, "02:00:00", 1, 11, "Sunday"}
			wantDst := zoneTimeXML{-60, "02:00:00", 2, 3, "Sunday"}
			if b == nil || b.Bias != 480 || b.Standard != wantStd || b.Daylight != wantDst || len(b.Periods) != 1 ||
				b.Periods[0].Days != "Monday Tuesday Wednesday Thursday" || b.Periods[0].Start != 540 || b.Periods[0].End != 1110 {
				t.Errorf("set working hours: %+v", b)
			}
			if c != nil {
				t.Errorf("a mailbox without working hours got %+v", c)
			}
		})
	}
	t.Run("MergedOnly", func(t *testing.T) {
		for i, h := range read(t, "MergedOnly") {
			if h != nil {
				t.Errorf("mailbox %d: working hours in a MergedOnly view", i)
			}
		}
	})
	t.Run("seed API rejects bad hours", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			address string
			wh      ewssim.WorkingHours
		}{
			{"unknown zone", alice, ewssim.WorkingHours{TimeZone: "Mars Standard Time", Days: []time.Weekday{time.Monday}, Start: time.Hour, End: 2 * time.Hour}},
			{"end before start", alice, ewssim.WorkingHours{TimeZone: "UTC", Days: []time.Weekday{time.Monday}, Start: 10 * time.Hour, End: 9 * time.Hour}},
			{"past midnight", alice, ewssim.WorkingHours{TimeZone: "UTC", Days: []time.Weekday{time.Monday}, Start: 10 * time.Hour, End: 25 * time.Hour}},
			{"unknown mailbox", "nobody@contoso.com", ewssim.DefaultWorkingHours},
		} {
			if err := env.sim.SetWorkingHours(tc.address, tc.wh); err == nil {
				t.Errorf("%s: accepted", tc.name)
			} else if tc.name == "unknown mailbox" && !errors.Is(err, ewssim.ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", tc.name, err)
			}
		}
		if h := read(t, "FreeBusy")[0]; h == nil || h.Periods[0].Start != 480 {
			t.Errorf("a rejected change altered the working hours: %+v", h)
		}
	})
	assertBodiesValid(t, env)
}
