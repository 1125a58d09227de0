package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/localqueue"
)

// worker is the embedded queue's handler: what the syncworker Lambda does
// per SQS message (app.BatchWorker runs the job's mailboxes, their audit
// entries are written together, finished mailboxes are remembered when the
// job comes back), with the queue's requeue in place of
// ChangeMessageVisibility.
type worker struct {
	batch       *app.BatchWorker // its Syncer defers audit entries
	audit       domain.AuditStore
	progress    *progress
	log         *slog.Logger
	maxReceives int
}

func (w *worker) handle(ctx context.Context, m localqueue.Message) error {
	jr := w.batch.RunJob(ctx, app.BatchMessage{ID: m.ID, Body: m.Body, Receives: m.Receives})
	if jr.Rejected {
		// Logged by RunJob; never valid, so dropped.
		return nil
	}
	// Like SQS, the queue counts every receive, throttled ones included:
	// after the last one the job is dead-lettered and its mailboxes wait
	// for their next tick.
	last := m.Receives >= w.maxReceives
	if audit := jr.Audit(); len(audit) > 0 {
		if err := w.audit.AppendAudit(ctx, audit...); err != nil {
			// Unaudited accesses: the whole job runs again, audit included.
			w.log.Error("audit append failed; the job runs again", "tenant", jr.Job.TenantID, "err", err)
			for _, r := range jr.Runs {
				w.progress.job(jr.Job.Tick, r.Result, last, last)
			}
			return err
		}
	}
	for _, r := range jr.Runs {
		switch r.Outcome {
		case app.OutcomeOK:
			w.progress.job(jr.Job.Tick, r.Result, true, false)
		case app.OutcomeRejected:
			w.log.Warn("dropping a mailbox job that cannot succeed", "tenant", jr.Job.TenantID, "mailbox", r.Mailbox, "err", r.Err)
			w.progress.job(jr.Job.Tick, r.Result, true, true)
		default:
			if last {
				w.log.Warn("job came back too often; the next tick retries", "tenant", jr.Job.TenantID, "mailbox", r.Mailbox, "receives", m.Receives, "err", r.Err)
			}
			w.progress.job(jr.Job.Tick, r.Result, last, last)
		}
	}
	if !jr.ComeBack {
		return nil
	}
	if last {
		// Dead-lettered: the mailboxes a serial job did not reach count
		// as failed too, so the tick's report completes.
		for range len(jr.Job.Targets()) - len(jr.Runs) - len(jr.AlreadyDone) {
			w.progress.job(jr.Job.Tick, app.SyncResult{}, true, true)
		}
	}
	w.batch.RecordFinished(ctx, jr)
	if jr.After > 0 {
		// Throttled (or out of time): back to the queue with the server's
		// delay. Its group waits with it; nothing sleeps.
		return localqueue.RetryAfter(jr.After)
	}
	return errors.New(jr.Reason)
}
