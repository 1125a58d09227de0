package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/localqueue"
)

// schedStore is an in-memory SchedulerStore that pages like the real ones
// (cursor = last key returned), so tests exercise the scheduler's paging.
type schedStore struct {
	tenants   []domain.Tenant
	mailboxes map[string][]domain.Mailbox // by tenant, in address order
	failList  string                      // tenant whose mailboxes cannot be listed
}

func (s *schedStore) ListTenants(_ context.Context, cursor string, limit int) ([]domain.Tenant, string, error) {
	i := sort.Search(len(s.tenants), func(i int) bool { return s.tenants[i].ID > cursor })
	j := min(len(s.tenants), i+limit)
	page := s.tenants[i:j]
	if j == len(s.tenants) {
		return page, "", nil
	}
	return page, page[len(page)-1].ID, nil
}

func (s *schedStore) ListMailboxes(_ context.Context, tenantID string, q domain.MailboxQuery) ([]domain.Mailbox, string, error) {
	if tenantID == s.failList {
		return nil, "", errors.New("store unavailable")
	}
	all := s.mailboxes[tenantID]
	i := sort.Search(len(all), func(i int) bool { return all[i].Address > q.Cursor })
	j := min(len(all), i+q.Limit)
	page := all[i:j]
	if j == len(all) {
		return page, "", nil
	}
	return page, page[len(page)-1].Address, nil
}

func (s *schedStore) addTenant(t domain.Tenant, n int, status func(i int) domain.MailboxStatus) {
	s.tenants = append(s.tenants, t)
	sort.Slice(s.tenants, func(i, j int) bool { return s.tenants[i].ID < s.tenants[j].ID })
	if s.mailboxes == nil {
		s.mailboxes = map[string][]domain.Mailbox{}
	}
	for i := range n {
		st := domain.MailboxOK
		if status != nil {
			st = status(i)
		}
		s.mailboxes[t.ID] = append(s.mailboxes[t.ID], domain.Mailbox{
			TenantID: t.ID, Address: fmt.Sprintf("user%05d@%s.example", i, t.ID), Status: st,
		})
	}
}

// schedQueue records what is sent; batches whose first job names failMailbox fail.
type schedQueue struct {
	mu          sync.Mutex
	batches     [][]domain.QueueMessage
	failMailbox string
}

func (q *schedQueue) SendBatch(_ context.Context, msgs []domain.QueueMessage) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failMailbox != "" && strings.Contains(string(msgs[0].Body), q.failMailbox) {
		return errors.New("queue refused the batch")
	}
	q.batches = append(q.batches, msgs)
	return nil
}

func (q *schedQueue) messages() []domain.QueueMessage {
	var out []domain.QueueMessage
	for _, b := range q.batches {
		out = append(out, b...)
	}
	return out
}

func schedJobOf(t *testing.T, m domain.QueueMessage) domain.SyncJob {
	t.Helper()
	var j domain.SyncJob
	if err := json.Unmarshal(m.Body, &j); err != nil {
		t.Fatalf("job body %q: %v", m.Body, err)
	}
	return j
}

var schedT0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func schedTenant(id string, mode domain.AccessMode, interval time.Duration) domain.Tenant {
	return domain.Tenant{ID: id, AccessMode: mode, SyncInterval: interval, Status: domain.TenantActive}
}

func TestTickEnqueuesEachMailboxOncePerInterval(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		wantRuns int // in 60 minutes
	}{
		{"1 minute", time.Minute, 60},
		{"5 minutes", 5 * time.Minute, 12},
		{"7 minutes (does not divide an hour)", 7 * time.Minute, 8}, // 8 or 9 depending on phase
		{"90 seconds rounds up to 2 minutes", 90 * time.Second, 30},
		{"zero means the default 5 minutes", 0, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &schedStore{}
			st.addTenant(schedTenant("acme", domain.AccessImpersonation, tc.interval), 3, nil)
			q := &schedQueue{}
			s := &app.Scheduler{Store: st, Queue: q}
			var dueMinutes []int
			for m := range 60 {
				sum, err := s.Tick(context.Background(), schedT0.Add(time.Duration(m)*time.Minute+17*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				if sum.TenantsDue == 1 {
					dueMinutes = append(dueMinutes, m)
					if sum.Enqueued != 3 {
						t.Fatalf("minute %d: enqueued %d, want 3", m, sum.Enqueued)
					}
				}
			}
			got := len(dueMinutes)
			if got != tc.wantRuns && !(tc.interval == 7*time.Minute && got == 9) {
				t.Fatalf("due %d times in an hour (%v), want %d", got, dueMinutes, tc.wantRuns)
			}
			for i := 1; i < len(dueMinutes); i++ {
				gap := time.Duration(dueMinutes[i]-dueMinutes[i-1]) * time.Minute
				if want := max(time.Minute, (tc.interval + time.Minute - 1).Truncate(time.Minute)); tc.interval > 0 && gap != want {
					t.Fatalf("gap between runs %v, want %v", gap, want)
				}
			}
		})
	}
}

func TestTickSpreadsTenantsOverTheInterval(t *testing.T) {
	st := &schedStore{}
	for i := range 1000 {
		st.addTenant(schedTenant(fmt.Sprintf("t%04d", i), domain.AccessImpersonation, 5*time.Minute), 1, nil)
	}
	s := &app.Scheduler{Store: st, Queue: &schedQueue{}}
	total := 0
	for m := range 5 {
		sum, err := s.Tick(context.Background(), schedT0.Add(time.Duration(m)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		// 1000 tenants over 5 minutes: about 200 a minute, never all at once.
		if sum.TenantsDue < 150 || sum.TenantsDue > 250 {
			t.Errorf("minute %d: %d tenants due, want about 200", m, sum.TenantsDue)
		}
		total += sum.Enqueued
	}
	if total != 1000 {
		t.Fatalf("over one interval %d jobs, want each of the 1000 tenants once", total)
	}
}

func TestTickSkipsOffboardedAndSlowsNeedsAdmin(t *testing.T) {
	st := &schedStore{}
	st.addTenant(schedTenant("acme", domain.AccessImpersonation, time.Minute), 10, func(i int) domain.MailboxStatus {
		switch i {
		case 0:
			return domain.MailboxOutOfScope
		case 1:
			return domain.MailboxAuthFailed
		case 2:
			return domain.MailboxPending // not an admin problem: synced normally
		case 3:
			return domain.MailboxThrottled // fixes itself: synced normally
		}
		return domain.MailboxOK
	})
	gone := schedTenant("gone", domain.AccessImpersonation, time.Minute)
	gone.Status = domain.TenantOffboarded
	st.addTenant(gone, 5, nil)

	q := &schedQueue{}
	s := &app.Scheduler{Store: st, Queue: q}
	perMailbox := map[string]int{}
	for m := range 120 {
		sum, err := s.Tick(context.Background(), schedT0.Add(time.Duration(m)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Offboarded != 1 {
			t.Fatalf("offboarded = %d, want 1", sum.Offboarded)
		}
	}
	for _, msg := range q.messages() {
		j := schedJobOf(t, msg)
		if j.TenantID == "gone" {
			t.Fatalf("job for an offboarded tenant: %+v", j)
		}
		for _, mb := range j.Targets() {
			perMailbox[mb]++
		}
	}
	for i := range 10 {
		addr := fmt.Sprintf("user%05d@acme.example", i)
		want := 120
		if i < 2 {
			want = 2 // hourly over two hours
		}
		if perMailbox[addr] != want {
			t.Errorf("%s: %d jobs in 2 hours, want %d", addr, perMailbox[addr], want)
		}
	}
}

func TestTickForceDueTakesEveryActiveMailbox(t *testing.T) {
	st := &schedStore{}
	st.addTenant(schedTenant("hourly", domain.AccessImpersonation, time.Hour), 4, func(i int) domain.MailboxStatus {
		if i == 0 {
			return domain.MailboxAccessDenied
		}
		return domain.MailboxOK
	})
	gone := schedTenant("gone", domain.AccessImpersonation, time.Minute)
	gone.Status = domain.TenantOffboarded
	st.addTenant(gone, 3, nil)
	for m := range 3 {
		q := &schedQueue{}
		sum, err := (&app.Scheduler{Store: st, Queue: q, ForceDue: true}).Tick(context.Background(), schedT0.Add(time.Duration(m)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Enqueued != 4 || sum.AdminRetries != 1 {
			t.Fatalf("minute %d: summary %+v, want all 4 mailboxes of the active tenant", m, sum)
		}
	}
}

func TestTickGroupsBoundConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tenant     domain.Tenant
		mailboxes  int
		wantGroups int
	}{
		{"delegate: MaxConcurrentJobs slots", schedWithJobs(schedTenant("del", domain.AccessDelegate, time.Minute), 25), 500, 25},
		{"folder delegate counts as delegate", schedWithJobs(schedTenant("fd", domain.AccessFolderDelegate, time.Minute), 4), 10, 4},
		{"delegate default is 10", schedTenant("d10", domain.AccessDelegate, time.Minute), 100, 10},
		{"delegate capped at EWSMaxConcurrency 27", schedWithJobs(schedTenant("big", domain.AccessDelegate, time.Minute), 100), 300, 27},
		{"impersonation: one group per job of 10 mailboxes", schedTenant("imp", domain.AccessImpersonation, time.Minute), 300, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &schedStore{}
			st.addTenant(tc.tenant, tc.mailboxes, nil)
			q := &schedQueue{}
			if _, err := (&app.Scheduler{Store: st, Queue: q, PageSize: 7}).Tick(context.Background(), schedT0); err != nil {
				t.Fatal(err)
			}
			perGroup := map[string]int{} // mailboxes
			for _, m := range q.messages() {
				j := schedJobOf(t, m)
				if j.Serial != tc.tenant.AccessMode.Delegated() {
					t.Fatalf("job %+v: serial must be set exactly for delegate access", j)
				}
				perGroup[m.GroupID] += len(j.Targets())
			}
			if len(perGroup) != tc.wantGroups {
				t.Fatalf("%d groups, want %d", len(perGroup), tc.wantGroups)
			}
			lo, hi := tc.mailboxes, 0
			for _, n := range perGroup {
				lo, hi = min(lo, n), max(hi, n)
			}
			if hi-lo > 1 {
				t.Fatalf("groups unbalanced: %d to %d mailboxes per group", lo, hi)
			}
		})
	}
}

func TestJobGroupFollowsTheModeThatWorked(t *testing.T) {
	imp := schedTenant("acme", domain.AccessImpersonation, 0)
	del := schedWithJobs(schedTenant("acme", domain.AccessDelegate, 0), 5)
	for _, tc := range []struct {
		name string
		t    domain.Tenant
		m    domain.Mailbox
		want string
	}{
		{"impersonation tenant", imp, domain.Mailbox{Address: "a@x.example"}, "acme#a@x.example"},
		{"fell back to delegate", imp, domain.Mailbox{Address: "a@x.example", EffectiveMode: domain.AccessDelegate}, "acme#d7"},
		{"delegate override", imp, domain.Mailbox{Address: "a@x.example", AccessMode: domain.AccessDelegate}, "acme#d7"},
		{"delegate tenant, impersonation override", del, domain.Mailbox{Address: "a@x.example", AccessMode: domain.AccessImpersonation}, "acme#a@x.example"},
		{"delegate tenant", schedWithJobs(del, 5), domain.Mailbox{Address: "a@x.example"}, "acme#d2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := tc.t
			if tt.MaxConcurrentJobs == 0 {
				tt.MaxConcurrentJobs = 10
			}
			if got := app.JobGroup(tt, tc.m, 17); got != tc.want {
				t.Fatalf("JobGroup = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTickDedupIDsRepeatWithinAMinuteOnly(t *testing.T) {
	st := &schedStore{}
	st.addTenant(schedTenant("acme", domain.AccessImpersonation, time.Minute), 25, nil)
	ids := func(at time.Time) []string {
		q := &schedQueue{}
		if _, err := (&app.Scheduler{Store: st, Queue: q}).Tick(context.Background(), at); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range q.messages() {
			if m.DedupID == "" || len(m.DedupID) > 128 {
				t.Fatalf("dedup id %q: must be 1-128 characters", m.DedupID)
			}
			j := schedJobOf(t, m)
			if !j.Tick.Equal(at.Truncate(time.Minute)) {
				t.Fatalf("job tick %v, want the minute %v", j.Tick, at.Truncate(time.Minute))
			}
			if j.ID != m.DedupID {
				t.Fatalf("job id %q, want its dedup id %q (a redelivered job finds its progress by it)", j.ID, m.DedupID)
			}
			out = append(out, m.DedupID)
		}
		slices.Sort(out)
		return out
	}
	first := ids(schedT0.Add(5 * time.Second))
	if len(first) != 3 || len(slices.Compact(slices.Clone(first))) != 3 {
		t.Fatalf("want 3 distinct dedup ids (25 mailboxes in jobs of 10), got %d", len(slices.Compact(slices.Clone(first))))
	}
	if retried := ids(schedT0.Add(50 * time.Second)); !slices.Equal(first, retried) {
		t.Fatal("a retried tick in the same minute must send the same dedup ids")
	}
	next := ids(schedT0.Add(time.Minute))
	for _, id := range next {
		if slices.Contains(first, id) {
			t.Fatalf("dedup id %q reused by the next minute's tick", id)
		}
	}
}

// A retried tick (same minute) into the embedded queue, which honours dedup
// ids like SQS FIFO: no job is doubled; the next minute's tick is not
// mistaken for a retry.
func TestRetriedTickDoesNotDoubleJobs(t *testing.T) {
	st := &schedStore{}
	st.addTenant(schedTenant("acme", domain.AccessImpersonation, time.Minute), 37, nil)
	st.addTenant(schedWithJobs(schedTenant("del", domain.AccessDelegate, time.Minute), 4), 13, nil)
	q := localqueue.New(localqueue.Options{})
	s := &app.Scheduler{Store: st, Queue: q}
	for _, at := range []time.Time{schedT0.Add(2 * time.Second), schedT0.Add(40 * time.Second)} {
		if _, err := s.Tick(context.Background(), at); err != nil {
			t.Fatal(err)
		}
	}
	// 37 impersonated mailboxes make 4 jobs; 13 delegate ones over 4
	// slots make 4 (one per slot).
	if got := q.Stats(); got.Sent != 8 || got.Deduplicated != 8 {
		t.Fatalf("queue %+v: want 8 jobs kept and the retry's 8 dropped", got)
	}
	if _, err := s.Tick(context.Background(), schedT0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := q.Stats(); got.Sent != 16 {
		t.Fatalf("queue %+v: the next minute's 8 jobs must be kept", got)
	}
}

func TestTickBatchesAndPages(t *testing.T) {
	st := &schedStore{}
	st.addTenant(schedTenant("a", domain.AccessImpersonation, time.Minute), 2345, nil)
	st.addTenant(schedWithJobs(schedTenant("b", domain.AccessDelegate, time.Minute), 20), 17, nil)
	q := &schedQueue{}
	s := &app.Scheduler{Store: st, Queue: q, PageSize: 100}
	sum, err := s.Tick(context.Background(), schedT0)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Enqueued != 2362 || sum.Mailboxes != 2362 || sum.Tenants != 2 {
		t.Fatalf("summary %+v, want 2362 mailboxes enqueued from 2 tenants", sum)
	}
	seen := map[string]bool{}
	for _, b := range q.batches {
		if len(b) == 0 || len(b) > app.MaxQueueBatch {
			t.Fatalf("batch of %d messages, want 1-10", len(b))
		}
		for _, m := range b {
			j := schedJobOf(t, m)
			for _, mb := range j.Targets() {
				key := j.TenantID + "/" + mb
				if seen[key] {
					t.Fatalf("%s enqueued twice", key)
				}
				seen[key] = true
			}
		}
	}
	if len(seen) != 2362 {
		t.Fatalf("%d mailboxes in jobs, want 2362", len(seen))
	}
	// a: 2,345 mailboxes in 235 jobs of up to 10, 24 batches; b: 17
	// delegate mailboxes over 20 slots, a job each, 2 batches.
	if want := 24 + 2; len(q.batches) != want || sum.Batches != want || sum.Messages != 235+17 {
		t.Fatalf("%d batches (summary %d, %d messages), want %d batches of 252 messages", len(q.batches), sum.Batches, sum.Messages, want)
	}
}

func TestTickSpreadDelays(t *testing.T) {
	st := &schedStore{}
	st.addTenant(schedTenant("acme", domain.AccessImpersonation, 5*time.Minute), 200, nil)
	st.addTenant(schedTenant("fast", domain.AccessImpersonation, time.Minute), 200, nil)
	q := &schedQueue{}
	s := &app.Scheduler{Store: st, Queue: q, Spread: 2 * time.Minute}
	for m := range 5 {
		if _, err := s.Tick(context.Background(), schedT0.Add(time.Duration(m)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	distinct := map[string]map[time.Duration]bool{}
	for _, m := range q.messages() {
		j := schedJobOf(t, m)
		limit := 2 * time.Minute
		if j.TenantID == "fast" {
			limit = time.Minute // never spread past the tenant's own interval
		}
		if m.Delay < 0 || m.Delay >= limit || m.Delay%time.Second != 0 {
			t.Fatalf("%s delay %v, want whole seconds in [0, %v)", j.TenantID, m.Delay, limit)
		}
		if distinct[j.TenantID] == nil {
			distinct[j.TenantID] = map[time.Duration]bool{}
		}
		distinct[j.TenantID][m.Delay] = true
	}
	for id, d := range distinct {
		if len(d) < 10 {
			t.Errorf("tenant %s: only %d distinct delays for 20 jobs: not spread", id, len(d))
		}
	}
}

func TestTickReportsFailuresAndSendsTheRest(t *testing.T) {
	st := &schedStore{failList: "broken"}
	// 130 mailboxes: 13 jobs, sent in a batch of 10 and one of 3 (which fails).
	st.addTenant(schedTenant("acme", domain.AccessImpersonation, time.Minute), 130, nil)
	st.addTenant(schedTenant("broken", domain.AccessImpersonation, time.Minute), 5, nil)
	q := &schedQueue{failMailbox: "user00100@acme.example"}
	sum, err := (&app.Scheduler{Store: st, Queue: q}).Tick(context.Background(), schedT0)
	if err == nil {
		t.Fatal("want an error so the runtime retries the tick")
	}
	if sum.Enqueued != 100 || sum.FailedJobs != 30 || sum.TenantsWithError != 1 {
		t.Fatalf("summary %+v: want 100 mailboxes sent, 30 failed, 1 tenant not listed", sum)
	}
	if !strings.Contains(err.Error(), "jobs of 30 mailboxes not sent") || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("error %q should say what failed", err)
	}
}

func TestTickNeedsStoreAndQueue(t *testing.T) {
	if _, err := (&app.Scheduler{}).Tick(context.Background(), schedT0); err == nil {
		t.Fatal("want an error without Store and Queue")
	}
}

func TestQueueID(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		in       string
		verbatim bool
	}{
		{"acme#user@x.example#123", true},
		{"acme#" + long, false},
		{"acme#jörg@x.example", false},
		{"acme#with space@x.example", false},
	} {
		t.Run(tc.in[:min(len(tc.in), 30)], func(t *testing.T) {
			got := app.QueueID(tc.in)
			if (got == tc.in) != tc.verbatim {
				t.Fatalf("QueueID(%q) = %q, verbatim want %v", tc.in, got, tc.verbatim)
			}
			if len(got) > 128 || got != app.QueueID(tc.in) {
				t.Fatalf("QueueID must be stable and at most 128 characters: %q", got)
			}
		})
	}
	if app.QueueID("a#"+long) == app.QueueID("b#"+long) {
		t.Fatal("different inputs must not share an id")
	}
}

func schedWithJobs(t domain.Tenant, n int) domain.Tenant { t.MaxConcurrentJobs = n; return t }

func TestTickPacksMailboxesIntoJobs(t *testing.T) {
	st := &schedStore{}
	st.addTenant(schedTenant("imp", domain.AccessImpersonation, time.Minute), 25, nil)
	st.addTenant(schedWithJobs(schedTenant("del", domain.AccessDelegate, time.Minute), 3), 25, nil)
	for _, tc := range []struct {
		name    string
		perJob  int   // Scheduler.MailboxesPerJob
		wantMax int   // mailboxes a job may name
		wantImp []int // mailboxes per impersonation job
	}{
		{"default 10", 0, app.DefaultMailboxesPerJob, []int{10, 10, 5}},
		{"4", 4, 4, []int{4, 4, 4, 4, 4, 4, 1}},
		{"1: one mailbox a job, as before", 1, 1, slices.Repeat([]int{1}, 25)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &schedQueue{}
			if _, err := (&app.Scheduler{Store: st, Queue: q, MailboxesPerJob: tc.perJob, PageSize: 7}).Tick(context.Background(), schedT0); err != nil {
				t.Fatal(err)
			}
			type impJob struct{ first, size int }
			var imp []impJob
			slots := map[string][]int{} // delegate group -> its mailboxes' numbers
			for _, m := range q.messages() {
				j := schedJobOf(t, m)
				if n := len(j.Targets()); n == 0 || n > tc.wantMax {
					t.Fatalf("job of %d mailboxes, want 1-%d", n, tc.wantMax)
				}
				if len(j.Targets()) == 1 && (j.Mailbox == "" || j.Mailboxes != nil) {
					t.Fatalf("a one-mailbox job names it in Mailbox: %+v", j)
				}
				switch j.TenantID {
				case "imp":
					if j.Serial {
						t.Fatalf("impersonation job %+v is serial: its mailboxes have budgets of their own", j)
					}
					var first int
					fmt.Sscanf(j.Targets()[0], "user%05d@", &first)
					for k, mb := range j.Targets() {
						if want := fmt.Sprintf("user%05d@imp.example", first+k); mb != want {
							t.Fatalf("impersonation job names %s, want %s: a job takes consecutive mailboxes", mb, want)
						}
					}
					imp = append(imp, impJob{first, len(j.Targets())})
				case "del":
					if !j.Serial {
						t.Fatalf("delegate job %+v is not serial: its mailboxes share the service account's budget", j)
					}
					for _, mb := range j.Targets() {
						var i int
						fmt.Sscanf(mb, "user%05d@", &i)
						slots[m.GroupID] = append(slots[m.GroupID], i)
					}
				}
			}
			// Batches are sent concurrently: order the jobs by their first
			// mailbox before comparing.
			slices.SortFunc(imp, func(a, b impJob) int { return a.first - b.first })
			var sizes []int
			for _, j := range imp {
				sizes = append(sizes, j.size)
			}
			if !slices.Equal(sizes, tc.wantImp) {
				t.Errorf("impersonation jobs of %v mailboxes, want %v", sizes, tc.wantImp)
			}
			if len(slots) != 3 {
				t.Fatalf("%d delegate groups, want one per slot (3)", len(slots))
			}
			for g, idx := range slots {
				for _, i := range idx {
					if i%3 != idx[0]%3 {
						t.Fatalf("group %s holds mailboxes %v of different slots", g, idx)
					}
				}
			}
		})
	}
}
