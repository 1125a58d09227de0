package domain

import (
	"flag"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

var updateZones = flag.Bool("update", false, "regenerate timezone_table.go from Go's copy of CLDR's windowsZones")

// The table is CLDR's, as Go's time package carries it: every Windows id
// Go knows maps to the same principal zone here, and every zone loads
// from the embedded database.
func TestWindowsZonesMatchGo(t *testing.T) {
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), "src", "time", "zoneinfo_abbrs_windows.go"))
	if err != nil {
		t.Fatalf("Go's source of CLDR's table (every Go toolchain has it): %v", err)
	}
	entry := regexp.MustCompile(`(?m)^\s*"([^"]+)":\s*\{"[^"]*", "[^"]*"\},\s*// (\S+)\s*$`)
	goZones := map[string]string{}
	for _, m := range entry.FindAllStringSubmatch(string(src), -1) {
		goZones[m[1]] = m[2]
	}
	if len(goZones) < 100 {
		t.Fatalf("read %d zones from Go's table: its format changed", len(goZones))
	}
	if *updateZones {
		writeZoneTable(t, goZones)
		return
	}
	for w, iana := range goZones {
		if windowsZones[w] != iana {
			t.Errorf("%q: Go says %s, the table %q (regenerate: go test -run TestWindowsZonesMatchGo -update)", w, iana, windowsZones[w])
		}
	}
	for w, iana := range windowsZones {
		if _, ok := goZones[w]; !ok {
			t.Errorf("%q is not in Go's table", w)
		}
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%q → %s: %v", w, iana, err)
		}
	}
}

func writeZoneTable(t *testing.T, zones map[string]string) {
	ids := make([]string, 0, len(zones))
	for w := range zones {
		ids = append(ids, w)
	}
	sort.Strings(ids)
	var b strings.Builder
	b.WriteString(`// Code generated from CLDR's windowsZones (the "001" territory: each
// Windows zone's principal IANA zone), as Go's time package records it in
// $GOROOT/src/time/zoneinfo_abbrs_windows.go; TestWindowsZonesMatchGo
// compares the two. DO NOT EDIT by hand: regenerate with that test's
// -update flag.

package domain

// windowsZones maps each Windows time zone id to its principal IANA zone.
var windowsZones = map[string]string{
`)
	for _, w := range ids {
		fmt.Fprintf(&b, "\t%q: %q,\n", w, zones[w])
	}
	b.WriteString("}\n")
	out, err := format.Source([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("timezone_table.go", out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolveTimeZone(t *testing.T) {
	for _, tc := range []struct {
		name, iana, windows string
	}{
		{"Europe/Berlin", "Europe/Berlin", "W. Europe Standard Time"},
		{"W. Europe Standard Time", "Europe/Berlin", "W. Europe Standard Time"},
		{"America/New_York", "America/New_York", "Eastern Standard Time"},
		{"Eastern Standard Time", "America/New_York", "Eastern Standard Time"},
		{"Asia/Kolkata", "Asia/Kolkata", "India Standard Time"},
		{"UTC", "UTC", "UTC"},
		{"Etc/UTC", "UTC", "UTC"},
		// No Windows id of its own: a zone with the same rules.
		{"Europe/Amsterdam", "Europe/Amsterdam", ""},
		{"America/Toronto", "America/Toronto", "Eastern Standard Time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, ok := ResolveTimeZone(tc.name)
			if !ok || z.IANA != tc.iana || (tc.windows != "" && z.Windows != tc.windows) || z.Windows == "" {
				t.Fatalf("ResolveTimeZone(%q) = %+v %v, want %s / %s", tc.name, z, ok, tc.iana, tc.windows)
			}
			// The Windows id found keeps the zone's offsets.
			loc, _ := time.LoadLocation(z.IANA)
			other, _ := time.LoadLocation(windowsZones[z.Windows])
			if z.Windows != "UTC" && !sameRules(loc, other) {
				t.Errorf("%s and %s (%s) differ", z.IANA, z.Windows, windowsZones[z.Windows])
			}
		})
	}
	for _, bad := range []string{"", "Local", "Mars/Olympus", "../../etc/passwd", "W. Europe Time", "/etc/localtime", strings.Repeat("A", 65)} {
		if z, ok := ResolveTimeZone(bad); ok {
			t.Errorf("ResolveTimeZone(%q) = %+v, want refused", bad, z)
		}
	}
}

// A normalized calendar item names its zone both ways, whichever name the
// adapter read; a zone only Exchange knows stays its Windows id.
func TestItemNamesItsTimeZone(t *testing.T) {
	for _, tc := range []struct{ read, iana, windows string }{
		{"W. Europe Standard Time", "Europe/Berlin", "W. Europe Standard Time"},
		{"Europe/Berlin", "Europe/Berlin", "W. Europe Standard Time"},
		{"Customized Time Zone", "", "Customized Time Zone"},
		{"", "", ""},
	} {
		it := Item{Kind: KindCalendar, TimeZone: tc.read}
		it.Bound()
		it.Bound() // twice: the same
		if it.TimeZone != tc.iana || it.WindowsTimeZone != tc.windows {
			t.Errorf("%q: timeZone %q, windowsTimeZone %q; want %q, %q", tc.read, it.TimeZone, it.WindowsTimeZone, tc.iana, tc.windows)
		}
	}
}
