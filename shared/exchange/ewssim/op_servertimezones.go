package ewssim

import (
	"strconv"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// --- GetServerTimeZones ---

func init() {
	operations["GetServerTimeZones"] = func() operation { return new(serverTimeZonesReq) }
}

type serverTimeZonesReq struct {
	ReturnFull *bool    `xml:"ReturnFullTimeZoneData,attr"`
	IDs        []string `xml:"Ids>Id"`
}

// run answers the requested zones (all the simulator knows without Ids)
// in one response message, in the Exchange 2010 format: the standard and
// daylight Periods, one TransitionsGroup with the two yearly
// RecurringDayTransitions of the current year's rule (or one Transition
// to the standard period), and a Transitions list pointing at it. An Id
// the simulator does not know makes the message ErrorTimeZone, as no
// definition can be given for it.
func (r *serverTimeZonesReq) run(c *call) {
	const op = "GetServerTimeZones"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	ids := r.IDs
	if len(ids) == 0 {
		ids = domain.WindowsTimeZoneIDs()
	}
	year := c.now.Year()
	rules := make([]zoneRule, 0, len(ids))
	for _, id := range ids {
		rule, ok := ruleFor(strings.TrimSpace(id), year)
		if !ok {
			w.msgStart(op, ewsErr("ErrorTimeZone", "The time zone "+quote(id)+" is not known to the server."))
			w.raw("<m:TimeZoneDefinitions/>")
			w.msgEnd(op)
			return
		}
		rules = append(rules, rule)
	}
	full := r.ReturnFull == nil || *r.ReturnFull
	w.msgStart(op, nil)
	w.raw("<m:TimeZoneDefinitions>")
	for _, rule := range rules {
		w.timeZoneDefinition(rule, year, full)
	}
	w.raw("</m:TimeZoneDefinitions>")
	w.msgEnd(op)
}

func (w *xw) timeZoneDefinition(r zoneRule, year int, full bool) {
	w.raw("<t:TimeZoneDefinition")
	w.attr("Id", r.id)
	w.attr("Name", r.displayName())
	if !full {
		w.raw("/>")
		return
	}
	w.raw(">")
	prefix := "trule:Microsoft/Registry/" + r.id + "/" + strconv.Itoa(year) + "-"
	std, dst := prefix+"Standard", prefix+"Daylight"
	w.raw("<t:Periods>")
	w.period(r.standard, "Standard", std)
	if r.hasDST {
		w.period(r.daylight, "Daylight", dst)
	}
	w.raw(`</t:Periods><t:TransitionsGroups><t:TransitionsGroup Id="0">`)
	if r.hasDST {
		first, second := r.toDaylight, r.toStandard
		firstTo, secondTo := dst, std
		if second.month < first.month { // southern hemisphere: standard time comes first in the year
			first, second, firstTo, secondTo = second, first, secondTo, firstTo
		}
		w.recurringDay(first, firstTo)
		w.recurringDay(second, secondTo)
	} else {
		w.raw(`<t:Transition><t:To Kind="Period">`)
		w.esc(std)
		w.raw(`</t:To></t:Transition>`)
	}
	w.raw(`</t:TransitionsGroup></t:TransitionsGroups>`)
	w.raw(`<t:Transitions><t:Transition><t:To Kind="Group">0</t:To></t:Transition></t:Transitions>`)
	w.raw("</t:TimeZoneDefinition>")
}

func (w *xw) period(offset int, name, id string) {
	w.raw("<t:Period")
	w.attr("Bias", bias(offset))
	w.attr("Name", name)
	w.attr("Id", id)
	w.raw("/>")
}

func (w *xw) recurringDay(t transitionRule, to string) {
	w.raw(`<t:RecurringDayTransition><t:To Kind="Period">`)
	w.esc(to)
	w.raw(`</t:To>`)
	w.el("t:TimeOffset", duration(t.at))
	w.elInt("t:Month", int(t.month))
	w.el("t:DayOfWeek", t.weekday.String())
	w.elInt("t:Occurrence", t.occurrence)
	w.raw(`</t:RecurringDayTransition>`)
}
