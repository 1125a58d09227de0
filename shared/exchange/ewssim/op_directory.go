package ewssim

import (
	"slices"
	"strings"
	"time"
)

// --- ResolveNames ---

type resolveNamesReq struct {
	ReturnFullContactData bool   `xml:"ReturnFullContactData,attr"`
	UnresolvedEntry       string `xml:"UnresolvedEntry"`
}

func (r *resolveNamesReq) validate() *ewsError {
	if strings.TrimSpace(r.UnresolvedEntry) == "" {
		return errSchema("UnresolvedEntry must not be empty")
	}
	return nil
}

// maxResolutions is how many candidates ResolveNames returns at most.
const maxResolutions = 100

func (r *resolveNamesReq) run(c *call) {
	const op = "ResolveNames"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	q := strings.ToLower(strings.TrimSpace(r.UnresolvedEntry))
	q = strings.TrimPrefix(q, "smtp:")
	// contact: a contact of the impersonated mailbox (MailboxType
	// Contact, ContactSource Store), searched after the directory as
	// Exchange's ActiveDirectoryContacts scope does.
	type hit struct {
		addr, name string
		contact    bool
	}
	var hits []hit
	c.s.mu.RLock()
	if mb, ok := c.s.byAddr[q]; ok {
		hits = append(hits, hit{mb.addr, mb.name, false})
	} else {
		for _, mb := range c.s.mailboxes {
			// Like ambiguous name resolution: any part of the address or name.
			if strings.Contains(mb.addr, q) || strings.Contains(strings.ToLower(mb.name), q) {
				hits = append(hits, hit{mb.addr, mb.name, false})
			}
		}
	}
	c.s.mu.RUnlock()
	if mb := c.imp; mb != nil {
		mb.mu.RLock()
		for _, in := range mb.items {
			if in.deleted || in.Kind != KindContact || len(in.Emails) == 0 {
				continue
			}
			addr := strings.ToLower(in.Emails[0])
			if strings.Contains(addr, q) || strings.Contains(strings.ToLower(in.DisplayName), q) {
				hits = append(hits, hit{addr, in.DisplayName, true})
			}
		}
		mb.mu.RUnlock()
	}
	if len(hits) == 0 {
		w.errorMessage(op, errNameNoResults)
		return
	}
	total := len(hits)
	hits = hits[:min(len(hits), maxResolutions)]
	if len(hits) > 1 {
		w.msgStart(op, &ewsError{code: "ErrorNameResolutionMultipleResults", text: "Multiple results were found.", warning: true})
	} else {
		w.msgStart(op, nil)
	}
	w.raw("<m:ResolutionSet")
	w.attrInt("TotalItemsInView", total)
	w.attrBool("IncludesLastItemInRange", len(hits) == total)
	w.raw(">")
	for _, h := range hits {
		w.raw("<t:Resolution><t:Mailbox>")
		w.el("t:Name", h.name)
		w.el("t:EmailAddress", h.addr)
		w.el("t:RoutingType", "SMTP")
		kind, source := "Mailbox", "ActiveDirectory"
		if h.contact {
			kind, source = "Contact", "Store"
		}
		w.el("t:MailboxType", kind)
		w.raw("</t:Mailbox>")
		if r.ReturnFullContactData {
			w.raw("<t:Contact>")
			w.el("t:DisplayName", h.name)
			w.raw(`<t:EmailAddresses><t:Entry Key="EmailAddress1">SMTP:`)
			w.esc(h.addr)
			w.raw(`</t:Entry></t:EmailAddresses><t:ContactSource>`)
			w.raw(source)
			w.raw(`</t:ContactSource></t:Contact>`)
		}
		w.raw("</t:Resolution>")
	}
	w.raw("</m:ResolutionSet>")
	w.msgEnd(op)
}

// --- GetUserAvailability ---

type availabilityReq struct {
	TimeZone struct {
		Bias int `xml:"Bias"`
	} `xml:"TimeZone"`
	Mailboxes []struct {
		Address string `xml:"Email>Address"`
	} `xml:"MailboxDataArray>MailboxData"`
	Options struct {
		Start         string `xml:"TimeWindow>StartTime"`
		End           string `xml:"TimeWindow>EndTime"`
		RequestedView string `xml:"RequestedView"`
		Interval      int    `xml:"MergedFreeBusyIntervalInMinutes"`
	} `xml:"FreeBusyViewOptions"`

	start, end time.Time
	zone       *time.Location
}

// Limits Exchange enforces on GetUserAvailability.
const (
	maxAvailabilityMailboxes = 100
	maxAvailabilityWindow    = 42 * 24 * time.Hour
)

func (r *availabilityReq) validate() *ewsError {
	if len(r.Mailboxes) == 0 {
		return errSchema("MailboxDataArray must hold at least one MailboxData")
	}
	// Times without an offset are in the request's time zone (Bias is
	// minutes west of UTC; daylight rules are ignored).
	r.zone = time.FixedZone("request", -r.TimeZone.Bias*60)
	var err1, err2 error
	r.start, err1 = parseLocal(r.Options.Start, r.zone)
	r.end, err2 = parseLocal(r.Options.End, r.zone)
	if err1 != nil || err2 != nil {
		return errSchema("FreeBusyViewOptions TimeWindow needs StartTime and EndTime as xs:dateTime")
	}
	if r.Options.Interval == 0 {
		r.Options.Interval = 30
	}
	if r.Options.Interval < 5 || r.Options.Interval > 1440 {
		return errSchema("MergedFreeBusyIntervalInMinutes must be between 5 and 1440")
	}
	switch r.Options.RequestedView {
	case "", "None", "MergedOnly", "FreeBusy", "FreeBusyMerged", "Detailed", "DetailedMerged":
	default:
		return errSchema("RequestedView " + quote(r.Options.RequestedView) + " is not a FreeBusyViewType")
	}
	return nil
}

func parseLocal(s string, zone *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05.999999999", s, zone)
}

func (r *availabilityReq) run(c *call) {
	w := c.w
	w.raw(envelopeStart)
	w.raw(`<GetUserAvailabilityResponse xmlns="` + nsMessages + `">`)
	defer w.raw(`</GetUserAvailabilityResponse>` + envelopeEnd)

	window := r.end.Sub(r.start)
	var shared *ewsError
	switch {
	case len(r.Mailboxes) > maxAvailabilityMailboxes:
		shared = errTooManyMailboxes
	case window <= 0:
		shared = errEndBeforeStart
	case window > maxAvailabilityWindow:
		shared = errTimeInterval
	}
	detailed := strings.HasPrefix(r.Options.RequestedView, "Detailed")
	view := r.Options.RequestedView
	if view == "" || view == "None" || view == "MergedOnly" {
		view = "FreeBusy"
	}
	w.raw("<FreeBusyResponseArray>")
	for _, m := range r.Mailboxes {
		w.raw("<FreeBusyResponse>")
		e := shared
		var mb *mailbox
		if e == nil {
			var ok bool
			if mb, ok = c.s.mailbox(m.Address); !ok {
				e = errRecipientUnknown
			}
		}
		if e != nil {
			w.raw(`<ResponseMessage ResponseClass="Error">`)
			w.el("MessageText", e.text)
			w.el("ResponseCode", e.code)
			w.raw("<DescriptiveLinkKey>0</DescriptiveLinkKey></ResponseMessage></FreeBusyResponse>")
			continue
		}
		w.raw(`<ResponseMessage ResponseClass="Success"><ResponseCode>NoError</ResponseCode></ResponseMessage>`)
		w.raw(`<FreeBusyView><FreeBusyViewType xmlns="` + nsTypes + `">`)
		w.raw(view)
		w.raw(`</FreeBusyViewType>`)
		evs := r.busy(mb)
		if strings.HasSuffix(view, "Merged") {
			w.raw(`<MergedFreeBusy xmlns="` + nsTypes + `">`)
			w.raw(r.merged(evs))
			w.raw(`</MergedFreeBusy>`)
		}
		w.raw(`<CalendarEventArray xmlns="` + nsTypes + `">`)
		r.events(w, evs, detailed)
		w.raw("</CalendarEventArray>")
		if r.Options.RequestedView != "" && r.Options.RequestedView != "None" && r.Options.RequestedView != "MergedOnly" {
			w.workingHours(mb.workingHours(), r.start.Year())
		}
		w.raw("</FreeBusyView></FreeBusyResponse>")
	}
	w.raw("</FreeBusyResponseArray>")
}

// busyEvent is what availability shows of a calendar item or of one
// instance of a series.
type busyEvent struct {
	start, end         time.Time
	subject, location  string
	status             string // LegacyFreeBusyType
	meeting, recurring bool
	exception          bool
}

// busy returns mb's calendar items in the window, by start time: a series
// expanded into its occurrences and exceptions (deleted ones left out),
// as CalendarView expands it, each with its master's free/busy status.
func (r *availabilityReq) busy(mb *mailbox) []busyEvent {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	var evs []busyEvent
	for _, idx := range mb.distFolder("calendar").members {
		in := mb.items[idx]
		if in.Kind != KindCalendar {
			continue
		}
		ev := busyEvent{in.Start, in.End, in.Subject, in.Location, in.freeBusy(), len(in.Attendees) > 0, in.IsRecurring, false}
		if in.Recurrence == nil {
			if in.Start.Before(r.end) && in.End.After(r.start) {
				evs = append(evs, ev)
			}
			continue
		}
		for _, o := range in.instances(r.start, r.end) {
			e := ev
			e.start, e.end = o.start, o.end
			if x := o.exception; x != nil {
				e.subject, e.location, e.exception = x.Subject, x.Location, true
			}
			evs = append(evs, e)
		}
	}
	slices.SortStableFunc(evs, func(a, b busyEvent) int { return a.start.Compare(b.start) })
	return evs
}

// mergedDigits are MergedFreeBusy's digits per LegacyFreeBusyType, and
// mergedRank which of two overlapping statuses an interval shows (the
// busier: OOF over Busy over Tentative over WorkingElsewhere over Free).
var (
	mergedDigits = map[string]byte{"Free": '0', "Tentative": '1', "Busy": '2', "OOF": '3', "WorkingElsewhere": '4', "NoData": '5'}
	mergedRank   = map[byte]int{'0': 0, '5': 0, '4': 1, '1': 2, '2': 3, '3': 4}
)

// merged is MergedFreeBusy: one digit per interval of the window, the
// busiest status of the events overlapping it (0 when none).
func (r *availabilityReq) merged(evs []busyEvent) string {
	step := time.Duration(r.Options.Interval) * time.Minute
	var b strings.Builder
	for t := r.start; t.Before(r.end); t = t.Add(step) {
		digit := byte('0')
		for _, e := range evs {
			if d := mergedDigits[e.status]; e.start.Before(t.Add(step)) && e.end.After(t) && mergedRank[d] > mergedRank[digit] {
				digit = d
			}
		}
		b.WriteByte(digit)
	}
	return b.String()
}

func (r *availabilityReq) events(w *xw, evs []busyEvent, detailed bool) {
	for _, in := range evs {
		w.raw("<CalendarEvent>")
		w.el("StartTime", in.start.In(r.zone).Format("2006-01-02T15:04:05"))
		w.el("EndTime", in.end.In(r.zone).Format("2006-01-02T15:04:05"))
		w.el("BusyType", in.status)
		if detailed {
			w.raw("<CalendarEventDetails>")
			w.el("Subject", in.subject)
			w.el("Location", in.location)
			w.elBool("IsMeeting", in.meeting)
			w.elBool("IsRecurring", in.recurring)
			w.elBool("IsException", in.exception)
			w.elBool("IsReminderSet", false)
			w.elBool("IsPrivate", false)
			w.raw("</CalendarEventDetails>")
		}
		w.raw("</CalendarEvent>")
	}
}
