package ewssim

import (
	"encoding/xml"
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// recurrence.go models recurring series as Exchange keeps them: one
// RecurringMaster holding the pattern and range, with its exceptions
// (modified occurrences, each with its own times, subject and location)
// and deleted occurrences, named by their instance index (1 = the first
// occurrence of the pattern). Occurrences are computed, in the series'
// time zone with its DST rules (Go's zone database, via the Windows id),
// at the master's local time of day: 09:00 in Berlin stays 09:00 across
// a DST change.

// Recurrence is a series' pattern and range in EWS's terms.
type Recurrence struct {
	// Pattern is the EWS element name: DailyRecurrence, WeeklyRecurrence,
	// AbsoluteMonthlyRecurrence, RelativeMonthlyRecurrence,
	// AbsoluteYearlyRecurrence or RelativeYearlyRecurrence.
	Pattern        string
	Interval       int      // 1 for the yearly patterns
	DaysOfWeek     []string // Monday ...; Day, Weekday or WeekendDay in relative patterns
	FirstDayOfWeek string   // weekly; Sunday when empty
	Index          string   // First, Second, Third, Fourth or Last (relative)
	DayOfMonth     int      // absolute patterns
	Month          int      // 1-12, yearly patterns
	// Range is NoEndRecurrence, EndDateRecurrence or NumberedRecurrence;
	// dates are YYYY-MM-DD in the series' zone.
	Range              string
	StartDate, EndDate string
	Count              int
}

// Exception is a modified occurrence: its instance index, and its own
// times, subject and location.
type Exception struct {
	Index      int
	Start, End time.Time
	Subject    string
	Location   string
	version    uint32
}

// instance is one occurrence of a series as a view lists it.
type instance struct {
	index                int
	original, start, end time.Time
	exception            *Exception
}

// maxInstances bounds an expansion (a no-end daily series from the past):
// Exchange itself caps a series' occurrences.
const maxInstances = 20000

var weekdays = map[string]time.Weekday{
	"Sunday": time.Sunday, "Monday": time.Monday, "Tuesday": time.Tuesday, "Wednesday": time.Wednesday,
	"Thursday": time.Thursday, "Friday": time.Friday, "Saturday": time.Saturday,
}

// location is the series' zone; UTC for a zone Go does not know.
func (it *Item) location() *time.Location { return zoneLocation(it.TimeZone) }

// location is the series' zone; UTC for a zone Go does not know.
func (in *item) location() *time.Location { return zoneLocation(in.TimeZone) }

// zoneLocation is the Go location of a Windows zone name; UTC for a zone
// Go does not know.
func zoneLocation(name string) *time.Location {
	if z, ok := domain.ResolveTimeZone(name); ok {
		if l, err := time.LoadLocation(z.IANA); err == nil {
			return l
		}
	}
	return time.UTC
}

// daySet reports whether a day matches a relative pattern's day.
func daySet(name string) func(time.Weekday) bool {
	switch name {
	case "Day":
		return func(time.Weekday) bool { return true }
	case "Weekday":
		return func(d time.Weekday) bool { return d != time.Saturday && d != time.Sunday }
	case "WeekendDay":
		return func(d time.Weekday) bool { return d == time.Saturday || d == time.Sunday }
	}
	want := weekdays[name]
	return func(d time.Weekday) bool { return d == want }
}

func monthDays(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// relativeDay is the day of month of the index'th matching day.
func relativeDay(y int, m time.Month, day, index string) int {
	match := daySet(day)
	var ds []int
	for d := 1; d <= monthDays(y, m); d++ {
		if match(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) {
			ds = append(ds, d)
		}
	}
	n := map[string]int{"First": 0, "Second": 1, "Third": 2, "Fourth": 3}[index]
	if index == "Last" || n >= len(ds) {
		return ds[len(ds)-1]
	}
	return ds[n]
}

// dates yields the series' dates (midnight UTC, as calendar dates) in
// order, until yield returns false or the range ends.
func (r *Recurrence) dates(yield func(time.Time) bool) {
	start, err := time.Parse(time.DateOnly, r.StartDate)
	if err != nil {
		return
	}
	var end time.Time
	if r.Range == "EndDateRecurrence" {
		if end, err = time.Parse(time.DateOnly, r.EndDate); err != nil {
			return
		}
	}
	n := 0
	emit := func(d time.Time) bool {
		if d.Before(start) {
			return true
		}
		if !end.IsZero() && d.After(end) {
			return false
		}
		if r.Range == "NumberedRecurrence" && n >= r.Count {
			return false
		}
		n++
		if n > maxInstances {
			return false
		}
		return yield(d)
	}
	iv := max(r.Interval, 1)
	day := ""
	if len(r.DaysOfWeek) > 0 {
		day = r.DaysOfWeek[0]
	}
	switch r.Pattern {
	case "DailyRecurrence":
		for d := start; ; d = d.AddDate(0, 0, iv) {
			if !emit(d) {
				return
			}
		}
	case "WeeklyRecurrence":
		wkst := time.Sunday
		if w, ok := weekdays[r.FirstDayOfWeek]; ok {
			wkst = w
		}
		week := start.AddDate(0, 0, -int((start.Weekday()-wkst+7)%7))
		for ; ; week = week.AddDate(0, 0, 7*iv) {
			for i := range 7 {
				d := week.AddDate(0, 0, i)
				if slices.ContainsFunc(r.DaysOfWeek, func(s string) bool { w, ok := weekdays[s]; return ok && w == d.Weekday() }) {
					if !emit(d) {
						return
					}
				}
			}
			if len(r.DaysOfWeek) == 0 {
				return
			}
		}
	case "AbsoluteMonthlyRecurrence", "RelativeMonthlyRecurrence", "AbsoluteYearlyRecurrence", "RelativeYearlyRecurrence":
		yearly := strings.HasSuffix(r.Pattern, "YearlyRecurrence")
		y, m := start.Year(), start.Month()
		step := iv
		if yearly {
			m = time.Month(r.Month)
			step = 12 * iv
		}
		for {
			var dom int
			if strings.HasPrefix(r.Pattern, "Absolute") {
				// A day the month lacks falls on its last day, as Exchange does.
				dom = min(r.DayOfMonth, monthDays(y, m))
			} else {
				dom = relativeDay(y, m, day, r.Index)
			}
			if !emit(time.Date(y, m, dom, 0, 0, 0, 0, time.UTC)) {
				return
			}
			t := time.Date(y, m+time.Month(step), 1, 0, 0, 0, 0, time.UTC)
			y, m = t.Year(), t.Month()
		}
	}
}

// instances lists the series' occurrences that overlap [from, to), with
// its exceptions in place of the occurrences they modify and without its
// deleted ones, in start order.
func (in *item) instances(from, to time.Time) []instance {
	it := in
	r := it.Recurrence
	if r == nil {
		return nil
	}
	loc := it.location()
	ls := it.Start.In(loc)
	dur := it.End.Sub(it.Start)
	days := int(dur.Round(24*time.Hour) / (24 * time.Hour))
	var out []instance
	idx := 0
	r.dates(func(d time.Time) bool {
		idx++
		start := time.Date(d.Year(), d.Month(), d.Day(), ls.Hour(), ls.Minute(), ls.Second(), 0, loc)
		end := start.Add(dur)
		if it.IsAllDay {
			// Midnight to midnight in the zone, whatever DST does.
			end = time.Date(d.Year(), d.Month(), d.Day()+days, 0, 0, 0, 0, loc)
		}
		if !start.Before(to) {
			return false
		}
		if slices.Contains(in.DeletedOccurrences, idx) {
			return true
		}
		if x := in.exception(idx); x != nil {
			if x.Start.Before(to) && x.End.After(from) {
				out = append(out, instance{index: idx, original: start, start: x.Start, end: x.End, exception: x})
			}
			return true
		}
		if end.After(from) {
			out = append(out, instance{index: idx, original: start, start: start, end: end})
		}
		return true
	})
	// Exceptions moved into the window from after it.
	for i := range in.Exceptions {
		x := &in.Exceptions[i]
		if x.Start.Before(to) && x.End.After(from) && !slices.ContainsFunc(out, func(o instance) bool { return o.index == x.Index }) {
			if o, ok := in.occurrence(x.Index); ok {
				out = append(out, o)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b instance) int { return a.start.Compare(b.start) })
	return out
}

// occurrence returns the instance with index i (1-based), exception or
// not; false when the series has no such instance or it was deleted.
func (in *item) occurrence(i int) (instance, bool) { return in.occurrenceAt(i, false) }

// occurrenceAt is occurrence, and finds deleted instances too when
// withDeleted.
func (in *item) occurrenceAt(i int, withDeleted bool) (instance, bool) {
	it := in
	if it.Recurrence == nil || i < 1 || (!withDeleted && slices.Contains(in.DeletedOccurrences, i)) {
		return instance{}, false
	}
	loc := it.location()
	ls := it.Start.In(loc)
	dur := it.End.Sub(it.Start)
	days := int(dur.Round(24*time.Hour) / (24 * time.Hour))
	var out instance
	found := false
	n := 0
	it.Recurrence.dates(func(d time.Time) bool {
		n++
		if n < i {
			return true
		}
		start := time.Date(d.Year(), d.Month(), d.Day(), ls.Hour(), ls.Minute(), ls.Second(), 0, loc)
		end := start.Add(dur)
		if it.IsAllDay {
			end = time.Date(d.Year(), d.Month(), d.Day()+days, 0, 0, 0, 0, loc)
		}
		out = instance{index: i, original: start, start: start, end: end}
		if x := in.exception(i); x != nil {
			out.start, out.end, out.exception = x.Start, x.End, x
		}
		found = true
		return false
	})
	return out, found
}

func (in *item) exception(i int) *Exception {
	for k := range in.Exceptions {
		if in.Exceptions[k].Index == i {
			return &in.Exceptions[k]
		}
	}
	return nil
}

// firstLast are the series' first and last occurrences (the last only
// when the range ends).
func (in *item) firstLast() (first, last instance, hasLast bool) {
	r := in.Recurrence
	first, _ = in.occurrence(1)
	if r.Range == "NoEndRecurrence" {
		return first, last, false
	}
	n := 0
	r.dates(func(time.Time) bool { n++; return true })
	if n > 0 {
		last, hasLast = in.occurrence(n)
	}
	return first, last, hasLast
}

// --- occurrence ids ---

// An occurrence id names a series (mailbox, item index) and an instance
// index; it is longer than an item id so no item id decodes as one.
const tagOccurrence = 'O'

func occurrenceID(mbx, idx uint32, index int) string {
	return encodeID3(tagOccurrence, mbx, idx, uint32(index))
}

func decodeOccurrenceID(s string) (mbx, idx uint32, index int, ok bool) {
	mbx, idx, i, ok := decodeID3(tagOccurrence, s)
	return mbx, idx, int(i), ok
}

// occurrenceKey is an occurrence's ChangeKey: it changes with the series
// and with its exception.
func occurrenceKey(in *item, o instance) string {
	v := in.version
	if o.exception != nil {
		v += o.exception.version << 16
	}
	return changeKey(uint32(o.index), v)
}

// itemMailbox is the mailbox index an item or occurrence id names.
func itemMailbox(id string) (uint32, bool) {
	if m, _, ok := decodeID(tagItem, id); ok {
		return m, true
	}
	if m, _, _, ok := decodeOccurrenceID(id); ok {
		return m, true
	}
	return 0, false
}

// --- rendering ---

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

// seriesFields writes a master's Recurrence, FirstOccurrence,
// LastOccurrence, ModifiedOccurrences and DeletedOccurrences.
func (w *xw) seriesFields(mb *mailbox, idx uint32, in *item, sh shape) {
	r := in.Recurrence
	if sh.want("calendar:Recurrence") {
		w.raw("<t:Recurrence><t:" + r.Pattern + ">")
		iv := max(r.Interval, 1)
		day := ""
		if len(r.DaysOfWeek) > 0 {
			day = r.DaysOfWeek[0]
		}
		switch r.Pattern {
		case "RelativeYearlyRecurrence":
			w.el("t:DaysOfWeek", day)
			w.el("t:DayOfWeekIndex", r.Index)
			w.el("t:Month", monthNames[r.Month-1])
		case "AbsoluteYearlyRecurrence":
			w.elInt("t:DayOfMonth", r.DayOfMonth)
			w.el("t:Month", monthNames[r.Month-1])
		case "RelativeMonthlyRecurrence":
			w.elInt("t:Interval", iv)
			w.el("t:DaysOfWeek", day)
			w.el("t:DayOfWeekIndex", r.Index)
		case "AbsoluteMonthlyRecurrence":
			w.elInt("t:Interval", iv)
			w.elInt("t:DayOfMonth", r.DayOfMonth)
		case "WeeklyRecurrence":
			w.elInt("t:Interval", iv)
			w.el("t:DaysOfWeek", strings.Join(r.DaysOfWeek, " "))
			// Every series has a first day of the week (Sunday unless the
			// client set one); Exchange 2010 SP1 and later serve it, as
			// Graph's firstDayOfWeek does.
			first := r.FirstDayOfWeek
			if first == "" {
				first = "Sunday"
			}
			w.el("t:FirstDayOfWeek", first)
		case "DailyRecurrence":
			w.elInt("t:Interval", iv)
		}
		w.raw("</t:" + r.Pattern + "><t:" + r.Range + ">")
		w.el("t:StartDate", r.StartDate)
		switch r.Range {
		case "EndDateRecurrence":
			w.el("t:EndDate", r.EndDate)
		case "NumberedRecurrence":
			w.elInt("t:NumberOfOccurrences", r.Count)
		}
		w.raw("</t:" + r.Range + "></t:Recurrence>")
	}
	occ := func(name string, o instance) {
		w.raw("<" + name + ">")
		w.id("t:ItemId", occurrenceID(mb.idx, idx, o.index), occurrenceKey(in, o))
		w.elTime("t:Start", o.start)
		w.elTime("t:End", o.end)
		w.elTime("t:OriginalStart", o.original)
		w.raw("</" + name + ">")
	}
	if sh.want("calendar:FirstOccurrence") || sh.want("calendar:LastOccurrence") {
		first, last, hasLast := in.firstLast()
		if sh.want("calendar:FirstOccurrence") && first.index > 0 {
			occ("t:FirstOccurrence", first)
		}
		if sh.want("calendar:LastOccurrence") && hasLast {
			occ("t:LastOccurrence", last)
		}
	}
	if len(in.Exceptions) > 0 && sh.want("calendar:ModifiedOccurrences") {
		w.raw("<t:ModifiedOccurrences>")
		xs := slices.Clone(in.Exceptions)
		slices.SortFunc(xs, func(a, b Exception) int { return a.Index - b.Index })
		for _, x := range xs {
			if o, ok := in.occurrence(x.Index); ok {
				occ("t:Occurrence", o)
			}
		}
		w.raw("</t:ModifiedOccurrences>")
	}
	if len(in.DeletedOccurrences) > 0 && sh.want("calendar:DeletedOccurrences") {
		w.raw("<t:DeletedOccurrences>")
		ds := slices.Sorted(slices.Values(in.DeletedOccurrences))
		for _, i := range ds {
			if o, ok := in.originalOf(i); ok {
				w.raw("<t:DeletedOccurrence>")
				w.elTime("t:Start", o)
				w.raw("</t:DeletedOccurrence>")
			}
		}
		w.raw("</t:DeletedOccurrences>")
	}
}

// originalOf is the start instance i has in the pattern (deleted or not).
func (in *item) originalOf(i int) (time.Time, bool) {
	o, ok := in.occurrenceAt(i, true)
	return o.original, ok
}

// --- requests ---

type patternXML struct {
	Interval       *int   `xml:"Interval"`
	DaysOfWeek     string `xml:"DaysOfWeek"`
	FirstDayOfWeek string `xml:"FirstDayOfWeek"`
	DayOfWeekIndex string `xml:"DayOfWeekIndex"`
	DayOfMonth     int    `xml:"DayOfMonth"`
	Month          string `xml:"Month"`
}

type rangeXML struct {
	StartDate           string `xml:"StartDate"`
	EndDate             string `xml:"EndDate"`
	NumberOfOccurrences int    `xml:"NumberOfOccurrences"`
}

// recurrenceXML is a request's calendar:Recurrence.
type recurrenceXML struct {
	Parts []struct {
		XMLName xml.Name
		patternXML
		rangeXML
	} `xml:",any"`
}

var errInvalidRecurrence = ewsErr("ErrorCalendarInvalidRecurrence", "The recurrence pattern is invalid.")

// recurrence reads x as Exchange checks it (ErrorCalendarInvalidRecurrence
// for values the schema allows but no series has).
func (x *recurrenceXML) recurrence() (*Recurrence, *ewsError) {
	r := &Recurrence{Interval: 1}
	for _, p := range x.Parts {
		switch name := p.XMLName.Local; name {
		case "DailyRecurrence", "WeeklyRecurrence", "AbsoluteMonthlyRecurrence", "RelativeMonthlyRecurrence",
			"AbsoluteYearlyRecurrence", "RelativeYearlyRecurrence":
			r.Pattern = name
			if p.Interval != nil {
				r.Interval = *p.Interval
			}
			r.DaysOfWeek = strings.Fields(p.DaysOfWeek)
			r.FirstDayOfWeek = strings.TrimSpace(p.FirstDayOfWeek)
			r.Index = strings.TrimSpace(p.DayOfWeekIndex)
			r.DayOfMonth = p.DayOfMonth
			r.Month = slices.Index(monthNames, strings.TrimSpace(p.Month)) + 1
		case "NoEndRecurrence", "EndDateRecurrence", "NumberedRecurrence":
			r.Range = name
			r.StartDate = xsDate(p.StartDate)
			r.EndDate = xsDate(p.EndDate)
			r.Count = p.NumberOfOccurrences
		default:
			return nil, errSchema("Recurrence holds an unknown element " + name)
		}
	}
	if r.Pattern == "" || r.Range == "" {
		return nil, errSchema("Recurrence needs a pattern and a range")
	}
	if r.Interval < 1 || r.Interval > 999 {
		return nil, errInvalidRecurrence
	}
	relative := strings.HasPrefix(r.Pattern, "Relative")
	yearly := strings.HasSuffix(r.Pattern, "YearlyRecurrence")
	switch {
	case r.Pattern == "WeeklyRecurrence" && (len(r.DaysOfWeek) == 0 || slices.ContainsFunc(r.DaysOfWeek, func(d string) bool { _, ok := weekdays[d]; return !ok })):
		return nil, errInvalidRecurrence
	case relative && (len(r.DaysOfWeek) != 1 || !slices.Contains([]string{"First", "Second", "Third", "Fourth", "Last"}, r.Index)):
		return nil, errInvalidRecurrence
	case relative && !validRelativeDay(r.DaysOfWeek[0]):
		return nil, errInvalidRecurrence
	case strings.HasPrefix(r.Pattern, "Absolute") && (r.DayOfMonth < 1 || r.DayOfMonth > 31):
		return nil, errInvalidRecurrence
	case yearly && r.Month == 0:
		return nil, errInvalidRecurrence
	}
	if _, err := time.Parse(time.DateOnly, r.StartDate); err != nil {
		return nil, errSchema("Recurrence StartDate must be an xs:date")
	}
	switch r.Range {
	case "EndDateRecurrence":
		if _, err := time.Parse(time.DateOnly, r.EndDate); err != nil {
			return nil, errSchema("Recurrence EndDate must be an xs:date")
		}
		if r.EndDate < r.StartDate {
			return nil, errInvalidRecurrence
		}
	case "NumberedRecurrence":
		if r.Count < 1 || r.Count > 999 {
			return nil, ewsErr("ErrorCalendarInvalidRecurrence", "NumberOfOccurrences must be 1 to 999.")
		}
	}
	return r, nil
}

// xsDate drops an xs:date's zone offset ("2014-03-08-08:00").
func xsDate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > len(time.DateOnly) {
		return s[:len(time.DateOnly)]
	}
	return s
}

// startSeries moves a new series' start to its first occurrence, as
// Exchange does when the start given does not fit the pattern, and
// rejects a series with no occurrence.
func startSeries(it *Item) *ewsError {
	in := newItem(*it)
	o, ok := in.occurrence(1)
	if !ok {
		return errInvalidRecurrence
	}
	it.Start, it.End = o.start, o.end
	it.IsRecurring = true
	return nil
}

func validRelativeDay(d string) bool {
	_, ok := weekdays[d]
	return ok || d == "Day" || d == "Weekday" || d == "WeekendDay"
}
