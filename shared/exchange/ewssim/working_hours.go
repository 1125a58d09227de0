package ewssim

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// WorkingHours are a mailbox's working hours, which GetUserAvailability
// returns in its FreeBusyView (as Exchange does for the FreeBusy,
// FreeBusyMerged, Detailed and DetailedMerged views).
type WorkingHours struct {
	// TimeZone is the Windows time zone id the hours are in.
	TimeZone string
	// Days are the working days; none means the mailbox has no working
	// hours, and availability answers without them.
	Days []time.Weekday
	// Start and End are the working times of each day, since midnight.
	Start, End time.Duration
}

// DefaultWorkingHours are a new mailbox's: Monday to Friday, 08:00 to
// 17:00, UTC (Exchange's defaults, in the simulator's zone).
var DefaultWorkingHours = WorkingHours{
	TimeZone: "UTC",
	Days:     []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	Start:    8 * time.Hour,
	End:      17 * time.Hour,
}

// SetWorkingHours replaces a mailbox's working hours (no Days: none).
func (s *Sim) SetWorkingHours(address string, wh WorkingHours) error {
	mb, ok := s.mailbox(address)
	if !ok {
		return fmt.Errorf("%w: mailbox %s", ErrNotFound, address)
	}
	if _, ok := ruleFor(wh.TimeZone, s.clock.Now().Year()); !ok {
		return fmt.Errorf("ewssim: %q is not a Windows time zone id", wh.TimeZone)
	}
	if len(wh.Days) > 0 && (wh.Start < 0 || wh.End > 24*time.Hour || wh.Start >= wh.End || wh.Start%time.Minute != 0 || wh.End%time.Minute != 0) {
		return errors.New("ewssim: working hours need 0 <= Start < End <= 24h in whole minutes")
	}
	wh.Days = slices.Clone(wh.Days)
	slices.Sort(wh.Days)
	wh.Days = slices.Compact(wh.Days)
	mb.mu.Lock()
	mb.hours = &wh
	mb.mu.Unlock()
	return nil
}

func (mb *mailbox) workingHours() WorkingHours {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	if mb.hours != nil {
		return *mb.hours
	}
	return DefaultWorkingHours
}

// workingHours writes a FreeBusyView's WorkingHours: the zone as a
// SerializableTimeZone (the rule of the year) and one WorkingPeriod.
func (w *xw) workingHours(wh WorkingHours, year int) {
	if len(wh.Days) == 0 {
		return
	}
	rule, _ := ruleFor(wh.TimeZone, year)
	w.raw(`<WorkingHours xmlns="` + nsTypes + `"><TimeZone>`)
	w.elInt("Bias", -rule.standard/60)
	w.zoneTime("StandardTime", 0, rule.toStandard, rule.hasDST)
	w.zoneTime("DaylightTime", -(rule.daylight-rule.standard)/60, rule.toDaylight, rule.hasDST)
	w.raw("</TimeZone><WorkingPeriodArray><WorkingPeriod>")
	days := ""
	for i, d := range wh.Days {
		if i > 0 {
			days += " "
		}
		days += d.String()
	}
	w.el("DayOfWeek", days)
	w.elInt("StartTimeInMinutes", int(wh.Start/time.Minute))
	w.elInt("EndTimeInMinutes", int(wh.End/time.Minute))
	w.raw("</WorkingPeriod></WorkingPeriodArray></WorkingHours>")
}

// zoneTime writes a SerializableTimeZoneTime: when the period begins
// (DayOrder 1-4, 5 for the last) and its bias relative to the zone's.
// A zone without DST has zeros, as Exchange sends.
func (w *xw) zoneTime(name string, biasMinutes int, t transitionRule, dst bool) {
	w.raw("<" + name + ">")
	if !dst {
		w.raw("<Bias>0</Bias><Time>00:00:00</Time><DayOrder>0</DayOrder><Month>0</Month><DayOfWeek>Sunday</DayOfWeek>")
		w.raw("</" + name + ">")
		return
	}
	w.elInt("Bias", biasMinutes)
	at := int(t.at / time.Second)
	w.el("Time", pad2(at/3600)+":"+pad2(at%3600/60)+":"+pad2(at%60))
	order := t.occurrence
	if order == -1 {
		order = 5
	}
	w.el("DayOrder", strconv.Itoa(order))
	w.elInt("Month", int(t.month))
	w.el("DayOfWeek", t.weekday.String())
	w.raw("</" + name + ">")
}
