package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/queue"
)

// worker is the embedded queue's handler: what the syncworker Lambda does
// per SQS message, with the queue's requeue in place of
// ChangeMessageVisibility.
type worker struct {
	syncer      *app.Syncer
	progress    *progress
	log         *slog.Logger
	maxReceives int
}

func (w *worker) handle(ctx context.Context, m queue.Message) error {
	var job domain.SyncJob
	if err := json.Unmarshal(m.Body, &job); err != nil {
		w.log.Error("dropping a malformed job", "messageId", m.ID, "err", err)
		return nil
	}
	res, err := w.syncer.SyncMailbox(ctx, job)
	var later *app.RetryLater
	switch {
	case err == nil:
		w.progress.job(job.Tick, res, true, false)
		return nil
	case errors.As(err, &later):
		// Throttled (or out of time): back to the queue with the server's
		// delay. Its group waits with it; nothing sleeps. Like SQS, the
		// queue counts these receives too: after the last one the job is
		// dead-lettered and the mailbox waits for its next tick.
		last := m.Receives >= w.maxReceives
		if last {
			w.log.Warn("throttled too often; the next tick retries", "tenant", job.TenantID, "mailbox", job.Mailbox, "receives", m.Receives)
		}
		w.progress.job(job.Tick, res, last, last)
		return queue.RetryAfter(later.After)
	case app.IsRejectedJob(err):
		w.log.Warn("dropping a job that cannot succeed", "tenant", job.TenantID, "mailbox", job.Mailbox, "err", err)
		w.progress.job(job.Tick, res, true, true)
		return nil
	default:
		last := m.Receives >= w.maxReceives
		w.log.Error("sync failed", "tenant", job.TenantID, "mailbox", job.Mailbox, "receive", m.Receives, "willRetry", !last, "err", err)
		w.progress.job(job.Tick, res, last, last)
		return err
	}
}
