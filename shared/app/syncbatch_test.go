package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// scriptedSyncer answers each mailbox with a scripted error and records
// the order of the jobs it ran.
type scriptedSyncer struct {
	mu      sync.Mutex
	answers map[string]error
	ran     []string
	gate    chan struct{} // if set, every job waits for a token
	started chan string
}

func (s *scriptedSyncer) SyncMailboxWith(_ context.Context, job domain.SyncJob, _ *domain.SyncSnapshot) (app.SyncResult, error) {
	if s.started != nil {
		s.started <- job.Mailbox
	}
	if s.gate != nil {
		<-s.gate
	}
	if job.Mailbox == "panics@x.com" {
		panic("bug")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ran = append(s.ran, job.Mailbox)
	return app.SyncResult{Mailbox: job.Mailbox, EWSCalls: 2, Appended: 1}, s.answers[job.Mailbox]
}

type requeue struct {
	handle string
	after  time.Duration
}

type recordingRequeuer struct {
	mu    sync.Mutex
	calls []requeue
}

func (r *recordingRequeuer) Requeue(_ context.Context, h string, after time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, requeue{h, after})
	return nil
}

func jobMsg(id, mailbox, group string) app.BatchMessage {
	body, _ := json.Marshal(domain.SyncJob{TenantID: "acme", Mailbox: mailbox, Tick: t0})
	return app.BatchMessage{ID: id, Body: body, ReceiptHandle: "rh-" + id, GroupID: group}
}

var quiet = secretscan.Logger()

func TestBatchWorkerOutcomes(t *testing.T) {
	syncer := &scriptedSyncer{answers: map[string]error{
		"throttled@x.com": &app.RetryLater{After: 3 * time.Second, Reason: "throttled"},
		"flaky@x.com":     errors.New("store unavailable"),
		"stranger@x.com":  &domain.Error{Code: domain.CodeForbidden, Message: "not registered"},
	}}
	rq := &recordingRequeuer{}
	w := &app.BatchWorker{Syncer: syncer, Requeuer: rq, Log: quiet}
	res := w.Process(context.Background(), []app.BatchMessage{
		jobMsg("1", "ok@x.com", ""),
		jobMsg("2", "throttled@x.com", ""),
		jobMsg("3", "flaky@x.com", ""),
		jobMsg("4", "stranger@x.com", ""),
		{ID: "5", Body: []byte("{not json"), ReceiptHandle: "rh-5"},
		jobMsg("6", "panics@x.com", ""),
	})
	slices.Sort(res.Failed)
	if !slices.Equal(res.Failed, []string{"2", "3", "6"}) {
		t.Errorf("failed = %v, want the throttled, the failed and the panicking job", res.Failed)
	}
	if !slices.Equal(rq.calls, []requeue{{"rh-2", 3 * time.Second}}) {
		t.Errorf("requeues = %v, want rh-2 after 3s", rq.calls)
	}
	want := app.BatchStats{Jobs: 6, Mailboxes: 5, Succeeded: 1, Requeued: 1, Failed: 2, Rejected: 2, EWSCalls: 8, Appended: 4}
	if res.Stats != want {
		t.Errorf("stats = %+v, want %+v", res.Stats, want)
	}
}

func TestBatchWorkerFIFOGroups(t *testing.T) {
	syncer := &scriptedSyncer{answers: map[string]error{"a1@x.com": errors.New("boom")}}
	w := &app.BatchWorker{Syncer: syncer, Concurrency: 1, Log: quiet}
	res := w.Process(context.Background(), []app.BatchMessage{
		jobMsg("a1", "a1@x.com", "acme#0"),
		jobMsg("b1", "b1@x.com", "acme#1"),
		jobMsg("a2", "a2@x.com", "acme#0"),
		jobMsg("b2", "b2@x.com", "acme#1"),
	})
	slices.Sort(res.Failed)
	if !slices.Equal(res.Failed, []string{"a1", "a2"}) {
		t.Errorf("failed = %v: a group's later messages must come back with the failed one", res.Failed)
	}
	if slices.Contains(syncer.ran, "a2@x.com") {
		t.Errorf("a2 ran after a1 of its group failed")
	}
	if i, j := slices.Index(syncer.ran, "b1@x.com"), slices.Index(syncer.ran, "b2@x.com"); i < 0 || j < i {
		t.Errorf("group order not kept: ran %v", syncer.ran)
	}
	if res.Stats.Skipped != 1 {
		t.Errorf("skipped = %d, want 1", res.Stats.Skipped)
	}
}

// multiMsg is a job of several mailboxes, as the scheduler makes them.
func multiMsg(id string, serial bool, receives int, mailboxes ...string) app.BatchMessage {
	body, _ := json.Marshal(domain.SyncJob{TenantID: "acme", Mailboxes: mailboxes, Serial: serial, ID: "job-" + id, Tick: t0})
	return app.BatchMessage{ID: id, Body: body, ReceiptHandle: "rh-" + id, GroupID: "g-" + id, Receives: receives}
}

func progressStore(t *testing.T) *boltstore.Store {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "store.db")
	secretscan.WatchFile(t, dbPath) // read when the test ends, for the secret scan
	st, err := boltstore.Open(dbPath, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A job's mailboxes sync side by side; when one is throttled the job comes
// back once, with the largest delay asked, and its redelivery syncs only
// the mailboxes not finished.
func TestBatchWorkerJobComesBackForItsUnfinishedMailboxesOnly(t *testing.T) {
	for _, tc := range []struct {
		name      string
		serial    bool
		wantRan   []string      // first delivery, in order for a serial job
		wantAfter time.Duration // the requeue's delay: the largest asked of the mailboxes run
		wantRe    []string      // redelivery
	}{
		{"side by side", false, []string{"a@x.com", "busy@x.com", "c@x.com", "slow@x.com"}, 9 * time.Second, []string{"busy@x.com", "slow@x.com"}},
		{"serial stops at the first", true, []string{"a@x.com", "busy@x.com"}, 3 * time.Second, []string{"busy@x.com", "c@x.com", "slow@x.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			syncer := &scriptedSyncer{answers: map[string]error{
				"busy@x.com": &app.RetryLater{After: 3 * time.Second, Reason: "throttled"},
				"slow@x.com": &app.RetryLater{After: 9 * time.Second, Reason: "throttled harder"},
			}}
			rq := &recordingRequeuer{}
			w := &app.BatchWorker{Syncer: syncer, Requeuer: rq, Progress: progressStore(t), Log: quiet}
			targets := []string{"a@x.com", "busy@x.com", "c@x.com", "slow@x.com"}
			res := w.Process(context.Background(), []app.BatchMessage{multiMsg("1", tc.serial, 1, targets...)})
			if !slices.Equal(res.Failed, []string{"1"}) {
				t.Fatalf("failed = %v, want the job back", res.Failed)
			}
			ran := slices.Clone(syncer.ran)
			if !tc.serial {
				slices.Sort(ran)
			}
			if !slices.Equal(ran, tc.wantRan) {
				t.Fatalf("first delivery synced %v, want %v", ran, tc.wantRan)
			}
			if !slices.Equal(rq.calls, []requeue{{"rh-1", tc.wantAfter}}) {
				t.Fatalf("requeues = %v, want one, after %v", rq.calls, tc.wantAfter)
			}

			syncer.ran = nil
			delete(syncer.answers, "busy@x.com")
			delete(syncer.answers, "slow@x.com")
			res = w.Process(context.Background(), []app.BatchMessage{multiMsg("1", tc.serial, 2, targets...)})
			ran = slices.Clone(syncer.ran)
			slices.Sort(ran)
			if !slices.Equal(ran, tc.wantRe) || len(res.Failed) != 0 {
				t.Fatalf("redelivery synced %v (failed %v), want %v: finished mailboxes are skipped", ran, res.Failed, tc.wantRe)
			}
			if res.Stats.AlreadyDone != len(targets)-len(tc.wantRe) {
				t.Fatalf("stats %+v: want %d already done", res.Stats, len(targets)-len(tc.wantRe))
			}
		})
	}
}

// Without a progress store (or on a first delivery) nothing is skipped:
// a first delivery never reads progress, even if some is stored.
func TestBatchWorkerFirstDeliveryRunsEverything(t *testing.T) {
	ps := progressStore(t)
	if err := ps.MarkJobDone(context.Background(), "acme", "job-1", []string{"a@x.com"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	syncer := &scriptedSyncer{answers: map[string]error{}}
	w := &app.BatchWorker{Syncer: syncer, Progress: ps, Log: quiet}
	w.Process(context.Background(), []app.BatchMessage{multiMsg("1", false, 1, "a@x.com", "b@x.com")})
	if len(syncer.ran) != 2 {
		t.Fatalf("synced %v, want both", syncer.ran)
	}
}

// The batch's syncs run side by side up to the worker's Concurrency, one
// limit whatever the jobs. Each case runs in a synctest bubble:
// synctest.Wait returns once every goroutine of the batch is blocked (in a
// gated sync or waiting for a slot), so the count of started syncs is
// final, with no sleep.
func TestBatchWorkerConcurrencyLimit(t *testing.T) {
	var fiveJobs []app.BatchMessage
	for _, m := range []string{"a", "b", "c", "d", "e"} {
		fiveJobs = append(fiveJobs, jobMsg(m, m+"@x.com", ""))
	}
	for _, tc := range []struct {
		name      string
		limit     int
		msgs      []app.BatchMessage
		wantStats app.BatchStats // Succeeded, Mailboxes and Jobs
	}{
		{"one-mailbox jobs", 3, fiveJobs, app.BatchStats{Succeeded: 5, Mailboxes: 5, Jobs: 5}},
		{"the mailboxes of two jobs share the limit", 4, []app.BatchMessage{
			multiMsg("1", false, 1, "a@x.com", "b@x.com", "c@x.com"),
			multiMsg("2", false, 1, "d@x.com", "e@x.com", "f@x.com"),
		}, app.BatchStats{Succeeded: 6, Mailboxes: 6, Jobs: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				syncer := &scriptedSyncer{answers: map[string]error{}, gate: make(chan struct{}), started: make(chan string, 20)}
				w := &app.BatchWorker{Syncer: syncer, Concurrency: tc.limit, Log: quiet}
				done := make(chan app.BatchResult)
				go func() { done <- w.Process(context.Background(), tc.msgs) }()
				synctest.Wait()
				n := len(syncer.started)
				close(syncer.gate) // before any Fatal: a bubble must end with no goroutine blocked
				res := <-done
				if n < tc.limit {
					t.Fatalf("%d syncs started before any finished, want %d: the batch does not sync side by side", n, tc.limit)
				} else if n > tc.limit {
					t.Fatalf("%d syncs started beyond the limit of %d", n-tc.limit, tc.limit)
				}
				if got := (app.BatchStats{Succeeded: res.Stats.Succeeded, Mailboxes: res.Stats.Mailboxes, Jobs: res.Stats.Jobs}); got != tc.wantStats {
					t.Errorf("stats %+v, want %+v", res.Stats, tc.wantStats)
				}
			})
		})
	}
}

// A job naming no mailbox, or too many, is dropped.
func TestBatchWorkerRejectsBadJobs(t *testing.T) {
	syncer := &scriptedSyncer{answers: map[string]error{}}
	w := &app.BatchWorker{Syncer: syncer, Log: quiet}
	many := make([]string, domain.MaxJobMailboxes+1)
	for i := range many {
		many[i] = fmt.Sprintf("u%d@x.com", i)
	}
	res := w.Process(context.Background(), []app.BatchMessage{multiMsg("1", false, 1), multiMsg("2", false, 1, many...)})
	if len(res.Failed) != 0 || res.Stats.Rejected != 2 || len(syncer.ran) != 0 {
		t.Fatalf("result %+v, ran %v: want both dropped unrun", res, syncer.ran)
	}
}
