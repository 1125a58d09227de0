package ewssim_test

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

type tzTarget struct {
	Kind string `xml:"Kind,attr"`
	To   string `xml:",chardata"`
}

type tzTransition struct {
	XMLName    xml.Name
	Target     tzTarget `xml:"To"`
	TimeOffset string   `xml:"TimeOffset"`
	Month      int      `xml:"Month"`
	DayOfWeek  string   `xml:"DayOfWeek"`
	Occurrence int      `xml:"Occurrence"`
}

type tzDefinition struct {
	ID      string `xml:"Id,attr"`
	Name    string `xml:"Name,attr"`
	Periods []struct {
		Bias string `xml:"Bias,attr"`
		Name string `xml:"Name,attr"`
		ID   string `xml:"Id,attr"`
	} `xml:"Periods>Period"`
	Group struct {
		Transitions []tzTransition `xml:",any"`
	} `xml:"TransitionsGroups>TransitionsGroup"`
	Transitions []tzTransition `xml:"Transitions>Transition"`
}

type tzMessage struct {
	Class       string         `xml:"ResponseClass,attr"`
	Code        string         `xml:"ResponseCode"`
	Definitions []tzDefinition `xml:"TimeZoneDefinitions>TimeZoneDefinition"`
}

type tzResponse struct {
	Message tzMessage `xml:"Body>GetServerTimeZonesResponse>ResponseMessages>GetServerTimeZonesResponseMessage"`
}

func serverTimeZones(full string, ids ...string) string {
	b := `<m:GetServerTimeZones` + full + `>`
	if len(ids) > 0 {
		b += `<m:Ids>`
		for _, id := range ids {
			b += `<t:Id>` + id + `</t:Id>`
		}
		b += `</m:Ids>`
	}
	return b + `</m:GetServerTimeZones>`
}

func (e *testEnv) timeZones(t *testing.T, body string) tzMessage {
	t.Helper()
	status, b := e.call(t, "", body)
	if status != 200 {
		t.Fatalf("status %d:\n%s", status, b)
	}
	var r tzResponse
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.Message
}

// parseDuration reads the xs:durations the simulator writes (-PT5H30M).
func parseDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	d, err := time.ParseDuration(strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(s, "-"), "PT")))
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	if neg {
		return -d
	}
	return d
}

// TestGetServerTimeZones: the definitions Exchange 2010+ clients read,
// with the periods and yearly transitions of well-known zones, all zones
// without Ids, names only without full data, and ErrorTimeZone for an
// unknown Id.
func TestGetServerTimeZones(t *testing.T) {
	sim := ewssim.New(ewssim.Options{Clock: &fakeClock{t: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}})
	must(t, sim.AddMailbox("alice@contoso.com", "Alice"))
	must(t, sim.AddAccount(ewssim.Account{Username: svcUser, Password: svcPass, Mailbox: "alice@contoso.com"}))
	env := newEnvFor(t, sim, svcUser, svcPass)
	recordAll(env)

	type want struct {
		std, dst    string // Period biases
		rules       string // Month/DayOfWeek/Occurrence@TimeOffset->period, in year order
		displayName string
	}
	for id, w := range map[string]want{
		"Pacific Standard Time":     {"PT8H", "PT7H", "3/Sunday/2@PT2H->Daylight 11/Sunday/1@PT2H->Standard", "(UTC-08:00) Pacific Standard Time"},
		"W. Europe Standard Time":   {"-PT1H", "-PT2H", "3/Sunday/-1@PT2H->Daylight 10/Sunday/-1@PT3H->Standard", "(UTC+01:00) W. Europe Standard Time"},
		"AUS Eastern Standard Time": {"-PT10H", "-PT11H", "4/Sunday/1@PT3H->Standard 10/Sunday/1@PT2H->Daylight", "(UTC+10:00) AUS Eastern Standard Time"},
		"India Standard Time":       {"-PT5H30M", "", "", "(UTC+05:30) India Standard Time"},
		"UTC":                       {"PT0H", "", "", "(UTC) UTC"},
	} {
		t.Run(id, func(t *testing.T) {
			r := env.timeZones(t, serverTimeZones(` ReturnFullTimeZoneData="true"`, id))
			if r.Code != "NoError" || len(r.Definitions) != 1 {
				t.Fatalf("%s, %d definitions", r.Code, len(r.Definitions))
			}
			d := r.Definitions[0]
			if d.ID != id || d.Name != w.displayName {
				t.Errorf("Id %q Name %q", d.ID, d.Name)
			}
			biases := map[string]string{}
			names := map[string]string{}
			for _, p := range d.Periods {
				biases[p.Name] = p.Bias
				names[p.ID] = p.Name
			}
			if biases["Standard"] != w.std || biases["Daylight"] != w.dst {
				t.Errorf("periods %v, want Standard %s Daylight %s", biases, w.std, w.dst)
			}
			var rules []string
			for _, tr := range d.Group.Transitions {
				if tr.XMLName.Local == "RecurringDayTransition" {
					rules = append(rules, strings.Join([]string{itoa(tr.Month), tr.DayOfWeek, itoa(tr.Occurrence)}, "/")+"@"+tr.TimeOffset+"->"+names[tr.Target.To])
				} else if names[tr.Target.To] != "Standard" || tr.Target.Kind != "Period" {
					t.Errorf("a zone without DST must go to its standard period, got %+v", tr)
				}
			}
			if got := strings.Join(rules, " "); got != w.rules {
				t.Errorf("transitions %q, want %q", got, w.rules)
			}
			if len(d.Transitions) != 1 || d.Transitions[0].Target.Kind != "Group" || d.Transitions[0].Target.To != "0" {
				t.Errorf("Transitions %+v, want one to group 0", d.Transitions)
			}
		})
	}
	t.Run("every zone without Ids matches the tz database", func(t *testing.T) {
		r := env.timeZones(t, serverTimeZones(""))
		if r.Code != "NoError" || len(r.Definitions) != len(domain.WindowsTimeZoneIDs()) {
			t.Fatalf("%s with %d definitions, want %d", r.Code, len(r.Definitions), len(domain.WindowsTimeZoneIDs()))
		}
		checked := 0
		for _, d := range r.Definitions {
			if ruleMatchesDatabase(t, d) {
				checked++
			}
		}
		// A zone with more than two transitions in a year would be
		// described by one period and fail here; 2026 has none.
		if checked != len(r.Definitions) {
			t.Errorf("only %d of %d zones match the tz database hour by hour", checked, len(r.Definitions))
		}
	})
	t.Run("names only", func(t *testing.T) {
		r := env.timeZones(t, serverTimeZones(` ReturnFullTimeZoneData="false"`, "Pacific Standard Time", "UTC"))
		if len(r.Definitions) != 2 || len(r.Definitions[0].Periods) != 0 || r.Definitions[1].ID != "UTC" {
			t.Errorf("got %+v, want two definitions without periods", r.Definitions)
		}
	})
	t.Run("unknown zone", func(t *testing.T) {
		r := env.timeZones(t, serverTimeZones("", "UTC", "Mars Standard Time"))
		if r.Class != "Error" || r.Code != "ErrorTimeZone" || len(r.Definitions) != 0 {
			t.Errorf("got %s %s with %d definitions, want Error ErrorTimeZone", r.Class, r.Code, len(r.Definitions))
		}
	})
	assertBodiesValid(t, env)
}

func itoa(n int) string { return strconv.Itoa(n) }

// ruleMatchesDatabase expands a definition's rule over 2026 and compares
// its UTC offset with Go's tz database at every hour.
func ruleMatchesDatabase(t *testing.T, d tzDefinition) bool {
	z, ok := domain.ResolveTimeZone(d.ID)
	if !ok {
		t.Fatalf("%s does not resolve", d.ID)
	}
	loc, err := time.LoadLocation(z.IANA)
	if err != nil {
		t.Fatal(err)
	}
	offsets := map[string]time.Duration{}
	for _, p := range d.Periods {
		offsets[p.ID] = -parseDuration(t, p.Bias)
	}
	type change struct {
		at time.Time // UTC
		to time.Duration
	}
	var changes []change
	var std time.Duration
	for _, p := range d.Periods {
		if p.Name == "Standard" {
			std = offsets[p.ID]
		}
	}
	for _, tr := range d.Group.Transitions {
		if tr.XMLName.Local != "RecurringDayTransition" {
			continue
		}
		day := nthWeekday(2026, time.Month(tr.Month), tr.DayOfWeek, tr.Occurrence)
		// The transition's local time is in the period it ends: the other one.
		from := std
		if offsets[tr.Target.To] == std {
			for _, o := range offsets {
				if o != std {
					from = o
				}
			}
		}
		at := day.Add(parseDuration(t, tr.TimeOffset)).Add(-from)
		changes = append(changes, change{at, offsets[tr.Target.To]})
	}
	offsetAt := func(u time.Time) time.Duration {
		cur := std
		if len(changes) == 2 {
			cur = changes[1].to // the year starts in the period the last change went to
		}
		for _, c := range changes {
			if !u.Before(c.at) {
				cur = c.to
			}
		}
		return cur
	}
	for u := time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC); u.Year() == 2026; u = u.Add(time.Hour) {
		_, off := u.In(loc).Zone()
		if time.Duration(off)*time.Second != offsetAt(u) {
			return false
		}
	}
	return true
}

// nthWeekday is the date (UTC midnight) of the n-th (or last, -1) weekday
// of a month.
func nthWeekday(year int, m time.Month, weekday string, n int) time.Time {
	if n == -1 {
		d := time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC)
		for d.Weekday().String() != weekday {
			d = d.AddDate(0, 0, -1)
		}
		return d
	}
	d := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC)
	for d.Weekday().String() != weekday {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, 7*(n-1))
}
