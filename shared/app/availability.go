package app

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// This file is the availability use case (POST /tenants/{id}/availability):
// free/busy of up to 500 mailboxes, people or rooms, over a window the
// tenant's protocol answers in one call (42 days EWS, 62 Graph), split into
// the protocol's batches (100 mailboxes a GetUserAvailability call, 20 a
// getSchedule call), run side by side within the tenant's budget, plus the
// free slots its groups allow (freeslots.go). Nothing is stored.

// Limits of an availability request.
const (
	MaxAvailabilityMailboxes = 500
	MaxAvailabilityGroups    = 20
	MinSlotMinutes           = 5
	MaxSlotMinutes           = 24 * 60
	// MaxFreeSlots bounds the slots of one answer (a 62-day window at 5
	// minutes has 17,856 candidates); SlotsTruncated says when it cut.
	MaxFreeSlots = 1000
	// MaxBusyIntervals bounds the busy intervals of one answer (about 90
	// bytes each), shared evenly by its mailboxes, and MaxSlotEntries the
	// addresses its slots list (about 25 bytes each), so an answer stays
	// well inside what a Lambda may return (6 MB): about 1.8 + 1.5 MB. The
	// slots are computed from every interval.
	MaxBusyIntervals = 20000
	MaxSlotEntries   = 60000
)

// AvailabilityInput is a request as the API decoded it.
type AvailabilityInput struct {
	Mailboxes      []string
	Start, End     time.Time
	MeetingMinutes int
	SlotMinutes    int
	WorkingHours   *WorkingHoursInput
	TimeZone       string // IANA; "" is UTC
	Groups         []GroupInput
}

// WorkingHoursInput is the working-hours part of a request.
type WorkingHoursInput struct {
	Start, End string   // "09:00", "17:00"; End may be "24:00"
	Days       []string // "monday".. "sunday"; none: Monday to Friday
}

// GroupInput is one group of a request.
type GroupInput struct {
	Kind      string // "all" or "any"
	Count     int    // "any": how many must be free (default 1)
	Mailboxes []string
}

// MailboxFailure says why one mailbox has no answer.
type MailboxFailure struct {
	Kind    domain.AccessErrorKind
	Code    string // the server's code, or what went wrong on the way
	Message string // fixed text per kind; never the server's words
}

// MailboxBusy is one mailbox's part of an answer.
type MailboxBusy struct {
	Mailbox       string
	Busy          []domain.BusyInterval // in the request's zone; nil when Failure
	BusyTruncated bool                  // more intervals than the answer's share (MaxBusyIntervals)
	Failure       *MailboxFailure
}

// AvailabilityResult is the answer.
type AvailabilityResult struct {
	TenantID       string
	Protocol       domain.Protocol
	Start, End     time.Time
	TimeZone       domain.TimeZone
	Batches        int // calls made to Exchange
	Mailboxes      []MailboxBusy
	Slots          []FreeSlot
	SlotsTruncated bool
}

// Availability answers availability requests.
type Availability struct {
	Store     domain.Store
	Secrets   domain.SecretStore
	Connector domain.AvailabilityConnector
	Clock     domain.Clock // audit times; nil: the system clock
	Log       *slog.Logger
	// Timeout bounds the calls to Exchange (API Gateway gives up after
	// 29 s); batches without an answer by then fail with code Timeout.
	// Default 20 s.
	Timeout time.Duration
}

// query is a validated request.
type availabilityQuery struct {
	mailboxes []string
	zone      domain.TimeZone
	slots     SlotQuery
}

// Years a window may lie in: Exchange keeps no calendar outside them.
const (
	MinAvailabilityYear = 1970
	MaxAvailabilityYear = 2200
)

var weekdays = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}

// validateAvailability checks everything that does not depend on the
// tenant (the window's upper bound is its protocol's: see Check).
func validateAvailability(in AvailabilityInput) (availabilityQuery, *domain.Error) {
	var q availabilityQuery
	if len(in.Mailboxes) == 0 {
		return q, domain.Invalid("mailboxes", "mailboxes must list 1 to %d addresses", MaxAvailabilityMailboxes)
	}
	if len(in.Mailboxes) > MaxAvailabilityMailboxes {
		return q, domain.Invalid("mailboxes", "at most %d mailboxes a request; this one has %d", MaxAvailabilityMailboxes, len(in.Mailboxes))
	}
	seen := map[string]bool{}
	for i, a := range in.Mailboxes {
		addr, err := NormalizeAddress(fmt.Sprintf("mailboxes[%d]", i), a)
		if err != nil {
			return q, err
		}
		if seen[addr] {
			return q, domain.Invalid(fmt.Sprintf("mailboxes[%d]", i), "mailbox %s is listed twice", addr)
		}
		seen[addr] = true
		q.mailboxes = append(q.mailboxes, addr)
	}
	switch {
	case in.Start.IsZero():
		return q, domain.Invalid("start", "start is required (RFC 3339 with an offset, like 2026-12-01T09:00:00+01:00)")
	case in.End.IsZero():
		return q, domain.Invalid("end", "end is required (RFC 3339 with an offset, like 2026-12-01T17:00:00+01:00)")
	case in.Start.Year() < MinAvailabilityYear || in.Start.Year() > MaxAvailabilityYear:
		return q, domain.Invalid("start", "start must lie between the years %d and %d", MinAvailabilityYear, MaxAvailabilityYear)
	case in.End.Year() < MinAvailabilityYear || in.End.Year() > MaxAvailabilityYear:
		return q, domain.Invalid("end", "end must lie between the years %d and %d", MinAvailabilityYear, MaxAvailabilityYear)
	case !in.End.After(in.Start):
		return q, domain.Invalid("end", "end must be after start")
	}
	if in.MeetingMinutes < MinSlotMinutes || in.MeetingMinutes > MaxSlotMinutes {
		return q, domain.Invalid("meetingMinutes", "meetingMinutes must be between %d and %d", MinSlotMinutes, MaxSlotMinutes)
	}
	if in.SlotMinutes == 0 {
		in.SlotMinutes = 30
	}
	if in.SlotMinutes < MinSlotMinutes || in.SlotMinutes > MaxSlotMinutes {
		return q, domain.Invalid("slotMinutes", "slotMinutes must be between %d and %d", MinSlotMinutes, MaxSlotMinutes)
	}
	if time.Duration(in.MeetingMinutes)*time.Minute > in.End.Sub(in.Start) {
		return q, domain.Invalid("meetingMinutes", "a meeting of %d minutes does not fit between start and end", in.MeetingMinutes)
	}
	zone := time.UTC
	q.zone = domain.TimeZone{IANA: "UTC", Windows: "UTC"}
	if in.TimeZone != "" {
		// An IANA zone or a Windows id (domain.ResolveTimeZone keeps
		// paths and odd names away from the zone database).
		z, ok := domain.ResolveTimeZone(in.TimeZone)
		if !ok {
			return q, domain.Invalid("timeZone", "timeZone must be an IANA time zone name, like Europe/Berlin, or a Windows time zone id, like W. Europe Standard Time")
		}
		loc, err := time.LoadLocation(z.IANA)
		if err != nil {
			return q, domain.Invalid("timeZone", "unknown time zone; use an IANA name, like Europe/Berlin")
		}
		zone, q.zone = loc, z
	}
	var hours *WorkingHours
	if in.WorkingHours != nil {
		h, err := validateWorkingHours(*in.WorkingHours)
		if err != nil {
			return q, err
		}
		hours = &h
	}
	groups, err := validateGroups(in.Groups, q.mailboxes, seen)
	if err != nil {
		return q, err
	}
	q.slots = SlotQuery{Start: in.Start, End: in.End, Meeting: time.Duration(in.MeetingMinutes) * time.Minute,
		Step: time.Duration(in.SlotMinutes) * time.Minute, Zone: zone, Hours: hours, Groups: groups, Max: MaxFreeSlots}
	return q, nil
}

func validateWorkingHours(in WorkingHoursInput) (WorkingHours, *domain.Error) {
	var h WorkingHours
	var ok bool
	if h.Start, ok = clockMinutes(in.Start); !ok || h.Start == 24*60 {
		return h, domain.Invalid("workingHours.start", "workingHours.start must be a time of day like 09:00")
	}
	if h.End, ok = clockMinutes(in.End); !ok {
		return h, domain.Invalid("workingHours.end", "workingHours.end must be a time of day like 17:00 (24:00 for midnight)")
	}
	if h.End <= h.Start {
		return h, domain.Invalid("workingHours.end", "workingHours.end must be after workingHours.start")
	}
	if len(in.Days) == 0 {
		for d := time.Monday; d <= time.Friday; d++ {
			h.Days[d] = true
		}
		return h, nil
	}
	if len(in.Days) > 7 {
		return h, domain.Invalid("workingHours.days", "workingHours.days lists each day at most once")
	}
	for i, d := range in.Days {
		wd, ok := weekdays[d]
		if !ok {
			return h, domain.Invalid(fmt.Sprintf("workingHours.days[%d]", i), "days are monday, tuesday, wednesday, thursday, friday, saturday or sunday")
		}
		if h.Days[wd] {
			return h, domain.Invalid(fmt.Sprintf("workingHours.days[%d]", i), "%s is listed twice", d)
		}
		h.Days[wd] = true
	}
	return h, nil
}

// clockMinutes parses "HH:MM" (00:00 to 24:00).
func clockMinutes(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// validateGroups checks the groups against the request's mailboxes;
// without groups every mailbox must be free.
func validateGroups(in []GroupInput, mailboxes []string, listed map[string]bool) ([]SlotGroup, *domain.Error) {
	if len(in) == 0 {
		return []SlotGroup{{Kind: SlotGroupAll, Mailboxes: mailboxes}}, nil
	}
	if len(in) > MaxAvailabilityGroups {
		return nil, domain.Invalid("groups", "at most %d groups", MaxAvailabilityGroups)
	}
	out := make([]SlotGroup, len(in))
	for gi, g := range in {
		field := fmt.Sprintf("groups[%d]", gi)
		if len(g.Mailboxes) == 0 {
			return nil, domain.Invalid(field+".mailboxes", "a group lists at least one mailbox")
		}
		inGroup := map[string]bool{}
		for i, a := range g.Mailboxes {
			f := fmt.Sprintf("%s.mailboxes[%d]", field, i)
			addr, err := NormalizeAddress(f, a)
			if err != nil {
				return nil, err
			}
			if !listed[addr] {
				return nil, domain.Invalid(f, "%s is not in mailboxes; a group may only name mailboxes the request lists", addr)
			}
			if inGroup[addr] {
				return nil, domain.Invalid(f, "%s is listed twice in the group", addr)
			}
			inGroup[addr] = true
			out[gi].Mailboxes = append(out[gi].Mailboxes, addr)
		}
		switch SlotGroupKind(g.Kind) {
		case SlotGroupAll:
			if g.Count != 0 && g.Count != len(g.Mailboxes) {
				return nil, domain.Invalid(field+".count", "an \"all\" group takes no count (every member must be free); use kind \"any\" for some of them")
			}
			out[gi].Kind = SlotGroupAll
		case SlotGroupAny:
			if g.Count == 0 {
				g.Count = 1
			}
			if g.Count < 1 || g.Count > len(g.Mailboxes) {
				return nil, domain.Invalid(field+".count", "count must be between 1 and the group's %d mailboxes", len(g.Mailboxes))
			}
			out[gi].Kind, out[gi].Count = SlotGroupAny, g.Count
		default:
			return nil, domain.Invalid(field+".kind", "kind must be \"all\" or \"any\"")
		}
	}
	return out, nil
}

// Check answers an availability request for tenant tenantID.
func (a *Availability) Check(ctx context.Context, tenantID string, in AvailabilityInput) (AvailabilityResult, error) {
	if err := ValidateTenantID(tenantID); err != nil {
		return AvailabilityResult{}, err
	}
	q, verr := validateAvailability(in)
	if verr != nil {
		return AvailabilityResult{}, verr
	}
	t, err := (&Tenants{Store: a.Store}).active(ctx, tenantID)
	if err != nil {
		return AvailabilityResult{}, err
	}
	cred, err := a.Secrets.GetCredential(ctx, tenantID)
	if err != nil {
		if domain.IsNotFound(err) {
			return AvailabilityResult{}, domain.Conflict("tenant %q has no stored credentials; PUT /tenants/%s/credentials first", tenantID, tenantID)
		}
		return AvailabilityResult{}, internal(err, "reading the credentials")
	}
	actAs, err := firstMailbox(ctx, a.Store, tenantID)
	if err != nil {
		return AvailabilityResult{}, err
	}
	r, err := a.Connector.ConnectAvailability(ctx, t, cred, actAs)
	if err != nil {
		return AvailabilityResult{}, a.connectError(ctx, t, cred, err)
	}
	lim := r.Limits()
	if span := q.slots.End.Sub(q.slots.Start); span > lim.MaxWindow {
		return AvailabilityResult{}, domain.Invalid("end", "the window from start to end is %s; this tenant's protocol (%s) answers at most %d days a request",
			roundSpan(span), t.ProtocolOf(), int(lim.MaxWindow/(24*time.Hour)))
	}
	answers, batches := a.readAll(ctx, t, r, q, lim.MaxMailboxes)
	failed := 0
	for _, ans := range answers {
		if ans.Err != nil {
			failed++
		}
	}
	// One entry a request (not one a mailbox: a request names up to 500):
	// who asked, how much, and how it went.
	auditRead(ctx, a.Store, a.Clock, a.logger(ctx), domain.AuditEntry{TenantID: tenantID, Mailbox: actAs, AccessMode: t.AccessMode,
		Operation: fmt.Sprintf("availability.read (%d mailboxes, %s) by %s", len(q.mailboxes), spanText(q.slots.End.Sub(q.slots.Start)), callerName(Caller(ctx))),
		Result:    fmt.Sprintf("answered %d, failed %d, %d calls", len(answers)-failed, failed, batches)})

	res := AvailabilityResult{TenantID: tenantID, Protocol: t.ProtocolOf(), Start: q.slots.Start.In(q.slots.Zone), End: q.slots.End.In(q.slots.Zone),
		TimeZone: q.zone, Batches: batches}
	busy := map[string][]domain.BusyInterval{}
	share := max(1, MaxBusyIntervals/len(q.mailboxes))
	for _, ans := range answers {
		mb := MailboxBusy{Mailbox: ans.Mailbox}
		if ans.Err != nil {
			mb.Failure = failureOf(ans.Err)
			a.logger(ctx).Warn("availability: mailbox failed", "tenantId", tenantID, "mailbox", ans.Mailbox,
				"error", redact.ForCredential(cred).Clean(ans.Err.Error(), redact.MaxDetail))
			res.Mailboxes = append(res.Mailboxes, mb)
			continue
		}
		in := clipToWindow(ans.Busy, q.slots.Start, q.slots.End)
		busy[ans.Mailbox] = in
		mb.Busy = make([]domain.BusyInterval, 0, min(len(in), share))
		for i, b := range in {
			if i == share {
				mb.BusyTruncated = true
				break
			}
			mb.Busy = append(mb.Busy, domain.BusyInterval{Start: b.Start.In(q.slots.Zone), End: b.End.In(q.slots.Zone), Status: b.Status})
		}
		res.Mailboxes = append(res.Mailboxes, mb)
	}
	res.Slots, res.SlotsTruncated = FreeSlots(q.slots, busy)
	entries := 0
	for i, s := range res.Slots {
		for _, f := range s.Free {
			entries += len(f)
		}
		if entries > MaxSlotEntries {
			res.Slots, res.SlotsTruncated = res.Slots[:i], true
			break
		}
	}
	return res, nil
}

// spanText is a window's length for the audit trail.
func spanText(d time.Duration) string {
	if d < 24*time.Hour {
		return d.String()
	}
	return roundSpan(d)
}

func roundSpan(d time.Duration) string {
	days := d / (24 * time.Hour)
	if rest := d - days*24*time.Hour; rest > 0 {
		return fmt.Sprintf("%d days and %s", days, rest)
	}
	return fmt.Sprintf("%d days", days)
}

// clipToWindow keeps the intervals that overlap [start, end), in time order.
func clipToWindow(in []domain.BusyInterval, start, end time.Time) []domain.BusyInterval {
	out := make([]domain.BusyInterval, 0, len(in))
	for _, b := range in {
		if b.End.After(start) && b.Start.Before(end) {
			out = append(out, b)
		}
	}
	sortBusy(out)
	return out
}

func sortBusy(b []domain.BusyInterval) {
	slices.SortStableFunc(b, func(x, y domain.BusyInterval) int { return x.Start.Compare(y.Start) })
}

// availabilityBudget is how many calls of one request run at once: the
// tenant's concurrency setting, as its syncs use it (DelegateSlots: the
// tenant's MaxConcurrentJobs, at most EWSMaxConcurrency). Free/busy calls
// of a delegate tenant draw on the service account's budget like its
// syncs; Graph's cap is per mailbox asked through, and each batch asks
// through its own first mailbox.
func availabilityBudget(t domain.Tenant) int { return DelegateSlots(t) }

// readAll asks for every mailbox in batches of size, at most the tenant's
// budget at once; the answers are in request order.
func (a *Availability) readAll(ctx context.Context, t domain.Tenant, r domain.AvailabilityReader, q availabilityQuery, size int) ([]domain.MailboxAvailability, int) {
	if size <= 0 {
		size = 1
	}
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := make([]domain.MailboxAvailability, len(q.mailboxes))
	sem := make(chan struct{}, availabilityBudget(t))
	var wg sync.WaitGroup
	batches := 0
	for lo := 0; lo < len(q.mailboxes); lo += size {
		hi := min(lo+size, len(q.mailboxes))
		batch := q.mailboxes[lo:hi]
		batches++
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				fill(out[lo:hi], batch, &domain.AccessError{Kind: domain.AccessTransient, Code: "Timeout", Err: ctx.Err()})
				return
			}
			defer func() { <-sem }()
			res, err := a.readBatch(ctx, t, r, batch, q)
			if err != nil {
				if ctx.Err() != nil {
					err = &domain.AccessError{Kind: domain.AccessTransient, Code: "Timeout", Err: err}
				}
				fill(out[lo:hi], batch, domain.AccessErrorOf(err))
				return
			}
			for i := range batch {
				if i < len(res) && res[i].Mailbox == batch[i] {
					out[lo+i] = res[i]
				} else {
					out[lo+i].Err = &domain.AccessError{Kind: domain.AccessTransient, Code: "NoAnswer"}
				}
			}
		}()
	}
	wg.Wait()
	return out, batches
}

// readBatch makes one call; a panic in an adapter fails the batch, not
// the process.
func (a *Availability) readBatch(ctx context.Context, t domain.Tenant, r domain.AvailabilityReader, batch []string, q availabilityQuery) (res []domain.MailboxAvailability, err error) {
	defer func() {
		if p := recover(); p != nil {
			a.logger(ctx).Error("availability: adapter panicked", "tenantId", t.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res, err = nil, &domain.AccessError{Kind: domain.AccessTransient, Code: "Internal"}
		}
	}()
	return r.Availability(ctx, batch, q.slots.Start, q.slots.End)
}

func fill(out []domain.MailboxAvailability, batch []string, err *domain.AccessError) {
	for i, m := range batch {
		out[i] = domain.MailboxAvailability{Mailbox: m, Err: err}
	}
}

// failureMessages say, per kind, why a mailbox has no answer; the server's
// own words stay in the log (they may name hosts).
var failureMessages = map[domain.AccessErrorKind]string{
	domain.AccessThrottled:       "Exchange throttled the request; ask again later",
	domain.AccessAuth:            "Exchange refused the tenant's credentials",
	domain.AccessOutOfScope:      "the tenant's account or app may not act for this mailbox (impersonation or RBAC scope)",
	domain.AccessDenied:          "the tenant's account or app may not read this mailbox's free/busy",
	domain.AccessMailboxNotFound: "no such mailbox",
	domain.AccessTransient:       "Exchange did not answer for this mailbox; ask again",
	domain.AccessPermanent:       "Exchange refused the request for this mailbox",
}

func failureOf(e *domain.AccessError) *MailboxFailure {
	kind := e.Kind
	msg, ok := failureMessages[kind]
	if !ok {
		kind, msg = domain.AccessPermanent, failureMessages[domain.AccessPermanent]
	}
	if e.Code == "Timeout" {
		msg = "no answer from Exchange within the request's time limit; ask again, or for fewer mailboxes"
	}
	return &MailboxFailure{Kind: kind, Code: e.Code, Message: msg}
}

// connectError is the answer when no reader could be built for the tenant.
func (a *Availability) connectError(ctx context.Context, t domain.Tenant, cred domain.Credential, err error) error {
	ae := domain.AccessErrorOf(err)
	if ae.Code == CodeEWSRetired {
		return &domain.Error{Code: domain.CodeConflict, Message: ae.Err.Error(), Err: err}
	}
	a.logger(ctx).Warn("availability: connecting failed", "tenantId", t.ID, "error", redact.ForCredential(cred).Clean(err.Error(), redact.MaxDetail))
	return &domain.Error{Code: domain.CodeUpstream, Err: err,
		Message: "no connection to the tenant's Exchange could be set up (" + string(ae.Kind) + strings.TrimSuffix(" "+ae.Code, " ") + "); POST /tenants/" + t.ID + "/verify says more"}
}

func (a *Availability) logger(ctx context.Context) *slog.Logger { return requestLogger(ctx, a.Log) }
