package main

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/localqueue"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// sentJobs passes the scheduler's messages on to the stack's queue and
// keeps their jobs.
type sentJobs struct {
	domain.Queue
	mu   sync.Mutex
	jobs []domain.SyncJob
}

func (q *sentJobs) SendBatch(ctx context.Context, msgs []domain.QueueMessage) error {
	q.mu.Lock()
	for _, m := range msgs {
		var j domain.SyncJob
		_ = json.Unmarshal(m.Body, &j)
		q.jobs = append(q.jobs, j)
	}
	q.mu.Unlock()
	return q.Queue.SendBatch(ctx, msgs)
}

// The local run's queue consumer is app.BatchWorker, the Lambda's: a job
// whose mailbox is throttled comes back through the queue's Requeue with
// the server's back-off (not the queue's retry delay), the mailboxes it
// finished are recorded in the store's job progress, so the redelivery
// syncs only the throttled one, and every sync is audited.
func TestThrottledJobGoesThroughTheBatchWorker(t *testing.T) {
	const backoff = 1500 * time.Millisecond
	cfg := testConfig(t.TempDir())
	cfg.demo = demoOptions{Mailboxes: 3, Items: 4, Mode: domain.AccessImpersonation}
	s, err := openStack(context.Background(), cfg, secretscan.Writer(secretscan.Logs, "local stack log"))
	if err != nil {
		t.Fatal(err)
	}
	scanStack(t, s)
	defer s.close()
	sent := &sentJobs{Queue: s.sched.Queue}
	s.sched.Queue = sent
	mbs := s.demo.dataset.Mailboxes
	busy := mbs[1]
	s.demo.sim.InjectFault(ewssim.Fault{Mailbox: busy, Op: "SyncFolderItems", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: backoff, Count: 1})
	s.demo.sim.ResetStats()

	began := time.Now()
	r, err := s.runOnce(context.Background(), began)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	if r.Done != 3 || r.Failed != 0 || r.Requeues != 1 || r.Throttled != 1 {
		t.Fatalf("report %+v: want 3 synced after one requeue", r)
	}
	// Back after the server's delay: without the Requeue the queue would
	// have waited its retry delay.
	if took < backoff || took >= localqueue.DefaultRetryDelay {
		t.Fatalf("the tick took %v: want the throttled job back after the server's %v", took, backoff)
	}
	if len(sent.jobs) != 1 || len(sent.jobs[0].Targets()) != 3 {
		t.Fatalf("jobs %+v: want one job of the 3 mailboxes", sent.jobs)
	}
	job := sent.jobs[0]
	done, err := s.store.JobDone(context.Background(), job.TenantID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(done)
	if want := []string{mbs[0], mbs[2]}; !slices.Equal(done, want) {
		t.Fatalf("the store recorded %v as done for job %s, want the finished %v", done, job.ID, want)
	}
	audit, _, err := s.store.ListAudit(context.Background(), demoTenantID, domain.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]bool{}
	for _, e := range audit {
		if e.Operation == "sync" {
			audited[e.Mailbox] = true
		}
	}
	for _, mb := range mbs {
		if !audited[mb] {
			t.Errorf("no sync audit entry for %s: %+v", mb, audit)
		}
	}
	if st := s.queue.Stats(); st.Requeued != 1 || st.Failed != 0 || st.DeadLettered != 0 {
		t.Fatalf("queue %+v: want the job requeued once, through Requeue", st)
	}
}
