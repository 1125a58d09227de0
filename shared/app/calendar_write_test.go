package app_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// The calendar write tests run the use case over the embedded store and the
// EWS simulator, through the real EWS calendar adapter; only the retry
// owner (Step Functions, tested in shared/sfnretry) is recorded instead.

const (
	calTenant = "acme"
	calAnn    = "ann@contoso.com"
	calBob    = "bob@contoso.com" // registered, but outside the impersonation scope
	calSvc    = "svc@contoso.com"
)

var calNow = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// recordedRetries is the RetryScheduler port recorded.
type recordedRetries struct {
	mu   sync.Mutex
	got  []domain.CalendarRetry
	fail error
}

func (r *recordedRetries) ScheduleRetry(_ context.Context, c domain.CalendarRetry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.got = append(r.got, c)
	return nil
}

type calEnv struct {
	sim     *ewssim.Sim
	store   domain.Store
	clock   *storetest.Clock
	retries *recordedRetries
	writes  *app.CalendarWrites
}

func newCalEnv(t *testing.T) *calEnv {
	t.Helper()
	ctx := context.Background()
	sim := ewssim.New(ewssim.Options{})
	for _, m := range []string{calAnn, calBob} {
		if err := sim.AddMailbox(m, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.AddAccount(ewssim.Account{Username: calSvc, Password: "pw-123456", ImpersonationScope: []string{calAnn}}); err != nil {
		t.Fatal(err)
	}
	ewsURL := standin.EWS(t, sim)

	clock := storetest.NewClock(calNow)
	dbPath := filepath.Join(t.TempDir(), "store.db")
	secretscan.WatchFile(t, dbPath) // read when the test ends, for the secret scan
	bs, err := boltstore.Open(dbPath, boltstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	if err := bs.CreateTenant(ctx, domain.Tenant{ID: calTenant, EWSURL: ewsURL, ExchangeVersion: "Exchange2016",
		AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, Status: domain.TenantActive}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{calAnn, calBob} {
		if err := bs.AddMailbox(ctx, domain.Mailbox{TenantID: calTenant, Address: m, Status: domain.MailboxOK}); err != nil {
			t.Fatal(err)
		}
	}
	secrets := &mailboxtest.Secrets{}
	if err := secrets.PutCredential(ctx, calTenant, domain.Credential{Kind: domain.AuthBasic, Username: calSvc, Password: "pw-123456"}); err != nil {
		t.Fatal(err)
	}
	retries := &recordedRetries{}
	return &calEnv{sim: sim, store: bs, clock: clock, retries: retries, writes: &app.CalendarWrites{
		Store: bs, Secrets: secrets, Calendars: ewsmailbox.NewCalendarConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}}), Retries: retries,
		Clock: clock, Log: secretscan.Logger(),
	}}
}

func upsert(id, mailbox, clientEventID string, start time.Time) domain.WriteRequest {
	return domain.WriteRequest{
		ID: id, TenantID: calTenant, Mailbox: mailbox, ClientEventID: clientEventID, Op: domain.WriteUpsert,
		Event:       &domain.EventSpec{Subject: "Flight to Oslo", Start: start, End: start.Add(2 * time.Hour)},
		RequestedAt: calNow,
	}
}

func (e *calEnv) audit(t *testing.T) []domain.AuditEntry {
	t.Helper()
	entries, _, err := e.store.ListAudit(context.Background(), calTenant, domain.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func (e *calEnv) calendar(t *testing.T, mailbox string) []ewssim.ItemRef {
	t.Helper()
	refs, err := e.sim.ListItems(mailbox, "calendar")
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// TestCalendarRetrySchedule drives a write that keeps failing through the
// queue and then the state machine's loop (each attempt made at the time
// the previous one asked for) and checks the calendar retry rule's schedule: after a
// failure at F for an event at S, retry at F+24h when S-F > 36h, else at
// F+(S-F)/2 but at most F+18h; three retries at most.
func TestCalendarRetrySchedule(t *testing.T) {
	h := time.Hour
	for _, tc := range []struct {
		name    string
		startIn time.Duration // event start after the first failure
		backOff time.Duration // ErrorServerBusy back-off; 0 = a transient error without one
		delete  bool
		want    []time.Duration
		reason  string // in the final gave_up reason
	}{
		{name: "four days out: 24h thrice", startIn: 96 * h, want: []time.Duration{24 * h, 24 * h, 24 * h}, reason: "three retries"},
		{name: "three days out: 24h, 24h, then half of the 24h left", startIn: 72 * h, want: []time.Duration{24 * h, 24 * h, 12 * h}, reason: "three retries"},
		{name: "37 hours out: just over the 36h threshold", startIn: 37 * h, want: []time.Duration{24 * h, 6*h + 30*time.Minute, 3*h + 15*time.Minute}, reason: "three retries"},
		{name: "exactly 36 hours out: capped at 18h", startIn: 36 * h, want: []time.Duration{18 * h, 9 * h, 4*h + 30*time.Minute}, reason: "three retries"},
		{name: "ten hours out: halves", startIn: 10 * h, want: []time.Duration{5 * h, 2*h + 30*time.Minute, h + 15*time.Minute}, reason: "three retries"},
		{name: "90 seconds out: one minute, then nothing fits", startIn: 90 * time.Second, want: []time.Duration{time.Minute}, reason: "before the event starts"},
		{name: "already started: no retry", startIn: -time.Hour, want: nil, reason: "already started"},
		{name: "server back-off longer than the rule", startIn: 10 * h, backOff: 6 * h, want: []time.Duration{6 * h}, reason: "before the event starts"},
		{name: "delete: no start to race, 24h thrice", delete: true, want: []time.Duration{24 * h, 24 * h, 24 * h}, reason: "three retries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCalEnv(t)
			ctx := context.Background()
			// Every attempt starts with FindItem, so failing it fails
			// creates and deletes alike.
			fault := ewssim.Fault{Op: "FindItem", Kind: ewssim.FaultSOAP, Code: "ErrorMailboxStoreUnavailable"}
			if tc.backOff > 0 {
				fault = ewssim.Fault{Op: "FindItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: tc.backOff}
			}
			e.sim.InjectFault(fault)
			req := upsert("req-1", calAnn, "trip-1", calNow.Add(tc.startIn))
			if tc.delete {
				req.Op, req.Event = domain.WriteDelete, nil
			}

			res, err := e.writes.HandleQueued(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Duration
			failedAt := calNow
			for res.Outcome == app.OutcomeRetry {
				got = append(got, res.RetryAt.Sub(failedAt))
				if len(got) > 3 {
					t.Fatalf("more than three retries: %v", got)
				}
				in := domain.CalendarRetry{Request: req, RetriesDone: res.RetriesDone, RetryAt: res.RetryAt}
				if len(got) == 1 {
					// The first retry is handed to the scheduler; the
					// state machine loops the later ones itself.
					if len(e.retries.got) != 1 || e.retries.got[0].RetriesDone != 1 || !e.retries.got[0].RetryAt.Equal(res.RetryAt) {
						t.Fatalf("scheduled %+v, want retry 1 at %v", e.retries.got, res.RetryAt)
					}
					in = e.retries.got[0]
				}
				e.clock.Advance(in.RetryAt.Sub(e.clock.Now()))
				failedAt = in.RetryAt
				res = e.writes.HandleRetry(ctx, in)
				if res.Outcome == app.OutcomeRetry && res.RetriesDone != in.RetriesDone+1 {
					t.Fatalf("retriesDone %d after retry %d", res.RetriesDone, in.RetriesDone)
				}
			}
			if !equalDurations(got, tc.want) {
				t.Errorf("retry delays %v, want %v", got, tc.want)
			}
			if res.Outcome != app.OutcomeGaveUp || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("final outcome %s %q, want gave_up mentioning %q", res.Outcome, res.Reason, tc.reason)
			}
			if len(tc.want) == 0 && len(e.retries.got) != 0 {
				t.Errorf("scheduled %d retries for an event that has started", len(e.retries.got))
			}
			audit := e.audit(t)
			if len(audit) != len(tc.want)+1 {
				t.Fatalf("%d audit entries for %d attempts", len(audit), len(tc.want)+1)
			}
			for i, a := range audit {
				wantPrefix := "retry_scheduled: "
				if i == len(audit)-1 {
					wantPrefix = "gave_up: "
				}
				if !strings.HasPrefix(a.Result, wantPrefix) || a.RequestID != "req-1" || a.Mailbox != calAnn || a.AccessMode != domain.AccessImpersonation {
					t.Errorf("audit entry %d: %+v, want result %q...", i, a, wantPrefix)
				}
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A write that fails once is made by the first retry.
func TestCalendarWriteSucceedsOnRetry(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	e.sim.InjectFault(ewssim.Fault{Op: "CreateItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: 30 * time.Second, Count: 1})
	req := upsert("req-2", calAnn, "trip-2", calNow.Add(10*time.Hour))
	res, err := e.writes.HandleQueued(ctx, req)
	if err != nil || res.Outcome != app.OutcomeRetry {
		t.Fatalf("first attempt: %+v, %v", res, err)
	}
	if want := calNow.Add(5 * time.Hour); !res.RetryAt.Equal(want) {
		t.Errorf("retry at %v, want %v", res.RetryAt, want)
	}
	e.clock.Advance(5 * time.Hour)
	res = e.writes.HandleRetry(ctx, e.retries.got[0])
	if res.Outcome != app.OutcomeWritten || res.Result != domain.EventCreated {
		t.Fatalf("retry: %+v", res)
	}
	if n := len(e.calendar(t, calAnn)); n != 1 {
		t.Errorf("calendar holds %d items, want 1", n)
	}
	audit := e.audit(t)
	if len(audit) != 2 || audit[1].Result != "created" || audit[1].Operation != "calendar.upsert trip-2" {
		t.Errorf("audit %+v", audit)
	}
}

// Permanent failures end at once: no retry is scheduled, the reason says
// what to fix, and nothing in the mailbox changes.
func TestCalendarPermanentFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		req    func() domain.WriteRequest
		reason string
		audits int
	}{
		{"mailbox outside the impersonation scope", func() domain.WriteRequest { return upsert("r", calBob, "trip-1", calNow.Add(48*time.Hour)) },
			"out_of_scope (ErrorImpersonateUserDenied)", 1},
		{"mailbox not registered to the tenant", func() domain.WriteRequest {
			return upsert("r", "carol@contoso.com", "trip-1", calNow.Add(48*time.Hour))
		}, "not registered", 1},
		{"unknown tenant", func() domain.WriteRequest {
			r := upsert("r", calAnn, "trip-1", calNow.Add(48*time.Hour))
			r.TenantID = "globex"
			return r
		}, "tenant not found", 0},
		{"delete of an event Mailbridge never wrote", func() domain.WriteRequest {
			return domain.WriteRequest{ID: "r", TenantID: calTenant, Mailbox: calAnn, ClientEventID: "never", Op: domain.WriteDelete, RequestedAt: calNow}
		}, "not_found", 1},
		{"malformed request", func() domain.WriteRequest {
			r := upsert("r", calAnn, "trip 1/../x", calNow.Add(48*time.Hour))
			return r
		}, "invalid request", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCalEnv(t)
			userItem, err := e.sim.AddItem(calAnn, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Flight to Oslo", Start: calNow, End: calNow.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.writes.HandleQueued(context.Background(), tc.req())
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != app.OutcomeGaveUp || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("got %s %q, want gave_up mentioning %q", res.Outcome, res.Reason, tc.reason)
			}
			if len(e.retries.got) != 0 {
				t.Errorf("a permanent failure scheduled a retry: %+v", e.retries.got)
			}
			if n := len(e.audit(t)); n != tc.audits {
				t.Errorf("%d audit entries, want %d", n, tc.audits)
			}
			refs := e.calendar(t, calAnn)
			if len(refs) != 1 || refs[0] != userItem {
				t.Errorf("the calendar changed: %+v, want only the user's item %+v", refs, userItem)
			}
		})
	}
}

// failingStore fails tenant reads as an unavailable DynamoDB would.
type failingStore struct{ domain.Store }

func (failingStore) GetTenant(context.Context, string) (domain.Tenant, error) {
	return domain.Tenant{}, errors.New("ProvisionedThroughputExceededException")
}

// Failures of the hand-over and of Mailbridge's own storage go back to the
// queue, which delivers the message again; nothing is written meanwhile.
func TestCalendarQueuedRedelivery(t *testing.T) {
	ctx := context.Background()
	t.Run("retry scheduler unavailable", func(t *testing.T) {
		e := newCalEnv(t)
		e.sim.InjectFault(ewssim.Fault{Op: "CreateItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: time.Second})
		e.retries.fail = errors.New("states: service unavailable")
		if _, err := e.writes.HandleQueued(ctx, upsert("r", calAnn, "trip-1", calNow.Add(48*time.Hour))); err == nil {
			t.Fatal("the message was acknowledged although its retry was not scheduled")
		}
	})
	t.Run("store unavailable", func(t *testing.T) {
		e := newCalEnv(t)
		e.writes.Store = failingStore{e.store}
		if _, err := e.writes.HandleQueued(ctx, upsert("r", calAnn, "trip-1", calNow.Add(48*time.Hour))); err == nil {
			t.Fatal("a storage failure was acknowledged")
		}
		if len(e.retries.got) != 0 || len(e.calendar(t, calAnn)) != 0 {
			t.Errorf("retries %+v, calendar %d items", e.retries.got, len(e.calendar(t, calAnn)))
		}
	})
}

func TestCalendarRetryInputChecked(t *testing.T) {
	e := newCalEnv(t)
	for _, n := range []int{0, 4, -1} {
		res := e.writes.HandleRetry(context.Background(), domain.CalendarRetry{Request: upsert("r", calAnn, "trip-1", calNow.Add(48*time.Hour)), RetriesDone: n})
		if res.Outcome != app.OutcomeGaveUp || !strings.Contains(res.Reason, "retriesDone") {
			t.Errorf("retriesDone %d: %+v", n, res)
		}
	}
	if len(e.calendar(t, calAnn)) != 0 {
		t.Error("an invalid retry input wrote to the calendar")
	}
}

// A create, an update and a delete through the use case leave the user's
// own item with the same subject alone (least privilege: the writer only
// changes items Mailbridge created).
func TestCalendarWriteLifecycle(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	userItem, err := e.sim.AddItem(calAnn, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Flight to Oslo", Start: calNow.Add(48 * time.Hour), End: calNow.Add(50 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		req  domain.WriteRequest
		want domain.EventWriteResult
	}{
		{upsert("a", calAnn, "trip-1", calNow.Add(48*time.Hour)), domain.EventCreated},
		{upsert("b", calAnn, "trip-1", calNow.Add(49*time.Hour)), domain.EventUpdated},
		{domain.WriteRequest{ID: "c", TenantID: calTenant, Mailbox: calAnn, ClientEventID: "trip-1", Op: domain.WriteDelete}, domain.EventDeleted},
	}
	for i, s := range steps {
		e.clock.Advance(time.Minute)
		s.req.RequestedAt = e.clock.Now()
		res, err := e.writes.HandleQueued(ctx, s.req)
		if err != nil || res.Outcome != app.OutcomeWritten || res.Result != s.want {
			t.Fatalf("step %d: %+v, %v; want %s", i, res, err, s.want)
		}
	}
	refs := e.calendar(t, calAnn)
	if len(refs) != 1 || refs[0] != userItem {
		t.Errorf("calendar %+v, want only the user's untouched item %+v", refs, userItem)
	}
}
