package domain

import (
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // IANA zones must resolve where the OS has no zoneinfo (Lambda's provided.al2023)
)

// TimeZone is one zone under both of its names: IANA (what the API
// speaks) and Windows (what Exchange speaks).
type TimeZone struct {
	IANA    string
	Windows string
}

// MaxTimeZoneLen bounds a zone name in requests.
const MaxTimeZoneLen = 64

// A pattern keeps paths, "Local" and odd names away from the zone
// database (Windows ids are looked up in the table only).
var ianaZonePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)

// ResolveTimeZone accepts an IANA zone ("Europe/Berlin") or a Windows zone
// id ("W. Europe Standard Time") and names it both ways. An IANA zone
// without a Windows id of its own (Europe/Amsterdam) gets the first
// Windows id, in sorted order, whose principal IANA zone keeps the same
// offsets and transitions (the meeting's times are the same in either);
// false when the name is neither.
func ResolveTimeZone(name string) (TimeZone, bool) {
	if name == "" || len(name) > MaxTimeZoneLen || name == "Local" {
		return TimeZone{}, false
	}
	if strings.EqualFold(name, "UTC") || name == "Etc/UTC" || name == "GMT" || name == "Etc/GMT" {
		return TimeZone{IANA: "UTC", Windows: "UTC"}, true
	}
	if iana, ok := windowsZones[name]; ok {
		return TimeZone{IANA: iana, Windows: name}, true
	}
	if z, ok := resolvedIANA.Load(name); ok {
		return z.(TimeZone), true
	}
	if !ianaZonePattern.MatchString(name) {
		return TimeZone{}, false
	}
	// LoadLocation reads and parses the zone's data on every call: done
	// once per zone, since every item and request naming it comes here.
	loc, err := time.LoadLocation(name)
	if err != nil {
		return TimeZone{}, false
	}
	w, ok := windowsFor(loc)
	if !ok {
		return TimeZone{}, false
	}
	z := TimeZone{IANA: name, Windows: w}
	resolvedIANA.Store(name, z) // only zones the database has: a bounded set
	return z, true
}

// resolvedIANA holds the IANA zones resolved so far (name → TimeZone).
var resolvedIANA sync.Map

var (
	windowsByIANA     sync.Map // IANA name → Windows id ("" when none)
	windowsByIANAOnce = sync.OnceValue(func() map[string]string {
		m := make(map[string]string, len(windowsZones))
		for w, iana := range windowsZones {
			// Several Windows ids can share a principal zone; the first
			// in sorted order wins, so the answer is stable.
			if prev, ok := m[iana]; !ok || w < prev {
				m[iana] = w
			}
		}
		return m
	})
)

// windowsFor finds a Windows id for loc: its own, or that of a zone that
// agrees with it hour by hour over the window below.
func windowsFor(loc *time.Location) (string, bool) {
	name := loc.String()
	if w, ok := windowsByIANAOnce()[name]; ok {
		return w, true
	}
	if v, ok := windowsByIANA.Load(name); ok {
		return v.(string), v.(string) != ""
	}
	ids := make([]string, 0, len(windowsZones))
	for w := range windowsZones {
		ids = append(ids, w)
	}
	sort.Strings(ids)
	found := ""
	for _, w := range ids {
		other, err := time.LoadLocation(windowsZones[w])
		if err == nil && sameRules(loc, other) {
			found = w
			break
		}
	}
	windowsByIANA.Store(name, found)
	return found, found != ""
}

// zoneCompareFrom is where the comparison of two zones starts: their
// rules before it do not matter to meetings booked now.
var zoneCompareFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// sameRules says whether a and b give the same offset at every hour
// over two years from zoneCompareFrom (transitions fall on hours).
func sameRules(a, b *time.Location) bool {
	for t := zoneCompareFrom; t.Before(zoneCompareFrom.AddDate(2, 0, 0)); t = t.Add(time.Hour) {
		_, oa := t.In(a).Zone()
		_, ob := t.In(b).Zone()
		if oa != ob {
			return false
		}
	}
	return true
}

// WindowsTimeZoneIDs lists the Windows time zone ids the table knows,
// sorted (what an Exchange server offers in GetServerTimeZones).
func WindowsTimeZoneIDs() []string {
	ids := make([]string, 0, len(windowsZones))
	for w := range windowsZones {
		ids = append(ids, w)
	}
	sort.Strings(ids)
	return ids
}
