package app

import (
	"slices"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// This file owns the free-slot rule of the availability API: which
// meeting times suit a set of groups of mailboxes, given each mailbox's
// busy intervals. It is a pure function of its inputs (no clock, no I/O).
//
// The rule:
//   - candidate starts lie on a grid of Step from each local midnight in
//     Zone (so 30-minute slots start at :00 and :30 whatever the window's
//     start), inside [Start, End - Meeting];
//   - with working hours, a candidate must start on a working day and lie
//     wholly inside that day's hours (wall-clock time in Zone, so a DST
//     change does not move the day);
//   - a mailbox is free for a candidate when none of its blocking
//     intervals overlaps [start, start+Meeting): busy, out of office,
//     tentative and unknown block; working elsewhere does not (the person
//     works, just not at the office);
//   - a mailbox without an answer (it failed) is never free: a slot is
//     only offered when it is known to suit;
//   - a candidate is a slot when every group is satisfied: "all" needs
//     every member free, "any" at least Count of them.

// SlotGroupKind is how a group of mailboxes must be free.
type SlotGroupKind string

const (
	SlotGroupAll SlotGroupKind = "all" // every member free
	SlotGroupAny SlotGroupKind = "any" // at least Count members free
)

// SlotGroup is one constraint of a free-slot search.
type SlotGroup struct {
	Kind      SlotGroupKind
	Count     int // for SlotGroupAny
	Mailboxes []string
}

// WorkingHours are the wall-clock hours a slot must lie in.
type WorkingHours struct {
	Start, End int     // minutes after local midnight; 0 <= Start < End <= 1440
	Days       [7]bool // by time.Weekday
}

// SlotQuery is what FreeSlots searches.
type SlotQuery struct {
	Start, End time.Time
	Meeting    time.Duration // the meeting's length
	Step       time.Duration // the grid of candidate starts; whole minutes
	Zone       *time.Location
	Hours      *WorkingHours // nil: any time of any day
	Groups     []SlotGroup
	Max        int // at most this many slots; 0: no bound
}

// FreeSlot is one bookable meeting time.
type FreeSlot struct {
	Start, End time.Time // in the query's Zone
	// Free holds, per group of the query in order, its members free for
	// the whole slot, in the group's order.
	Free [][]string
}

// blocks reports whether an interval of status s makes its mailbox
// unavailable.
func blocks(s domain.BusyStatus) bool {
	return s != domain.BusyFree && s != domain.BusyWorkingElsewhere
}

// span is a merged blocking interval.
type span struct{ start, end time.Time }

// mailboxCursor answers "is the mailbox free for [s, e)" for candidates
// in increasing order, in amortised constant time.
type mailboxCursor struct {
	answered bool
	spans    []span // disjoint, sorted
	i        int    // first span ending after the last candidate's start
}

func newCursor(busy []domain.BusyInterval, answered bool) *mailboxCursor {
	var sp []span
	for _, b := range busy {
		if blocks(b.Status) && b.End.After(b.Start) {
			sp = append(sp, span{b.Start, b.End})
		}
	}
	slices.SortFunc(sp, func(a, b span) int { return a.start.Compare(b.start) })
	var merged []span
	for _, s := range sp {
		if n := len(merged); n > 0 && !s.start.After(merged[n-1].end) {
			if s.end.After(merged[n-1].end) {
				merged[n-1].end = s.end
			}
			continue
		}
		merged = append(merged, s)
	}
	return &mailboxCursor{answered: answered, spans: merged}
}

func (c *mailboxCursor) free(s, e time.Time) bool {
	if !c.answered {
		return false
	}
	for c.i < len(c.spans) && !c.spans[c.i].end.After(s) {
		c.i++
	}
	return c.i >= len(c.spans) || !c.spans[c.i].start.Before(e)
}

// FreeSlots returns the slots of q in time order, given each answered
// mailbox's busy intervals (a mailbox absent from busy did not answer),
// and whether q.Max cut the list short.
func FreeSlots(q SlotQuery, busy map[string][]domain.BusyInterval) (slots []FreeSlot, truncated bool) {
	if q.Zone == nil {
		q.Zone = time.UTC
	}
	if q.Step < time.Minute || q.Meeting <= 0 || !q.End.After(q.Start) {
		return nil, false
	}
	// One cursor per mailbox, shared by the groups that name it.
	byMailbox := map[string]*mailboxCursor{}
	cursors := make([][]*mailboxCursor, len(q.Groups))
	for gi, g := range q.Groups {
		for _, m := range g.Mailboxes {
			c := byMailbox[m]
			if c == nil {
				b, ok := busy[m]
				c = newCursor(b, ok)
				byMailbox[m] = c
			}
			cursors[gi] = append(cursors[gi], c)
		}
	}
	stepMin := int(q.Step / time.Minute)
	first := q.Start.In(q.Zone)
	day := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, q.Zone)
	var last time.Time
	for ; day.Before(q.End); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, q.Zone) {
		if q.Hours != nil && !q.Hours.Days[day.Weekday()] {
			continue
		}
		for k := 0; k*stepMin < 24*60; k++ {
			// Wall-clock minutes, so the grid keeps to the clock across
			// a DST change; a time in the spring-forward gap normalises
			// onto a later one, which is then skipped as seen.
			s := time.Date(day.Year(), day.Month(), day.Day(), 0, k*stepMin, 0, 0, q.Zone)
			e := s.Add(q.Meeting)
			if !s.After(last) && !last.IsZero() || s.Before(q.Start) {
				continue
			}
			if e.After(q.End) {
				break
			}
			last = s
			if q.Hours != nil && !q.Hours.within(s, e, q.Zone) {
				continue
			}
			free, ok := satisfies(q.Groups, cursors, s, e)
			if !ok {
				continue
			}
			if q.Max > 0 && len(slots) == q.Max {
				return slots, true
			}
			slots = append(slots, FreeSlot{Start: s, End: e.In(q.Zone), Free: free})
		}
	}
	return slots, false
}

// within reports whether [s, e) lies inside the working hours of s's
// local day.
func (h *WorkingHours) within(s, e time.Time, zone *time.Location) bool {
	ls, le := s.In(zone), e.In(zone)
	startMin := ls.Hour()*60 + ls.Minute()
	endMin := le.Hour()*60 + le.Minute()
	if y, m, d := ls.Date(); le.Year() != y || le.Month() != m || le.Day() != d {
		// Only an end at the next midnight stays in the day.
		next := time.Date(y, m, d+1, 0, 0, 0, 0, zone)
		if !le.Equal(next) {
			return false
		}
		endMin = 24 * 60
	}
	return startMin >= h.Start && endMin <= h.End
}

// satisfies checks every group for [s, e); free lists each group's free
// members. A group that cannot be met ends the check early (a cursor may
// skip candidates: it only moves forward); only a slot's lists are built.
func satisfies(groups []SlotGroup, cursors [][]*mailboxCursor, s, e time.Time) (free [][]string, ok bool) {
	for gi, g := range groups {
		need := g.Count
		if g.Kind == SlotGroupAll {
			need = len(g.Mailboxes)
		}
		n := 0
		for i, c := range cursors[gi] {
			if c.free(s, e) {
				n++
			}
			if n+len(cursors[gi])-i-1 < need {
				return nil, false
			}
			if n >= need && g.Kind == SlotGroupAny {
				break
			}
		}
		if n < need {
			return nil, false
		}
	}
	free = make([][]string, len(groups))
	for gi, g := range groups {
		f := []string{}
		for i, c := range cursors[gi] {
			if c.free(s, e) {
				f = append(f, g.Mailboxes[i])
			}
		}
		free[gi] = f
	}
	return free, true
}
