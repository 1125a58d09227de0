package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// BatchMessage is one received sync-queue message, independent of the
// runtime (an SQS record in Lambda, the embedded queue locally).
type BatchMessage struct {
	ID            string // reported back when the message must come again
	Body          []byte // a JSON domain.SyncJob
	ReceiptHandle string
	GroupID       string // FIFO message group; "" on a standard queue
}

// Requeuer hands a received message back to its queue to be delivered
// again after a delay (SQS: ChangeMessageVisibility). The sqsqueue adapter
// implements it.
type Requeuer interface {
	Requeue(ctx context.Context, receiptHandle string, after time.Duration) error
}

// MailboxSyncer runs one job; *Syncer implements it.
type MailboxSyncer interface {
	SyncMailbox(ctx context.Context, job domain.SyncJob) (SyncResult, error)
}

// DefaultBatchConcurrency is how many jobs of one batch run at once: a
// Lambda is billed by duration, and sync jobs mostly wait on Exchange, so
// running a batch's jobs side by side cuts the bill.
const DefaultBatchConcurrency = 10

// BatchWorker runs a batch of sync jobs and says which messages must come
// back. Messages of one FIFO group run one after the other, in order (the
// group is what bounds a delegate tenant's concurrency); once one of them
// fails, the rest of its group are returned unrun so the order holds.
//
// With Audit set, the jobs' audit entries (SyncResult.Audit, from a Syncer
// with DeferAudit) are written in one AppendAudit call once the batch has
// run, before its messages are acknowledged: a store that packs them pays
// one write for the batch instead of one per job. If that write fails,
// every message of the batch is reported failed and comes back (jobs are
// idempotent), so no access goes unaudited.
type BatchWorker struct {
	Syncer      MailboxSyncer
	Requeuer    Requeuer
	Audit       domain.AuditStore // writes the batch's audit entries; see above
	Concurrency int               // groups run at once; default DefaultBatchConcurrency
	Log         *slog.Logger
}

// BatchStats sums a batch's jobs, for metrics.
type BatchStats struct {
	Jobs      int // messages received
	Succeeded int
	Requeued  int // throttled or out of time: back after a delay
	Failed    int // errors: redelivered by the queue
	Rejected  int // malformed or refused jobs: dropped after logging
	Skipped   int // not run, an earlier message of their group failed
	EWSCalls  int
	Throttled int
	Appended  int
	// AuditFailed: the batch's audit entries could not be written, so
	// every message comes back.
	AuditFailed bool
}

// BatchResult is the outcome: the ids of the messages to report as failed
// (they are not deleted and come back), and the sums.
type BatchResult struct {
	Failed []string
	Stats  BatchStats
}

type outcome int

const (
	outcomeOK outcome = iota
	outcomeRequeued
	outcomeFailed
	outcomeRejected
)

// Process runs the batch. It never returns an error: each message's fate
// is in the result.
func (w *BatchWorker) Process(ctx context.Context, msgs []BatchMessage) BatchResult {
	log := w.Log
	if log == nil {
		log = slog.Default()
	}
	// Group, keeping the order within each group.
	var order []string
	groups := map[string][]int{}
	for i, m := range msgs {
		key := "g:" + m.GroupID
		if m.GroupID == "" {
			key = "m:" + m.ID // no group: each message on its own
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}

	limit := w.Concurrency
	if limit <= 0 {
		limit = DefaultBatchConcurrency
	}
	var (
		mu     sync.Mutex
		res    = BatchResult{Stats: BatchStats{Jobs: len(msgs)}}
		audit  []domain.AuditEntry
		failed = make([]bool, len(msgs))
		sem    = make(chan struct{}, limit)
		wg     sync.WaitGroup
	)
	for _, key := range order {
		idx := groups[key]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for n, i := range idx {
				out, sr := w.one(ctx, log, msgs[i])
				mu.Lock()
				audit = append(audit, sr.Audit...)
				res.Stats.EWSCalls += sr.EWSCalls
				res.Stats.Throttled += sr.Throttled
				res.Stats.Appended += sr.Appended
				switch out {
				case outcomeOK:
					res.Stats.Succeeded++
				case outcomeRequeued:
					res.Stats.Requeued++
				case outcomeFailed:
					res.Stats.Failed++
				case outcomeRejected:
					res.Stats.Rejected++
				}
				stop := out == outcomeRequeued || out == outcomeFailed
				if stop {
					failed[i] = true
					for _, j := range idx[n+1:] {
						failed[j] = true
						res.Stats.Skipped++
					}
				}
				mu.Unlock()
				if stop {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(audit) > 0 {
		err := errors.New("no audit store configured")
		if w.Audit != nil {
			err = w.Audit.AppendAudit(ctx, audit...)
		}
		if err != nil {
			// The jobs' accesses would go unrecorded: have them all run
			// again, the audit write with them.
			log.Error("sync batch: audit append failed; the batch comes back", "entries", len(audit), "error", err.Error())
			for i := range failed {
				failed[i] = true
			}
			res.Stats.AuditFailed = true
		}
	}
	for i, f := range failed {
		if f {
			res.Failed = append(res.Failed, msgs[i].ID)
		}
	}
	return res
}

func (w *BatchWorker) one(ctx context.Context, log *slog.Logger, m BatchMessage) (out outcome, res SyncResult) {
	defer func() {
		// A bug in one job must not fail the other jobs of the batch.
		if p := recover(); p != nil {
			log.Error("sync job panicked", "messageId", m.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out = outcomeFailed
		}
	}()
	// Unknown fields are ignored, so a scheduler deployed ahead of the
	// workers cannot get its jobs dropped.
	var job domain.SyncJob
	if err := json.Unmarshal(m.Body, &job); err != nil {
		// Never valid: dropping it beats redelivering it until the DLQ.
		log.Error("sync job rejected: malformed body", "messageId", m.ID, "error", err.Error())
		return outcomeRejected, SyncResult{}
	}
	res, err := w.Syncer.SyncMailbox(ctx, job)
	attrs := []any{"messageId", m.ID, "tenantId", job.TenantID, "mailbox", res.Mailbox,
		"ewsCalls", res.EWSCalls, "appended", res.Appended, "throttled", res.Throttled}
	var rl *RetryLater
	switch {
	case err == nil:
		log.Info("sync job done", append(attrs, "status", string(res.Status), "mode", string(res.Mode))...)
		return outcomeOK, res
	case errors.As(err, &rl):
		if w.Requeuer != nil {
			if qerr := w.Requeuer.Requeue(ctx, m.ReceiptHandle, rl.After); qerr != nil {
				// It still comes back, after the queue's visibility timeout.
				log.Warn("sync job requeue failed", append(attrs, "error", qerr.Error())...)
			}
		}
		log.Info("sync job requeued", append(attrs, "after", rl.After.String(), "reason", rl.Reason)...)
		return outcomeRequeued, res
	case IsRejectedJob(err):
		log.Error("sync job rejected", append(attrs, "error", err.Error())...)
		return outcomeRejected, res
	default:
		log.Warn("sync job failed; the queue redelivers it", append(attrs, "error", err.Error())...)
		return outcomeFailed, res
	}
}
