package ewssim

import (
	"strconv"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// zoneRule is a Windows time zone's rule for one year, as Exchange
// describes it (GetServerTimeZones' TimeZoneDefinition, availability's
// SerializableTimeZone): the standard offset and, for zones with daylight
// saving time, the daylight offset and the two yearly transitions as
// "the Nth (or last) weekday of a month at a local time". Derived from Go's
// time zone database for the zone's principal IANA zone.
type zoneRule struct {
	id       string // Windows id
	standard int    // UTC offset in seconds
	daylight int    // UTC offset in seconds during DST
	hasDST   bool
	// toDaylight and toStandard are the transitions, in the local time
	// of the period they end.
	toDaylight, toStandard transitionRule
}

type transitionRule struct {
	month      time.Month
	weekday    time.Weekday
	occurrence int // 1-4, or -1 for the last
	at         time.Duration
}

// ruleFor derives the rule of a Windows zone id for year; false for an id
// the table does not know. A zone whose year does not have exactly two
// transitions (none, or Morocco's four) is described by its offset at
// the start of the year, without DST.
func ruleFor(id string, year int) (zoneRule, bool) {
	z, ok := domain.ResolveTimeZone(id)
	if !ok || z.Windows != id {
		return zoneRule{}, false
	}
	loc, err := time.LoadLocation(z.IANA)
	if err != nil {
		return zoneRule{}, false
	}
	start := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	_, off := start.Zone()
	r := zoneRule{id: id, standard: off}
	var at []time.Time
	for t := start; len(at) < 5; {
		_, next := t.ZoneBounds()
		if next.IsZero() || !next.Before(end) {
			break
		}
		at = append(at, next)
		t = next
	}
	if len(at) != 2 {
		return r, true
	}
	for _, t := range at {
		_, before := t.Add(-time.Second).Zone()
		if t.IsDST() {
			r.daylight = offsetAt(t)
			r.standard = before
			r.toDaylight = transitionAt(t, before)
		} else {
			r.toStandard = transitionAt(t, before)
		}
	}
	r.hasDST = r.daylight != r.standard
	return r, true
}

func offsetAt(t time.Time) int {
	_, off := t.Zone()
	return off
}

// transitionAt describes the instant t in the wall-clock time of the
// period before it (offset before).
func transitionAt(t time.Time, before int) transitionRule {
	local := t.UTC().Add(time.Duration(before) * time.Second)
	day := local.Day()
	occ := (day-1)/7 + 1
	if day+7 > daysIn(local.Month(), local.Year()) {
		occ = -1
	}
	h, m, s := local.Clock()
	return transitionRule{month: local.Month(), weekday: local.Weekday(), occurrence: occ,
		at: time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second}
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// bias is an EWS Period Bias: minus the UTC offset, as an xs:duration
// ("PT8H" for UTC-8, "-PT5H30M" for UTC+5:30).
func bias(offset int) string {
	return duration(-time.Duration(offset) * time.Second)
}

// duration formats d as an xs:duration of hours, minutes and seconds.
func duration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	out := sign + "PT" + strconv.Itoa(h) + "H"
	if m != 0 {
		out += strconv.Itoa(m) + "M"
	}
	if s != 0 {
		out += strconv.Itoa(s) + "S"
	}
	return out
}

// displayName is the zone's name in the style of Windows' display names,
// "(UTC-08:00) Pacific Standard Time" (the simulator has no localized
// names).
func (r zoneRule) displayName() string {
	if r.standard == 0 {
		return "(UTC) " + r.id
	}
	off := r.standard
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return "(UTC" + sign + pad2(off/3600) + ":" + pad2(off%3600/60) + ") " + r.id
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
