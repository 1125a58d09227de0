package app

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// day0 is a Monday.
var day0 = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

func at(h, m int) time.Time {
	return day0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func iv(h1, m1, h2, m2 int, s domain.BusyStatus) domain.BusyInterval {
	return domain.BusyInterval{Start: at(h1, m1), End: at(h2, m2), Status: s}
}

// slotStrings renders slots as "15:04-15:04" plus, per group, its free
// members.
func slotStrings(slots []FreeSlot) []string {
	var out []string
	for _, s := range slots {
		line := s.Start.Format("Mon 15:04") + "-" + s.End.Format("15:04")
		for _, f := range s.Free {
			line += " [" + strings.Join(f, " ") + "]"
		}
		out = append(out, line)
	}
	return out
}

func TestFreeSlots(t *testing.T) {
	nineToFive := &WorkingHours{Start: 9 * 60, End: 17 * 60}
	for d := time.Monday; d <= time.Friday; d++ {
		nineToFive.Days[d] = true
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	all := func(ms ...string) SlotGroup { return SlotGroup{Kind: SlotGroupAll, Mailboxes: ms} }
	anyOf := func(n int, ms ...string) SlotGroup { return SlotGroup{Kind: SlotGroupAny, Count: n, Mailboxes: ms} }
	tests := []struct {
		name      string
		q         SlotQuery
		busy      map[string][]domain.BusyInterval
		want      []string
		truncated bool
	}{
		{
			name: "one person, one meeting: the slots around it",
			q:    SlotQuery{Start: at(9, 0), End: at(12, 0), Meeting: time.Hour, Step: time.Hour, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {iv(10, 0, 11, 0, domain.BusyBusy)}},
			want: []string{"Mon 09:00-10:00 [a]", "Mon 11:00-12:00 [a]"},
		},
		{
			name: "a meeting ending as the slot starts does not block it",
			q:    SlotQuery{Start: at(9, 0), End: at(11, 0), Meeting: 30 * time.Minute, Step: 30 * time.Minute, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {iv(9, 0, 9, 30, domain.BusyBusy), iv(10, 30, 11, 0, domain.BusyBusy)}},
			want: []string{"Mon 09:30-10:00 [a]", "Mon 10:00-10:30 [a]"},
		},
		{
			name: "the grid starts at local midnight, not at the window's start",
			q:    SlotQuery{Start: at(9, 10), End: at(11, 0), Meeting: 30 * time.Minute, Step: 30 * time.Minute, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {}},
			want: []string{"Mon 09:30-10:00 [a]", "Mon 10:00-10:30 [a]", "Mon 10:30-11:00 [a]"},
		},
		{
			name: "a meeting longer than the step overlaps later candidates",
			q:    SlotQuery{Start: at(9, 0), End: at(12, 0), Meeting: 90 * time.Minute, Step: 30 * time.Minute, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {iv(10, 45, 11, 0, domain.BusyBusy)}},
			want: []string{"Mon 09:00-10:30 [a]"},
		},
		{
			name: "statuses: tentative, oof and unknown block; working elsewhere and free do not",
			q:    SlotQuery{Start: at(9, 0), End: at(15, 0), Meeting: time.Hour, Step: time.Hour, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {iv(9, 0, 10, 0, domain.BusyTentative), iv(10, 0, 11, 0, domain.BusyOutOfOffice),
				iv(11, 0, 12, 0, domain.BusyWorkingElsewhere), iv(12, 0, 13, 0, domain.BusyUnknown), iv(13, 0, 14, 0, domain.BusyFree)}},
			want: []string{"Mon 11:00-12:00 [a]", "Mon 13:00-14:00 [a]", "Mon 14:00-15:00 [a]"},
		},
		{
			name: "overlapping and unsorted intervals merge",
			q:    SlotQuery{Start: at(9, 0), End: at(14, 0), Meeting: time.Hour, Step: time.Hour, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {iv(11, 0, 12, 30, domain.BusyBusy), iv(9, 30, 10, 0, domain.BusyBusy), iv(10, 0, 11, 30, domain.BusyTentative)}},
			want: []string{"Mon 13:00-14:00 [a]"},
		},
		{
			name: "all of three people: the slots all three have",
			q:    SlotQuery{Start: at(9, 0), End: at(13, 0), Meeting: time.Hour, Step: time.Hour, Groups: []SlotGroup{all("a", "b", "c")}},
			busy: map[string][]domain.BusyInterval{"a": {iv(9, 0, 10, 0, domain.BusyBusy)}, "b": {iv(10, 0, 11, 0, domain.BusyBusy)}, "c": {iv(12, 0, 13, 0, domain.BusyOutOfOffice)}},
			want: []string{"Mon 11:00-12:00 [a b c]"},
		},
		{
			name: "all of the people and any one room: each slot lists the free rooms",
			q: SlotQuery{Start: at(9, 0), End: at(13, 0), Meeting: time.Hour, Step: time.Hour,
				Groups: []SlotGroup{all("p1", "p2"), anyOf(1, "r1", "r2", "r3")}},
			busy: map[string][]domain.BusyInterval{
				"p1": {iv(12, 0, 13, 0, domain.BusyBusy)}, "p2": {},
				"r1": {iv(9, 0, 11, 0, domain.BusyBusy)}, "r2": {iv(9, 0, 10, 0, domain.BusyBusy), iv(10, 0, 11, 0, domain.BusyBusy)}, "r3": {iv(9, 0, 10, 0, domain.BusyBusy), iv(11, 0, 12, 0, domain.BusyBusy)},
			},
			want: []string{"Mon 10:00-11:00 [p1 p2] [r3]", "Mon 11:00-12:00 [p1 p2] [r1 r2]"},
		},
		{
			name: "any two of three",
			q:    SlotQuery{Start: at(9, 0), End: at(12, 0), Meeting: time.Hour, Step: time.Hour, Groups: []SlotGroup{anyOf(2, "a", "b", "c")}},
			busy: map[string][]domain.BusyInterval{"a": {iv(9, 0, 11, 0, domain.BusyBusy)}, "b": {iv(9, 0, 10, 0, domain.BusyBusy)}, "c": {iv(11, 0, 12, 0, domain.BusyBusy)}},
			want: []string{"Mon 10:00-11:00 [b c]", "Mon 11:00-12:00 [a b]"},
		},
		{
			name: "a mailbox that did not answer is never free",
			q:    SlotQuery{Start: at(9, 0), End: at(11, 0), Meeting: time.Hour, Step: time.Hour, Groups: []SlotGroup{anyOf(1, "failed", "r1")}},
			busy: map[string][]domain.BusyInterval{"r1": {iv(9, 0, 10, 0, domain.BusyBusy)}},
			want: []string{"Mon 10:00-11:00 [r1]"},
		},
		{
			name: "an all group with a failed member has no slot",
			q:    SlotQuery{Start: at(9, 0), End: at(11, 0), Meeting: time.Hour, Step: time.Hour, Groups: []SlotGroup{all("a", "failed")}},
			busy: map[string][]domain.BusyInterval{"a": {}},
		},
		{
			name: "working hours: only inside 9-17 on weekdays",
			q:    SlotQuery{Start: day0.Add(4 * 24 * time.Hour), End: day0.Add(7 * 24 * time.Hour), Meeting: 4 * time.Hour, Step: time.Hour, Hours: nineToFive, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {}},
			// Friday, then nothing on the weekend; Monday 09:00 would be
			// day 7, outside the window.
			want: []string{"Fri 09:00-13:00 [a]", "Fri 10:00-14:00 [a]", "Fri 11:00-15:00 [a]", "Fri 12:00-16:00 [a]", "Fri 13:00-17:00 [a]"},
		},
		{
			name: "working hours to midnight: a slot may end at 24:00",
			q: SlotQuery{Start: at(22, 0), End: at(26, 0), Meeting: time.Hour, Step: time.Hour,
				Hours: &WorkingHours{Start: 22 * 60, End: 24 * 60, Days: [7]bool{true, true, true, true, true, true, true}}, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {}},
			want: []string{"Mon 22:00-23:00 [a]", "Mon 23:00-00:00 [a]"},
		},
		{
			name: "working hours are wall-clock in the zone, across a DST change",
			// 2026-03-29 Berlin springs forward at 02:00; on both days the
			// slot is 09:00-10:00 local (08:00Z before, 07:00Z after).
			q: SlotQuery{Start: time.Date(2026, 3, 28, 0, 0, 0, 0, berlin), End: time.Date(2026, 3, 30, 0, 0, 0, 0, berlin), Meeting: time.Hour, Step: time.Hour,
				Zone: berlin, Hours: &WorkingHours{Start: 9 * 60, End: 10 * 60, Days: [7]bool{true, true, true, true, true, true, true}}, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {}},
			want: []string{"Sat 09:00-10:00 [a]", "Sun 09:00-10:00 [a]"},
		},
		{
			name: "no candidate twice in the spring-forward gap",
			q: SlotQuery{Start: time.Date(2026, 3, 29, 1, 0, 0, 0, berlin), End: time.Date(2026, 3, 29, 5, 0, 0, 0, berlin), Meeting: 30 * time.Minute, Step: 30 * time.Minute,
				Zone: berlin, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {}},
			want: []string{"Sun 01:00-01:30 [a]", "Sun 01:30-03:00 [a]", "Sun 03:00-03:30 [a]", "Sun 03:30-04:00 [a]", "Sun 04:00-04:30 [a]", "Sun 04:30-05:00 [a]"},
		},
		{
			name: "Max cuts the list and says so",
			q:    SlotQuery{Start: at(9, 0), End: at(17, 0), Meeting: time.Hour, Step: time.Hour, Groups: []SlotGroup{all("a")}, Max: 2},
			busy: map[string][]domain.BusyInterval{"a": {}},
			want: []string{"Mon 09:00-10:00 [a]", "Mon 10:00-11:00 [a]"}, truncated: true,
		},
		{
			name: "exactly Max slots is not truncated",
			q:    SlotQuery{Start: at(9, 0), End: at(11, 0), Meeting: time.Hour, Step: time.Hour, Groups: []SlotGroup{all("a")}, Max: 2},
			busy: map[string][]domain.BusyInterval{"a": {}},
			want: []string{"Mon 09:00-10:00 [a]", "Mon 10:00-11:00 [a]"},
		},
		{
			name: "a meeting longer than the window has no slot",
			q:    SlotQuery{Start: at(9, 0), End: at(9, 30), Meeting: time.Hour, Step: 30 * time.Minute, Groups: []SlotGroup{all("a")}},
			busy: map[string][]domain.BusyInterval{"a": {}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, truncated := FreeSlots(tc.q, tc.busy)
			if g := slotStrings(got); !slices.Equal(g, tc.want) {
				t.Errorf("slots\n got %q\nwant %q", g, tc.want)
			}
			if truncated != tc.truncated {
				t.Errorf("truncated = %v, want %v", truncated, tc.truncated)
			}
		})
	}
}

// TestFreeSlotsBruteForce: over random calendars of 3 people and 20
// rooms, "all 3 people and any 1 room" gives exactly the slots a direct
// check of every candidate against every interval gives, with the free
// rooms listed.
func TestFreeSlotsBruteForce(t *testing.T) {
	statuses := []domain.BusyStatus{domain.BusyBusy, domain.BusyTentative, domain.BusyOutOfOffice, domain.BusyWorkingElsewhere, domain.BusyFree}
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			people := []string{"p0", "p1", "p2"}
			var rooms []string
			for i := range 20 {
				rooms = append(rooms, fmt.Sprintf("r%02d", i))
			}
			start, end := day0, day0.Add(3*24*time.Hour)
			busy := map[string][]domain.BusyInterval{}
			for _, m := range slices.Concat(people, rooms) {
				busy[m] = []domain.BusyInterval{}
				for range rng.IntN(12) {
					s := start.Add(time.Duration(rng.IntN(3*24*4)) * 15 * time.Minute)
					busy[m] = append(busy[m], domain.BusyInterval{Start: s, End: s.Add(time.Duration(1+rng.IntN(12)) * 15 * time.Minute), Status: statuses[rng.IntN(len(statuses))]})
				}
			}
			delete(busy, "r07") // one room did not answer
			q := SlotQuery{Start: start, End: end, Meeting: 45 * time.Minute, Step: 15 * time.Minute,
				Groups: []SlotGroup{{Kind: SlotGroupAll, Mailboxes: people}, {Kind: SlotGroupAny, Count: 1, Mailboxes: rooms}}}
			got, _ := FreeSlots(q, busy)

			freeAt := func(m string, s, e time.Time) bool {
				ivs, ok := busy[m]
				if !ok {
					return false
				}
				for _, b := range ivs {
					if b.Status != domain.BusyFree && b.Status != domain.BusyWorkingElsewhere && b.Start.Before(e) && b.End.After(s) {
						return false
					}
				}
				return true
			}
			var want []string
			for s := start; !s.Add(q.Meeting).After(end); s = s.Add(q.Step) {
				e := s.Add(q.Meeting)
				ok := true
				for _, p := range people {
					ok = ok && freeAt(p, s, e)
				}
				var free []string
				for _, r := range rooms {
					if freeAt(r, s, e) {
						free = append(free, r)
					}
				}
				if ok && len(free) > 0 {
					want = append(want, s.Format("Mon 15:04")+"-"+e.Format("15:04")+" ["+strings.Join(people, " ")+"] ["+strings.Join(free, " ")+"]")
				}
			}
			if g := slotStrings(got); !slices.Equal(g, want) {
				t.Fatalf("%d slots, brute force %d\n got %q\nwant %q", len(g), len(want), g, want)
			}
			if len(want) == 0 {
				t.Fatal("the random calendars left no slot: the check proved nothing")
			}
		})
	}
}
