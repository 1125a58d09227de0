package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// The recurrence conformance suite (issue 13's must-show): each case
// creates a recurring series in the EWS simulator through the client
// (CreateItem with a Recurrence), edits and deletes some of its
// occurrences (UpdateItem and DeleteItem on occurrence ids), syncs the
// mailbox into the feed, and expands the series three ways over a window:
//
//   - the feed item's RRULE, expanded by teambition/rrule-go from the
//     item's start in its time zone, with its modified and deleted
//     occurrences applied (what a consumer does);
//   - GET /tenants/{id}/mailboxes/{address}/calendar;
//   - the simulator's own CalendarView (FindItem), read by the client.
//
// All three must list identical instances: start, end and subject. The
// mailbox's zone is taken to be Europe/Berlin (the windows are Berlin
// days); the cases in other zones are series whose zone differs from it.

type recMod struct {
	n       int           // the n'th instance (0-based) of the window's first view
	shift   time.Duration // moved by
	subject string        // retitled ("" keeps the subject)
}

type recCase struct {
	name     string
	zone     string // Windows id
	start    string // first occurrence, local: 2006-01-02T15:04
	minutes  int    // duration; all-day series: days × 1440
	allDay   bool
	rec      ews.Recurrence // StartDate is the start's date when empty
	mods     []recMod
	dels     []int  // instances (0-based) of the window's first view to delete
	from, to string // window, RFC 3339
}

const (
	berlin  = "W. Europe Standard Time"
	newYork = "Eastern Standard Time"
	sydney  = "AUS Eastern Standard Time"
	tokyo   = "Tokyo Standard Time"
	india   = "India Standard Time"
	utcTZ   = "UTC"
)

func daily(iv int) ews.Recurrence { return ews.Recurrence{Pattern: ews.DailyRecurrence, Interval: iv} }
func weekly(iv int, days ...string) ews.Recurrence {
	return ews.Recurrence{Pattern: ews.WeeklyRecurrence, Interval: iv, DaysOfWeek: days}
}
func absMonthly(iv, day int) ews.Recurrence {
	return ews.Recurrence{Pattern: ews.AbsoluteMonthlyRecurrence, Interval: iv, DayOfMonth: day}
}
func relMonthly(iv int, index, day string) ews.Recurrence {
	return ews.Recurrence{Pattern: ews.RelativeMonthlyRecurrence, Interval: iv, DayOfWeekIndex: index, DaysOfWeek: []string{day}}
}
func absYearly(month string, day int) ews.Recurrence {
	return ews.Recurrence{Pattern: ews.AbsoluteYearlyRecurrence, Month: month, DayOfMonth: day}
}
func relYearly(month, index, day string) ews.Recurrence {
	return ews.Recurrence{Pattern: ews.RelativeYearlyRecurrence, Month: month, DayOfWeekIndex: index, DaysOfWeek: []string{day}}
}
func noEnd(r ews.Recurrence) ews.Recurrence { r.Range = ews.NoEndRecurrence; return r }
func count(r ews.Recurrence, n int) ews.Recurrence {
	r.Range, r.NumberOfOccurrences = ews.NumberedRecurrence, n
	return r
}
func until(r ews.Recurrence, d string) ews.Recurrence {
	r.Range, r.EndDate = ews.EndDateRecurrence, d
	return r
}
func withWkst(r ews.Recurrence, d string) ews.Recurrence { r.FirstDayOfWeek = d; return r }

var recCases = []recCase{
	// Every pattern kind, every range kind.
	{name: "daily no end", zone: berlin, start: "2026-03-02T09:00", minutes: 30, rec: noEnd(daily(1)), from: "2026-03-20T00:00:00+01:00", to: "2026-04-05T00:00:00+02:00"},
	{name: "daily every 3 days, 10 times", zone: newYork, start: "2026-02-20T08:00", minutes: 45, rec: count(daily(3), 10), from: "2026-02-15T00:00:00Z", to: "2026-04-15T00:00:00Z"},
	{name: "daily until a date", zone: sydney, start: "2026-03-28T10:00", minutes: 60, rec: until(daily(1), "2026-04-10"), from: "2026-03-20T00:00:00Z", to: "2026-04-20T00:00:00Z"},
	{name: "weekly Mon Wed Fri across Berlin DST", zone: berlin, start: "2026-03-16T09:30", minutes: 30, rec: noEnd(weekly(1, "Monday", "Wednesday", "Friday")), from: "2026-03-16T00:00:00+01:00", to: "2026-04-10T00:00:00+02:00"},
	{name: "weekly every 2nd Tuesday 8 times across New York DST end", zone: newYork, start: "2026-09-15T14:00", minutes: 60, rec: count(weekly(2, "Tuesday"), 8), from: "2026-09-01T00:00:00Z", to: "2026-10-31T00:00:00Z"},
	{name: "weekly weekends until a date across Sydney DST end", zone: sydney, start: "2026-03-21T11:00", minutes: 90, rec: until(weekly(1, "Saturday", "Sunday"), "2026-04-19"), from: "2026-03-15T00:00:00Z", to: "2026-04-30T00:00:00Z"},
	{name: "weekly every 2 weeks Sun Mon, week starts Monday", zone: berlin, start: "2026-05-03T10:00", minutes: 60, rec: count(withWkst(weekly(2, "Sunday", "Monday"), "Monday"), 8), from: "2026-05-01T00:00:00Z", to: "2026-06-30T00:00:00Z"},
	{name: "absolute monthly on the 15th", zone: berlin, start: "2026-01-15T13:00", minutes: 60, rec: noEnd(absMonthly(1, 15)), from: "2026-02-01T00:00:00Z", to: "2026-04-01T00:00:00Z"},
	{name: "absolute monthly on the 31st (last day of shorter months)", zone: newYork, start: "2026-01-31T09:00", minutes: 30, rec: count(absMonthly(1, 31), 12), from: "2026-02-01T00:00:00Z", to: "2026-04-01T00:00:00Z"},
	{name: "absolute monthly on the 30th every 2 months until a date", zone: tokyo, start: "2026-02-28T18:00", minutes: 30, rec: until(absMonthly(2, 30), "2026-12-31"), from: "2026-04-01T00:00:00Z", to: "2026-06-01T00:00:00Z"},
	{name: "absolute monthly on the 29th through February", zone: utcTZ, start: "2026-01-29T12:00", minutes: 15, rec: noEnd(absMonthly(1, 29)), from: "2026-01-20T00:00:00Z", to: "2026-03-20T00:00:00Z"},
	{name: "relative monthly second Tuesday", zone: berlin, start: "2026-01-13T10:00", minutes: 60, rec: noEnd(relMonthly(1, "Second", "Tuesday")), from: "2026-02-01T00:00:00Z", to: "2026-04-01T00:00:00Z"},
	{name: "relative monthly last Friday 6 times", zone: newYork, start: "2026-01-30T16:00", minutes: 60, rec: count(relMonthly(1, "Last", "Friday"), 6), from: "2026-02-01T00:00:00Z", to: "2026-04-01T00:00:00Z"},
	{name: "relative monthly first weekday until a date", zone: sydney, start: "2026-02-02T09:00", minutes: 30, rec: until(relMonthly(1, "First", "Weekday"), "2026-06-30"), from: "2026-02-25T00:00:00Z", to: "2026-04-25T00:00:00Z"},
	{name: "relative monthly last weekend day every 2 months", zone: utcTZ, start: "2026-01-31T10:00", minutes: 120, rec: noEnd(relMonthly(2, "Last", "WeekendDay")), from: "2026-02-01T00:00:00Z", to: "2026-04-01T00:00:00Z"},
	{name: "relative monthly third day", zone: india, start: "2026-01-03T11:00", minutes: 30, rec: noEnd(relMonthly(1, "Third", "Day")), from: "2026-02-01T00:00:00Z", to: "2026-04-01T00:00:00Z"},
	{name: "absolute yearly on a DST change day", zone: newYork, start: "2025-03-08T10:00", minutes: 60, rec: noEnd(absYearly("March", 8)), from: "2026-02-15T00:00:00Z", to: "2026-04-15T00:00:00Z"},
	{name: "absolute yearly on 29 February", zone: berlin, start: "2024-02-29T09:00", minutes: 60, rec: count(absYearly("February", 29), 5), from: "2026-02-01T00:00:00Z", to: "2026-04-01T00:00:00Z"},
	{name: "absolute yearly until a date", zone: sydney, start: "2024-10-05T19:00", minutes: 120, rec: until(absYearly("October", 5), "2027-01-01"), from: "2026-09-15T00:00:00Z", to: "2026-11-15T00:00:00Z"},
	{name: "relative yearly last Sunday of March (Berlin DST day)", zone: berlin, start: "2025-03-30T10:00", minutes: 60, rec: noEnd(relYearly("March", "Last", "Sunday")), from: "2026-03-01T00:00:00Z", to: "2026-04-30T00:00:00Z"},
	{name: "relative yearly first Monday of September 4 times", zone: newYork, start: "2025-09-01T09:00", minutes: 60, rec: count(relYearly("September", "First", "Monday"), 4), from: "2026-08-15T00:00:00Z", to: "2026-10-15T00:00:00Z"},
	{name: "relative yearly fourth Thursday of November until a date", zone: utcTZ, start: "2024-11-28T15:00", minutes: 180, rec: until(relYearly("November", "Fourth", "Thursday"), "2030-01-01"), from: "2026-11-01T00:00:00Z", to: "2026-12-15T00:00:00Z"},
	// Modified and deleted occurrences.
	{name: "weekly with a deleted occurrence", zone: berlin, start: "2026-03-02T09:00", minutes: 60, rec: noEnd(weekly(1, "Monday")), dels: []int{2}, from: "2026-03-01T00:00:00Z", to: "2026-04-15T00:00:00Z"},
	{name: "weekly with a retitled occurrence", zone: newYork, start: "2026-03-03T09:00", minutes: 60, rec: noEnd(weekly(1, "Tuesday")), mods: []recMod{{n: 1, subject: "Retitled"}}, from: "2026-03-01T00:00:00Z", to: "2026-04-15T00:00:00Z"},
	{name: "daily with an occurrence moved to the next day", zone: berlin, start: "2026-03-09T09:00", minutes: 30, rec: count(daily(1), 10), mods: []recMod{{n: 3, shift: 24 * time.Hour, subject: "Moved a day"}}, from: "2026-03-08T00:00:00Z", to: "2026-03-25T00:00:00Z"},
	{name: "occurrence moved across the Berlin DST change", zone: berlin, start: "2026-03-23T09:00", minutes: 60, rec: noEnd(weekly(1, "Monday", "Friday")), mods: []recMod{{n: 1, shift: 3 * 24 * time.Hour, subject: "After DST"}}, from: "2026-03-22T00:00:00Z", to: "2026-04-10T00:00:00Z"},
	{name: "occurrence moved across the New York DST change", zone: newYork, start: "2026-03-02T10:00", minutes: 60, rec: noEnd(daily(1)), mods: []recMod{{n: 5, shift: 2*24*time.Hour + time.Hour, subject: "After DST"}}, dels: []int{8}, from: "2026-03-02T00:00:00Z", to: "2026-03-15T00:00:00Z"},
	{name: "occurrence moved across the Sydney DST change", zone: sydney, start: "2026-03-30T08:00", minutes: 60, rec: count(daily(1), 12), mods: []recMod{{n: 4, shift: 2 * 24 * time.Hour, subject: "After DST"}}, from: "2026-03-28T00:00:00Z", to: "2026-04-15T00:00:00Z"},
	{name: "weekly with one moved earlier and two deleted", zone: berlin, start: "2026-04-06T15:00", minutes: 60, rec: noEnd(weekly(1, "Monday", "Thursday")), mods: []recMod{{n: 2, shift: -time.Hour, subject: "Earlier"}}, dels: []int{0, 4}, from: "2026-04-01T00:00:00Z", to: "2026-05-01T00:00:00Z"},
	{name: "monthly occurrence moved into the next month, another deleted", zone: newYork, start: "2026-01-30T10:00", minutes: 60, rec: noEnd(absMonthly(1, 30)), mods: []recMod{{n: 0, shift: 5 * 24 * time.Hour, subject: "Into March"}}, dels: []int{1}, from: "2026-02-01T00:00:00Z", to: "2026-04-01T00:00:00Z"},
	{name: "occurrence moved out of the window", zone: utcTZ, start: "2026-06-01T09:00", minutes: 60, rec: count(weekly(1, "Monday"), 6), mods: []recMod{{n: 3, shift: 30 * 24 * time.Hour, subject: "Far away"}}, from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z"},
	{name: "occurrence moved to the day before, across midnight UTC", zone: sydney, start: "2026-06-01T07:00", minutes: 60, rec: count(daily(1), 7), mods: []recMod{{n: 2, shift: -12 * time.Hour, subject: "Evening before"}}, from: "2026-05-30T00:00:00Z", to: "2026-06-10T00:00:00Z"},
	// All-day series.
	{name: "all-day daily across Berlin DST", zone: berlin, start: "2026-03-26T00:00", minutes: 1440, allDay: true, rec: count(daily(1), 5), from: "2026-03-25T00:00:00Z", to: "2026-04-05T00:00:00Z"},
	{name: "all-day weekly across New York DST", zone: newYork, start: "2026-10-26T00:00", minutes: 1440, allDay: true, rec: noEnd(weekly(1, "Monday")), from: "2026-10-20T00:00:00Z", to: "2026-11-25T00:00:00Z"},
	{name: "all-day yearly birthday", zone: sydney, start: "2020-04-05T00:00", minutes: 1440, allDay: true, rec: noEnd(absYearly("April", 5)), from: "2026-03-20T00:00:00Z", to: "2026-04-20T00:00:00Z"},
	{name: "all-day two-day monthly with a deleted one", zone: berlin, start: "2026-01-09T00:00", minutes: 2880, allDay: true, rec: noEnd(relMonthly(1, "Second", "Friday")), dels: []int{1}, from: "2026-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z"},
	// Series in a zone other than the mailbox's (Berlin).
	{name: "Sydney series across both DST changes", zone: sydney, start: "2026-03-17T08:00", minutes: 60, rec: noEnd(weekly(1, "Tuesday", "Thursday")), from: "2026-03-15T00:00:00+01:00", to: "2026-04-15T00:00:00+02:00"},
	{name: "Tokyo series across the Berlin DST change", zone: tokyo, start: "2026-03-20T17:00", minutes: 60, rec: count(daily(1), 14), from: "2026-03-20T00:00:00+01:00", to: "2026-04-05T00:00:00+02:00"},
	{name: "India series weekly", zone: india, start: "2026-03-05T15:30", minutes: 45, rec: noEnd(weekly(1, "Thursday")), mods: []recMod{{n: 1, shift: 30 * time.Minute, subject: "Half past"}}, from: "2026-03-01T00:00:00Z", to: "2026-04-15T00:00:00Z"},
	{name: "New York series while US and EU DST differ", zone: newYork, start: "2026-03-02T11:00", minutes: 60, rec: noEnd(weekly(1, "Monday", "Wednesday")), from: "2026-03-01T00:00:00+01:00", to: "2026-04-05T00:00:00+02:00"},
	// Edges.
	{name: "daily every 2 days with the first deleted", zone: berlin, start: "2026-05-01T09:00", minutes: 30, rec: count(daily(2), 6), dels: []int{0}, from: "2026-04-30T00:00:00Z", to: "2026-05-20T00:00:00Z"},
	{name: "weekly on all seven days 20 times", zone: utcTZ, start: "2026-07-01T06:00", minutes: 30, rec: count(weekly(1, "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"), 20), from: "2026-06-30T00:00:00Z", to: "2026-07-31T00:00:00Z"},
	{name: "late evening in Sydney is the previous UTC day", zone: sydney, start: "2026-08-03T23:30", minutes: 60, rec: count(weekly(1, "Monday"), 5), from: "2026-08-01T00:00:00Z", to: "2026-09-15T00:00:00Z"},
	{name: "until date includes its late occurrence (UNTIL in UTC)", zone: newYork, start: "2026-08-10T23:00", minutes: 30, rec: until(daily(1), "2026-08-14"), from: "2026-08-09T00:00:00Z", to: "2026-08-20T00:00:00Z"},
	{name: "until date in Sydney, ahead of UTC", zone: sydney, start: "2026-08-10T06:00", minutes: 30, rec: until(daily(1), "2026-08-14"), from: "2026-08-09T00:00:00Z", to: "2026-08-20T00:00:00Z"},
}

// inst is one instance as the comparison sees it.
type inst struct {
	Start, End time.Time
	Subject    string
}

func (i inst) String() string {
	return i.Start.UTC().Format(time.RFC3339) + "/" + i.End.UTC().Format(time.RFC3339) + " " + i.Subject
}

func TestRecurrenceConformance(t *testing.T) {
	const mailbox = "ann@contoso.com"
	const user, pass = "svc-rec", "rec-pass-1"
	clock := storetest.NewClock(storetest.Start)
	sim := ewssim.New(ewssim.Options{Seed: 13, MaxConcurrency: -1})
	if err := sim.AddMailbox(mailbox, "Ann"); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddAccount(ewssim.Account{Username: user, Password: pass, ImpersonationScope: []string{mailbox}}); err != nil {
		t.Fatal(err)
	}
	const entra, appID, appSecret = "contoso-tenant", "11111111-2222-3333-4444-555555555555", "graph-secret-value"
	if err := sim.AddAccount(ewssim.Account{Tenant: entra, ClientID: appID, ClientSecret: appSecret, ImpersonationScope: []string{mailbox}}); err != nil {
		t.Fatal(err)
	}
	// EWS and Graph on one host, over the one store.
	srv, err := graphsim.New(sim, graphsim.Options{Seed: 13}).Start(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	policy := urlguard.Policy{DevLoopback: true}
	tr := policy.Transport()
	tr.TLSClientConfig = &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}
	opts := ewsmailbox.Options{URLGuard: &policy, HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	protocols := app.Protocols{EWS: app.ProtocolAdapters{CalendarView: ewsmailbox.NewCalendarViewConnector(opts)}}
	e := newEnvOn(t, openStore(t, boltstore.Options{Clock: clock}), openSecrets(t), func(d *Deps) {
		d.Clock = clock
		d.URLPolicy = policy
		d.CalendarView = protocols
	})
	syncer := &app.Syncer{Store: e.store, Secrets: e.secrets, Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Connector: ewsmailbox.NewConnector(opts)}
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("acme", srv.EWSURL, basicCred(user, pass), "")}, 201)
	e.addMailboxes("acme", mailbox)
	cl, err := ews.New(ews.Config{URL: srv.EWSURL, Auth: ews.BasicAuth(user, pass), RootCAs: srv.CertPool(), URLGuard: &policy})
	if err != nil {
		t.Fatal(err)
	}
	target := ews.Target{Mailbox: mailbox, Mode: ews.ModeImpersonation}
	ctx := context.Background()
	graphViewer, err := graphmailbox.NewConnector(graphmailbox.Options{URLGuard: &policy, RootCAs: srv.CertPool()}).ConnectCalendarView(ctx,
		domain.Tenant{ID: "g1", Protocol: domain.ProtocolGraph, IDFormat: domain.IDFormatGraph, GraphURL: srv.GraphURL, AuthKind: domain.AuthOAuthSecret, AccessMode: domain.AccessApplication},
		domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: entra, ClientID: appID, ClientSecret: appSecret, Authority: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	sync := func(t *testing.T) {
		t.Helper()
		if _, err := syncer.SyncMailbox(ctx, domain.SyncJob{TenantID: "acme", Mailbox: mailbox, Tick: clock.Now().Truncate(time.Minute)}); err != nil {
			t.Fatalf("sync: %v", err)
		}
		clock.Advance(time.Minute)
	}
	simView := func(t *testing.T, from, to time.Time) []ews.Item {
		t.Helper()
		r, err := cl.CalendarView(ctx, target, ews.FolderRef{Distinguished: "calendar"}, from, to, 1000, ews.ShapeCalendarViewFor(""))
		if err != nil {
			t.Fatalf("CalendarView: %v", err)
		}
		return r.Items
	}

	identical, occurrences := 0, 0
	for _, c := range recCases {
		ok := t.Run(c.name, func(t *testing.T) {
			z, _ := domain.ResolveTimeZone(c.zone)
			loc, err := time.LoadLocation(z.IANA)
			if err != nil {
				t.Fatal(err)
			}
			start, err := time.ParseInLocation("2006-01-02T15:04", c.start, loc)
			if err != nil {
				t.Fatal(err)
			}
			end := start.Add(time.Duration(c.minutes) * time.Minute)
			if c.allDay {
				end = time.Date(start.Year(), start.Month(), start.Day()+c.minutes/1440, 0, 0, 0, 0, loc)
			}
			from, _ := time.Parse(time.RFC3339, c.from)
			to, _ := time.Parse(time.RFC3339, c.to)
			rec := c.rec
			if rec.StartDate == "" {
				rec.StartDate = start.Format(time.DateOnly)
			}
			subject := "Series: " + c.name
			ref, err := cl.CreateItem(ctx, target, ews.FolderRef{Distinguished: "calendar"},
				ews.CalendarEvent{Subject: subject, Start: start, End: end, TimeZone: c.zone, IsAllDay: c.allDay, Recurrence: &rec}, "")
			if err != nil {
				t.Fatalf("CreateItem: %v", err)
			}
			defer func() {
				if err := cl.DeleteItem(ctx, target, ref, ews.HardDelete, ""); err != nil {
					t.Errorf("deleting the series: %v", err)
				}
				sync(t)
			}()
			// Edit and delete occurrences named by the first view.
			first := simView(t, from, to)
			for _, n := range append(slices.Clone(c.dels), func() (ns []int) {
				for _, m := range c.mods {
					ns = append(ns, m.n)
				}
				return ns
			}()...) {
				if n >= len(first) {
					t.Fatalf("the window's first view has %d instances, the case edits instance %d", len(first), n)
				}
			}
			for _, m := range c.mods {
				o := first[m.n]
				s, en := o.Start.Add(m.shift), o.End.Add(m.shift)
				upd := ews.CalendarUpdate{Start: &s, End: &en}
				if m.subject != "" {
					upd.Subject = &m.subject
				}
				if _, err := cl.UpdateItem(ctx, target, ews.ItemRef{ID: o.ItemID}, upd, "", ""); err != nil {
					t.Fatalf("UpdateItem on occurrence %d: %v", m.n, err)
				}
			}
			for _, n := range c.dels {
				if err := cl.DeleteItem(ctx, target, ews.ItemRef{ID: first[n].ItemID}, ews.HardDelete, ""); err != nil {
					t.Fatalf("DeleteItem on occurrence %d: %v", n, err)
				}
			}
			sync(t)

			// 1. The feed's RRULE, expanded by rrule-go.
			master := feedItem(t, e, mailbox, ref.ID)
			if master.CalendarItemType != domain.CalendarSeriesMaster || master.Recurrence == nil || master.Recurrence.RRule == "" {
				t.Fatalf("feed item is no series with an RRULE: type %q, recurrence %+v", master.CalendarItemType, master.Recurrence)
			}
			if len(master.ModifiedOccurrences) != len(c.mods) || len(master.DeletedOccurrences) != len(c.dels) {
				t.Fatalf("feed item has %d modified and %d deleted occurrences, the case made %d and %d",
					len(master.ModifiedOccurrences), len(master.DeletedOccurrences), len(c.mods), len(c.dels))
			}
			for i, o := range master.ModifiedOccurrences {
				if o.Subject == "" || o.ItemID == "" || o.OriginalStart.IsZero() {
					t.Errorf("modified occurrence %d lacks its own subject, id or original start: %+v", i, o)
				}
			}
			fromRRule := expandRRule(t, master, from, to)

			// 2. The calendar view endpoint.
			var view struct {
				Items     []domain.Item `json:"items"`
				Truncated bool          `json:"truncated"`
			}
			path := "/tenants/acme/mailboxes/" + mailbox + "/calendar?start=" + url.QueryEscape(c.from) + "&end=" + url.QueryEscape(c.to)
			w := e.do(req{method: "GET", path: path})
			if w.Code != 200 {
				t.Fatalf("GET %s = %d: %s", path, w.Code, w.Body)
			}
			if err := json.Unmarshal(w.Body.Bytes(), &view); err != nil {
				t.Fatal(err)
			}
			var fromAPI []inst
			for _, it := range view.Items {
				fromAPI = append(fromAPI, inst{it.Start, it.End, it.Subject})
			}

			// 3. The simulator's CalendarView.
			var fromSim []inst
			for _, it := range simView(t, from, to) {
				fromSim = append(fromSim, inst{it.Start, it.End, it.Subject})
			}
			// 4. Graph's calendarView (graphsim over the same store, read by
			// the Graph adapter).
			gp, err := graphViewer.CalendarView(ctx, domain.MailboxRef{Address: mailbox, Mode: domain.AccessApplication}, from, to, domain.MaxCalendarViewEntries)
			if err != nil {
				t.Fatalf("Graph calendarView: %v", err)
			}
			var fromGraph []inst
			for _, it := range gp.Items {
				fromGraph = append(fromGraph, inst{it.Start, it.End, it.Subject})
			}
			if len(fromRRule) == 0 {
				t.Fatal("the window holds no occurrence: the case proves nothing")
			}
			if a, b, c, d := render(fromRRule), render(fromAPI), render(fromSim), render(fromGraph); a != b || b != c || c != d {
				t.Errorf("expansions differ\nRRULE %s:\n%s\nAPI:\n%s\nsimulator:\n%s\nGraph calendarView:\n%s", master.Recurrence.RRule, a, b, c, d)
			}
			occurrences += len(fromRRule)
		})
		if ok {
			identical++
		}
	}
	fmt.Printf("recurrence conformance suite: %d cases, %d identical across RRULE (rrule-go), calendar view API, simulator CalendarView and Graph calendarView, %d occurrences compared\n", len(recCases), identical, occurrences)
	if len(recCases) < 40 {
		t.Errorf("%d cases, want at least 40", len(recCases))
	}
}

func render(is []inst) string {
	out := make([]string, len(is))
	for i, x := range is {
		out[i] = x.String()
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// feedItem is the mailbox's current item id as the API lists it.
func feedItem(t *testing.T, e *env, mailbox, id string) domain.Item {
	t.Helper()
	w := e.do(req{method: "GET", path: "/tenants/acme/mailboxes/" + mailbox + "/items?itemKind=calendar"})
	if w.Code != 200 {
		t.Fatalf("listing items = %d: %s", w.Code, w.Body)
	}
	var page struct {
		Items []domain.Item `json:"items"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("item %s is not in the feed's listing", id)
	return domain.Item{}
}

// expandRRule is what a consumer does with a feed item: DTSTART is the
// item's start in its time zone, each instance lasts the series' duration
// (all-day: the same number of days, midnight to midnight in the zone),
// deleted occurrences are dropped and modified ones take their own times
// and subject; the instances overlapping the window are kept.
func expandRRule(t *testing.T, it domain.Item, from, to time.Time) []inst {
	t.Helper()
	loc := time.UTC
	if it.TimeZone != "" {
		l, err := time.LoadLocation(it.TimeZone)
		if err != nil {
			t.Fatal(err)
		}
		loc = l
	}
	opt, err := rrule.StrToROptionInLocation(it.Recurrence.RRule, loc)
	if err != nil {
		t.Fatalf("rrule-go rejects %q: %v", it.Recurrence.RRule, err)
	}
	opt.Dtstart = it.Start.In(loc)
	rr, err := rrule.NewRRule(*opt)
	if err != nil {
		t.Fatal(err)
	}
	dur := it.End.Sub(it.Start)
	days := int(dur.Round(24*time.Hour) / (24 * time.Hour))
	var out []inst
	overlaps := func(s, e time.Time) bool { return s.Before(to) && e.After(from) }
	for _, s := range rr.Between(from.Add(-dur-48*time.Hour), to, true) {
		e := s.Add(dur)
		if it.IsAllDay {
			e = time.Date(s.Year(), s.Month(), s.Day()+days, 0, 0, 0, 0, loc)
		}
		if slices.ContainsFunc(it.DeletedOccurrences, func(d domain.DeletedOccurrence) bool { return d.OriginalStart.Equal(s) }) ||
			slices.ContainsFunc(it.ModifiedOccurrences, func(o domain.Occurrence) bool { return o.OriginalStart.Equal(s) }) {
			continue
		}
		if overlaps(s, e) {
			out = append(out, inst{s.UTC(), e.UTC(), it.Subject})
		}
	}
	for _, o := range it.ModifiedOccurrences {
		if overlaps(o.Start, o.End) {
			out = append(out, inst{o.Start.UTC(), o.End.UTC(), o.Subject})
		}
	}
	return out
}
