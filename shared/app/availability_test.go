package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/local/filesecrets"
)

// fakeAvailability is an AvailabilityConnector answering from a table:
// busy intervals per mailbox, failures per mailbox, whole batches that
// fail (by their first mailbox) or hang until the request's time runs
// out. It records every batch and the most calls it saw at once.
type fakeAvailability struct {
	limits  domain.AvailabilityLimits
	busy    map[string][]domain.BusyInterval
	fail    map[string]*domain.AccessError // per mailbox
	failAll map[string]error               // per batch, by its first mailbox
	hang    map[string]bool                // per batch, by its first mailbox
	// barrier: the first `barrier` calls wait until that many are in
	// flight, which proves the budget is used, not just respected.
	barrier int

	mu       sync.Mutex
	batches  [][]string
	inFlight int
	maxSeen  int
	arrived  int
	release  chan struct{}
}

func (f *fakeAvailability) ConnectAvailability(context.Context, domain.Tenant, domain.Credential, string) (domain.AvailabilityReader, error) {
	return f, nil
}

func (f *fakeAvailability) Limits() domain.AvailabilityLimits { return f.limits }

func (f *fakeAvailability) Availability(ctx context.Context, mailboxes []string, start, end time.Time) ([]domain.MailboxAvailability, error) {
	f.mu.Lock()
	f.batches = append(f.batches, slices.Clone(mailboxes))
	f.inFlight++
	f.maxSeen = max(f.maxSeen, f.inFlight)
	f.arrived++
	wait := f.arrived <= f.barrier
	if f.arrived == f.barrier {
		close(f.release)
	}
	release := f.release
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if wait {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.hang[mailboxes[0]] {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err := f.failAll[mailboxes[0]]; err != nil {
		return nil, err
	}
	out := make([]domain.MailboxAvailability, len(mailboxes))
	for i, m := range mailboxes {
		out[i].Mailbox = m
		if e := f.fail[m]; e != nil {
			out[i].Err = e
			continue
		}
		out[i].Busy = append([]domain.BusyInterval{}, f.busy[m]...)
	}
	return out, nil
}

type availabilityEnv struct {
	a     *Availability
	store domain.Store
	fake  *fakeAvailability
}

func newAvailabilityEnv(t *testing.T, tenant domain.Tenant, limits domain.AvailabilityLimits) *availabilityEnv {
	t.Helper()
	dir := t.TempDir()
	bs, err := boltstore.Open(filepath.Join(dir, "db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	fs, err := filesecrets.Open(filesecrets.Options{Path: filepath.Join(dir, "secrets.json"), KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if tenant.ID != "" {
		if err := bs.CreateTenant(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		if err := fs.PutCredential(ctx, tenant.ID, domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "Avail-pw-1"}); err != nil {
			t.Fatal(err)
		}
	}
	fake := &fakeAvailability{limits: limits, busy: map[string][]domain.BusyInterval{}, fail: map[string]*domain.AccessError{},
		failAll: map[string]error{}, hang: map[string]bool{}, release: make(chan struct{})}
	return &availabilityEnv{a: &Availability{Store: bs, Secrets: fs, Connector: fake, Log: slog.New(slog.DiscardHandler)}, store: bs, fake: fake}
}

var (
	ewsLimits   = domain.AvailabilityLimits{MaxMailboxes: 100, MaxWindow: 42 * 24 * time.Hour}
	graphLimits = domain.AvailabilityLimits{MaxMailboxes: 20, MaxWindow: 62 * 24 * time.Hour}
)

func acme(jobs int) domain.Tenant {
	return domain.Tenant{ID: "acme", Protocol: domain.ProtocolEWS, EWSURL: "https://mail.acme.com/EWS/Exchange.asmx",
		AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, MaxConcurrentJobs: jobs, Status: domain.TenantActive}
}

func addresses(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%03d@acme.com", prefix, i))
	}
	return out
}

// TestAvailabilityBatches: 250 mailboxes go out in the protocol's batch
// size, each mailbox once, in order, with as many calls at once as the
// tenant's concurrency setting and no more.
func TestAvailabilityBatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits domain.AvailabilityLimits
		jobs   int
		sizes  []int
	}{
		{"EWS: 100 a call", ewsLimits, 2, []int{100, 100, 50}},
		{"Graph: 20 a call", graphLimits, 4, []int{20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAvailabilityEnv(t, acme(tc.jobs), tc.limits)
			e.fake.barrier = tc.jobs
			ms := addresses("room", 250)
			res, err := e.a.Check(context.Background(), "acme", AvailabilityInput{Mailboxes: ms, Start: at(9, 0), End: at(17, 0), MeetingMinutes: 30})
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			var asked []string
			for _, b := range e.fake.batches {
				sizes = append(sizes, len(b))
				asked = append(asked, b...)
			}
			slices.Sort(sizes)
			want := slices.Clone(tc.sizes)
			slices.Sort(want)
			if !slices.Equal(sizes, want) || res.Batches != len(tc.sizes) {
				t.Errorf("batch sizes %v (reported %d batches), want %v", sizes, res.Batches, tc.sizes)
			}
			slices.Sort(asked)
			if !slices.Equal(asked, ms) {
				t.Errorf("asked %d mailboxes, want each of the 250 once", len(asked))
			}
			if e.fake.maxSeen != tc.jobs {
				t.Errorf("at most %d calls at once, want the tenant's %d", e.fake.maxSeen, tc.jobs)
			}
			if len(res.Mailboxes) != 250 || res.Mailboxes[0].Mailbox != ms[0] || res.Mailboxes[249].Mailbox != ms[249] {
				t.Errorf("answers not one per mailbox in request order")
			}
		})
	}
}

// TestAvailabilityFailuresAnswerAlone: a mailbox Exchange refuses, a
// batch that fails whole and a batch that does not answer in time are
// reported with their reasons; the other mailboxes answer and the slots
// are computed from them (a failed room is never offered).
func TestAvailabilityFailuresAnswerAlone(t *testing.T) {
	e := newAvailabilityEnv(t, acme(10), domain.AvailabilityLimits{MaxMailboxes: 2, MaxWindow: 42 * 24 * time.Hour})
	e.a.Timeout = 200 * time.Millisecond
	// Batches of two: [ann, bob] [r1, r2] [r3, r4] [r5, r6].
	ms := []string{"ann@acme.com", "bob@acme.com", "r1@acme.com", "r2@acme.com", "r3@acme.com", "r4@acme.com", "r5@acme.com", "r6@acme.com"}
	e.fake.busy["ann@acme.com"] = []domain.BusyInterval{iv(9, 0, 10, 0, domain.BusyBusy)}
	e.fake.busy["r2@acme.com"] = []domain.BusyInterval{iv(10, 0, 11, 0, domain.BusyTentative)}
	e.fake.fail["r1@acme.com"] = &domain.AccessError{Kind: domain.AccessMailboxNotFound, Code: "ErrorMailboxNotFound", Err: errors.New("r1 at mail.acme.com internal host")}
	e.fake.failAll["r3@acme.com"] = &domain.AccessError{Kind: domain.AccessThrottled, Code: "ErrorServerBusy"}
	e.fake.hang["r5@acme.com"] = true
	res, err := e.a.Check(context.Background(), "acme", AvailabilityInput{Mailboxes: ms, Start: at(9, 0), End: at(12, 0), MeetingMinutes: 60, SlotMinutes: 60,
		Groups: []GroupInput{{Kind: "all", Mailboxes: ms[:2]}, {Kind: "any", Mailboxes: ms[2:]}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range res.Mailboxes {
		if m.Failure != nil {
			got[m.Mailbox] = string(m.Failure.Kind) + "/" + m.Failure.Code
			if strings.Contains(m.Failure.Message, "internal host") {
				t.Errorf("the server's words reached the answer: %q", m.Failure.Message)
			}
		} else {
			got[m.Mailbox] = fmt.Sprintf("ok %d", len(m.Busy))
		}
	}
	want := map[string]string{"ann@acme.com": "ok 1", "bob@acme.com": "ok 0", "r1@acme.com": "mailbox_not_found/ErrorMailboxNotFound", "r2@acme.com": "ok 1",
		"r3@acme.com": "throttled/ErrorServerBusy", "r4@acme.com": "throttled/ErrorServerBusy", "r5@acme.com": "transient/Timeout", "r6@acme.com": "transient/Timeout"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers\n got %v\nwant %v", got, want)
	}
	if g, w := slotStrings(res.Slots), []string{"Mon 11:00-12:00 [ann@acme.com bob@acme.com] [r2@acme.com]"}; !slices.Equal(g, w) {
		// 10:00 is taken by r2's tentative meeting, 09:00 by ann.
		t.Errorf("slots %q, want %q", g, w)
	}
}

// TestAvailabilityWindowLimit: the window is checked against the tenant's
// protocol before any call: 43 days is refused on EWS and answered on
// Graph; 63 days is refused on Graph. The error names the limit.
func TestAvailabilityWindowLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits domain.AvailabilityLimits
		days   int
		refuse string
	}{
		{"EWS 42 days", ewsLimits, 42, ""},
		{"EWS 43 days", ewsLimits, 43, "at most 42 days"},
		{"Graph 43 days", graphLimits, 43, ""},
		{"Graph 62 days", graphLimits, 62, ""},
		{"Graph 63 days", graphLimits, 63, "at most 62 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAvailabilityEnv(t, acme(0), tc.limits)
			_, err := e.a.Check(context.Background(), "acme", AvailabilityInput{Mailboxes: []string{"ann@acme.com"}, Start: day0, End: day0.AddDate(0, 0, tc.days), MeetingMinutes: 30})
			if tc.refuse == "" {
				if err != nil || len(e.fake.batches) != 1 {
					t.Fatalf("err %v, %d calls; want an answer from one call", err, len(e.fake.batches))
				}
				return
			}
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != "end" || !strings.Contains(de.Message, tc.refuse) {
				t.Fatalf("err %v; want invalid end naming %q", err, tc.refuse)
			}
			if len(e.fake.batches) != 0 {
				t.Fatalf("%d calls made for a refused window", len(e.fake.batches))
			}
		})
	}
}

// TestAvailabilityTenant: an unknown tenant is not found, one without a
// stored credential is a conflict that names the fix.
func TestAvailabilityTenant(t *testing.T) {
	e := newAvailabilityEnv(t, domain.Tenant{}, ewsLimits)
	in := AvailabilityInput{Mailboxes: []string{"ann@acme.com"}, Start: at(9, 0), End: at(17, 0), MeetingMinutes: 30}
	if _, err := e.a.Check(context.Background(), "acme", in); !domain.IsNotFound(err) {
		t.Errorf("unknown tenant: %v, want not found", err)
	}
	if err := e.store.CreateTenant(context.Background(), acme(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Check(context.Background(), "acme", in); !domain.IsConflict(err) || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("no credential: %v, want a conflict naming the credentials", err)
	}
	if len(e.fake.batches) != 0 {
		t.Errorf("%d calls made", len(e.fake.batches))
	}
}

// TestAvailabilityTimesInZone: busy intervals and slots come back in the
// request's zone, the grid from its local midnight.
// The zone may be named IANA's way or Windows' way: the same answer.
func TestAvailabilityTimesInZone(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "W. Europe Standard Time"} {
		t.Run(zone, func(t *testing.T) { testAvailabilityTimesInZone(t, zone) })
	}
}

func testAvailabilityTimesInZone(t *testing.T, zone string) {
	e := newAvailabilityEnv(t, acme(0), ewsLimits)
	e.fake.busy["ann@acme.com"] = []domain.BusyInterval{iv(8, 0, 9, 0, domain.BusyBusy)} // 09:00-10:00 in Berlin (CET)
	res, err := e.a.Check(context.Background(), "acme", AvailabilityInput{Mailboxes: []string{"ann@acme.com"}, Start: at(7, 0), End: at(10, 0),
		MeetingMinutes: 60, SlotMinutes: 60, TimeZone: zone})
	if err != nil {
		t.Fatal(err)
	}
	if b := res.Mailboxes[0].Busy[0]; b.Start.Format(time.RFC3339) != "2026-12-07T09:00:00+01:00" {
		t.Errorf("busy starts %s, want 09:00 Berlin", b.Start.Format(time.RFC3339))
	}
	if g, w := slotStrings(res.Slots), []string{"Mon 08:00-09:00 [ann@acme.com]", "Mon 10:00-11:00 [ann@acme.com]"}; !slices.Equal(g, w) {
		t.Errorf("slots %q, want %q", g, w)
	}
	if res.TimeZone.IANA != "Europe/Berlin" || res.TimeZone.Windows != "W. Europe Standard Time" || res.Start.Format(time.RFC3339) != "2026-12-07T08:00:00+01:00" {
		t.Errorf("answer zone %s, start %s", res.TimeZone, res.Start.Format(time.RFC3339))
	}
}

// TestAvailabilityBusyShare: an answer lists at most MaxBusyIntervals
// intervals, shared evenly, and says which mailboxes were cut; the slots
// still use every interval.
func TestAvailabilityBusyShare(t *testing.T) {
	e := newAvailabilityEnv(t, acme(0), graphLimits)
	ms := addresses("p", 500) // a share of 50 each
	var many []domain.BusyInterval
	for i := range 60 {
		s := day0.Add(time.Duration(i) * 10 * time.Minute)
		many = append(many, domain.BusyInterval{Start: s, End: s.Add(5 * time.Minute), Status: domain.BusyBusy})
	}
	e.fake.busy[ms[0]] = many
	res, err := e.a.Check(context.Background(), "acme", AvailabilityInput{Mailboxes: ms, Start: day0, End: day0.Add(12 * time.Hour), MeetingMinutes: 5, SlotMinutes: 5,
		Groups: []GroupInput{{Kind: "all", Mailboxes: ms[:1]}}})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Mailboxes[0]; len(m.Busy) != MaxBusyIntervals/500 || !m.BusyTruncated {
		t.Errorf("%d intervals listed, truncated %v; want %d and truncated", len(m.Busy), m.BusyTruncated, MaxBusyIntervals/500)
	}
	if res.Mailboxes[1].BusyTruncated {
		t.Error("a mailbox within its share is marked truncated")
	}
	// The 60th interval (09:50-09:55) is beyond the listed share but still
	// blocks its slot.
	for _, s := range res.Slots {
		if s.Start.Equal(day0.Add(590 * time.Minute)) {
			t.Fatal("the slot of an interval beyond the listed share is offered")
		}
	}
}

// TestAvailabilitySlotEntries: the slots' lists of free members are
// bounded too (any 1 of 500 rooms, all free, lists 500 rooms a slot): the
// slots are cut where the bound is reached, and the answer says so.
func TestAvailabilitySlotEntries(t *testing.T) {
	e := newAvailabilityEnv(t, acme(0), graphLimits)
	rooms := addresses("r", 500)
	res, err := e.a.Check(context.Background(), "acme", AvailabilityInput{Mailboxes: rooms, Start: day0, End: day0.Add(7 * 24 * time.Hour), MeetingMinutes: 30,
		Groups: []GroupInput{{Kind: "any", Mailboxes: rooms}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := MaxSlotEntries / 500; len(res.Slots) != want || !res.SlotsTruncated || len(res.Slots[0].Free[0]) != 500 {
		t.Errorf("%d slots (truncated %v); want the first %d, each listing the 500 free rooms, and truncated", len(res.Slots), res.SlotsTruncated, want)
	}
}

// TestAvailabilityValidation: each bad input is refused naming its field,
// before the tenant is read or Exchange called.
func TestAvailabilityValidation(t *testing.T) {
	ok := func() AvailabilityInput {
		return AvailabilityInput{Mailboxes: []string{"ann@acme.com", "r1@acme.com"}, Start: at(9, 0), End: at(17, 0), MeetingMinutes: 30}
	}
	tests := []struct {
		name   string
		change func(*AvailabilityInput)
		field  string
	}{
		{"no mailboxes", func(in *AvailabilityInput) { in.Mailboxes = nil }, "mailboxes"},
		{"501 mailboxes", func(in *AvailabilityInput) { in.Mailboxes = addresses("m", 501) }, "mailboxes"},
		{"not an address", func(in *AvailabilityInput) { in.Mailboxes[1] = "Ann <ann@acme.com>" }, "mailboxes[1]"},
		{"a mailbox twice", func(in *AvailabilityInput) { in.Mailboxes[1] = "ANN@acme.com" }, "mailboxes[1]"},
		{"no start", func(in *AvailabilityInput) { in.Start = time.Time{} }, "start"},
		{"no end", func(in *AvailabilityInput) { in.End = time.Time{} }, "end"},
		{"end before start", func(in *AvailabilityInput) { in.End = in.Start.Add(-time.Hour) }, "end"},
		{"end equals start", func(in *AvailabilityInput) { in.End = in.Start }, "end"},
		{"year 1", func(in *AvailabilityInput) { in.Start = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) }, "start"},
		{"year 9999", func(in *AvailabilityInput) { in.End = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }, "end"},
		{"no meeting length", func(in *AvailabilityInput) { in.MeetingMinutes = 0 }, "meetingMinutes"},
		{"negative meeting", func(in *AvailabilityInput) { in.MeetingMinutes = -30 }, "meetingMinutes"},
		{"meeting longer than a day", func(in *AvailabilityInput) { in.MeetingMinutes = 1441 }, "meetingMinutes"},
		{"meeting longer than the window", func(in *AvailabilityInput) { in.MeetingMinutes = 9 * 60 }, "meetingMinutes"},
		{"slot of 1 minute", func(in *AvailabilityInput) { in.SlotMinutes = 1 }, "slotMinutes"},
		{"negative slot", func(in *AvailabilityInput) { in.SlotMinutes = -5 }, "slotMinutes"},
		{"slot longer than a day", func(in *AvailabilityInput) { in.SlotMinutes = 1441 }, "slotMinutes"},
		{"unknown zone", func(in *AvailabilityInput) { in.TimeZone = "Mars/Olympus_Mons" }, "timeZone"},
		{"unknown Windows zone name", func(in *AvailabilityInput) { in.TimeZone = "W. Europe Time" }, "timeZone"},
		{"the server's zone", func(in *AvailabilityInput) { in.TimeZone = "Local" }, "timeZone"},
		{"a path as zone", func(in *AvailabilityInput) { in.TimeZone = "../../etc/passwd" }, "timeZone"},
		{"an absolute path as zone", func(in *AvailabilityInput) { in.TimeZone = "/etc/localtime" }, "timeZone"},
		{"a long zone", func(in *AvailabilityInput) { in.TimeZone = strings.Repeat("A", 65) }, "timeZone"},
		{"hours: bad start", func(in *AvailabilityInput) { in.WorkingHours = &WorkingHoursInput{Start: "9:00", End: "17:00"} }, "workingHours.start"},
		{"hours: 25:00", func(in *AvailabilityInput) { in.WorkingHours = &WorkingHoursInput{Start: "09:00", End: "25:00"} }, "workingHours.end"},
		{"hours: 12:60", func(in *AvailabilityInput) { in.WorkingHours = &WorkingHoursInput{Start: "12:60", End: "17:00"} }, "workingHours.start"},
		{"hours: start 24:00", func(in *AvailabilityInput) { in.WorkingHours = &WorkingHoursInput{Start: "24:00", End: "24:00"} }, "workingHours.start"},
		{"hours: end before start", func(in *AvailabilityInput) { in.WorkingHours = &WorkingHoursInput{Start: "17:00", End: "09:00"} }, "workingHours.end"},
		{"hours: empty", func(in *AvailabilityInput) { in.WorkingHours = &WorkingHoursInput{} }, "workingHours.start"},
		{"hours: unknown day", func(in *AvailabilityInput) {
			in.WorkingHours = &WorkingHoursInput{Start: "09:00", End: "17:00", Days: []string{"Monday"}}
		}, "workingHours.days[0]"},
		{"hours: a day twice", func(in *AvailabilityInput) {
			in.WorkingHours = &WorkingHoursInput{Start: "09:00", End: "17:00", Days: []string{"monday", "monday"}}
		}, "workingHours.days[1]"},
		{"hours: eight days", func(in *AvailabilityInput) {
			in.WorkingHours = &WorkingHoursInput{Start: "09:00", End: "17:00", Days: []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "monday"}}
		}, "workingHours.days"},
		{"group: unknown kind", func(in *AvailabilityInput) { in.Groups = []GroupInput{{Kind: "most", Mailboxes: in.Mailboxes}} }, "groups[0].kind"},
		{"group: no kind", func(in *AvailabilityInput) { in.Groups = []GroupInput{{Mailboxes: in.Mailboxes}} }, "groups[0].kind"},
		{"group: empty", func(in *AvailabilityInput) { in.Groups = []GroupInput{{Kind: "all"}} }, "groups[0].mailboxes"},
		{"group: a mailbox not requested", func(in *AvailabilityInput) {
			in.Groups = []GroupInput{{Kind: "any", Mailboxes: []string{"ann@acme.com", "eve@acme.com"}}}
		}, "groups[0].mailboxes[1]"},
		{"group: a mailbox twice", func(in *AvailabilityInput) {
			in.Groups = []GroupInput{{Kind: "any", Mailboxes: []string{"ann@acme.com", "Ann@acme.com"}}}
		}, "groups[0].mailboxes[1]"},
		{"group: any count above its size", func(in *AvailabilityInput) {
			in.Groups = []GroupInput{{Kind: "any", Count: 3, Mailboxes: in.Mailboxes}}
		}, "groups[0].count"},
		{"group: negative count", func(in *AvailabilityInput) {
			in.Groups = []GroupInput{{Kind: "any", Count: -1, Mailboxes: in.Mailboxes}}
		}, "groups[0].count"},
		{"group: all with a count", func(in *AvailabilityInput) {
			in.Groups = []GroupInput{{Kind: "all", Count: 1, Mailboxes: in.Mailboxes}}
		}, "groups[0].count"},
		{"21 groups", func(in *AvailabilityInput) {
			for range 21 {
				in.Groups = append(in.Groups, GroupInput{Kind: "all", Mailboxes: in.Mailboxes[:1]})
			}
		}, "groups"},
	}
	e := newAvailabilityEnv(t, acme(0), ewsLimits)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := ok()
			tc.change(&in)
			_, err := e.a.Check(context.Background(), "acme", in)
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != tc.field || de.Message == "" {
				t.Fatalf("err %v; want invalid %s", err, tc.field)
			}
		})
	}
	if len(e.fake.batches) != 0 {
		t.Errorf("%d calls made for refused requests", len(e.fake.batches))
	}
	// The valid base answers, so each case above failed on its own change.
	if _, err := e.a.Check(context.Background(), "acme", ok()); err != nil {
		t.Fatalf("the valid base request: %v", err)
	}
}
