package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
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

func (s *scriptedSyncer) SyncMailbox(_ context.Context, job domain.SyncJob) (app.SyncResult, error) {
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

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

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
	want := app.BatchStats{Jobs: 6, Succeeded: 1, Requeued: 1, Failed: 2, Rejected: 2, EWSCalls: 8, Appended: 4}
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

func TestBatchWorkerRunsGroupsConcurrently(t *testing.T) {
	syncer := &scriptedSyncer{answers: map[string]error{}, gate: make(chan struct{}), started: make(chan string, 10)}
	w := &app.BatchWorker{Syncer: syncer, Concurrency: 3, Log: quiet}
	done := make(chan app.BatchResult)
	go func() {
		var msgs []app.BatchMessage
		for _, m := range []string{"a", "b", "c", "d", "e"} {
			msgs = append(msgs, jobMsg(m, m+"@x.com", ""))
		}
		done <- w.Process(context.Background(), msgs)
	}()
	// Three jobs start before any finishes: the batch runs side by side.
	for range 3 {
		select {
		case <-syncer.started:
		case <-time.After(10 * time.Second):
			t.Fatal("jobs of a batch do not run concurrently")
		}
	}
	if n := len(syncer.started); n != 0 {
		t.Fatalf("%d jobs started beyond the concurrency limit of 3", n)
	}
	close(syncer.gate)
	if res := <-done; res.Stats.Succeeded != 5 {
		t.Errorf("stats %+v", res.Stats)
	}
}
