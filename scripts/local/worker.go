package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/localqueue"
)

// batchSize is how many messages one receive hands the batch worker, as
// the sync worker's SQS event source does (template.yaml, BatchSize).
const batchSize = 10

// worker consumes the embedded queue the way the syncworker Lambda consumes
// SQS: each received batch goes to app.BatchWorker.Process, the code that
// runs in AWS, which audits, records a returning job's finished mailboxes
// and requeues it with the server's delay (the queue is its Requeuer);
// the messages it names come back, the others are deleted. All that is
// local is the progress report.
type worker struct {
	batch       *app.BatchWorker
	progress    *progress
	log         *slog.Logger
	maxReceives int // the queue's: a message coming back on its last receive is dead-lettered
}

func (w *worker) handle(ctx context.Context, msgs []localqueue.Message) []string {
	in := make([]app.BatchMessage, len(msgs))
	for i, m := range msgs {
		in[i] = app.BatchMessage{ID: m.ID, Body: m.Body, ReceiptHandle: m.ReceiptHandle, GroupID: m.GroupID, Receives: m.Receives}
	}
	res := w.batch.Process(ctx, in)
	back := map[string]bool{}
	for _, id := range res.Failed {
		back[id] = true
	}
	for i, m := range msgs {
		w.report(m, res.Runs[i], back[m.ID], res.Stats.AuditFailed)
	}
	return res.Failed
}

// report counts one message's mailboxes in its tick's progress: a mailbox
// is finished when it synced or was refused for good, and the job was not
// sent back for a failed audit write (then all of it runs again); the
// others count as requeues, or as failed when the queue dead-letters the
// job (like SQS, it counts every receive, throttled ones included), and
// wait for their next tick.
func (w *worker) report(m localqueue.Message, jr *app.JobRun, comeBack, auditFailed bool) {
	last := comeBack && m.Receives >= w.maxReceives
	if jr == nil {
		// Not run: an earlier message of its group came back. (The
		// embedded queue delivers one message per group at a time, so
		// this is for completeness.)
		var job domain.SyncJob
		if last && json.Unmarshal(m.Body, &job) == nil {
			for range job.Targets() {
				w.progress.job(job.Tick, app.SyncResult{}, true, true)
			}
		}
		return
	}
	if jr.Rejected {
		return // malformed (logged by the batch worker): no tick to count in
	}
	tick := jr.Job.Tick
	for _, r := range jr.Runs {
		if r.Done() && !auditFailed {
			w.progress.job(tick, r.Result, true, r.Outcome == app.OutcomeRejected)
			continue
		}
		w.progress.job(tick, r.Result, last, last)
	}
	if last {
		w.log.Warn("sync job came back too often; its mailboxes wait for their next tick", "tenant", jr.Job.TenantID, "receives", m.Receives, "reason", jr.Reason)
		// A serial job's mailboxes it did not reach count as failed too,
		// so the tick's report completes.
		for range len(jr.Job.Targets()) - len(jr.Runs) - len(jr.AlreadyDone) {
			w.progress.job(tick, app.SyncResult{}, true, true)
		}
	}
}
