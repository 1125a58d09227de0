// syncbatch.go owns the sync worker's side of the queue: a batch of
// messages, each naming one or more mailboxes of one tenant, is run with
// bounded concurrency (FIFO groups in order, serial jobs one mailbox at a
// time), and each message is acknowledged or handed back with the delay
// its mailboxes' sync outcomes ask for.

package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
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
	// Receives is how often the queue has delivered the message, this time
	// included (SQS ApproximateReceiveCount); above 1 the job may have
	// finished some of its mailboxes before (JobProgressStore).
	Receives int
}

// Requeuer hands a received message back to its queue to be delivered
// again after a delay (SQS: ChangeMessageVisibility). The sqsqueue adapter
// implements it.
type Requeuer interface {
	Requeue(ctx context.Context, receiptHandle string, after time.Duration) error
}

// MailboxSyncer syncs one mailbox from an optional snapshot read
// beforehand; *Syncer implements it.
type MailboxSyncer interface {
	SyncMailboxWith(ctx context.Context, job domain.SyncJob, snap *domain.SyncSnapshot) (SyncResult, error)
}

// Worker defaults.
const (
	// DefaultBatchConcurrency is how many mailboxes of one batch sync at
	// once: a Lambda is billed by duration and a sync mostly waits on
	// Exchange, so a batch of 10 messages of 10 mailboxes runs all 100
	// side by side and the invocation lasts about as long as one sync.
	DefaultBatchConcurrency = 100
	// JobProgressTTL is how long a returning job's finished mailboxes are
	// remembered: longer than a job can keep coming back (50 receives of
	// at most MaxThrottleDelay).
	JobProgressTTL = 24 * time.Hour
)

// BatchWorker runs a batch of sync-queue messages (domain.SyncJob, each
// naming one or more mailboxes of one tenant) and says which messages must
// come back.
//
//   - Messages of one FIFO group run one after the other, in order (the
//     group is what bounds a delegate tenant's concurrency); once one of
//     them must come back, the rest of its group are returned unrun so the
//     order holds.
//   - A job's mailboxes sync side by side, or one after the other when the
//     job is Serial (they share the service account's budget); a serial
//     job stops at its first mailbox that must come back.
//   - With Snapshots set, a job's mailbox records and checkpoints are read
//     in one call before its mailboxes sync.
//   - A job comes back (RetryLater: requeued with the largest delay its
//     mailboxes asked for; other errors: redelivered by the queue) when
//     any of its mailboxes must. With Progress set, the mailboxes it did
//     finish are recorded first, and a redelivered job skips them, so a
//     throttled mailbox does not make its neighbours sync again.
//   - With Audit set, the mailboxes' audit entries (SyncResult.Audit, from
//     a Syncer with DeferAudit) are written in one AppendAudit call once
//     the batch has run, before its messages are acknowledged: a store
//     that packs them pays one write per batch instead of one per sync. If
//     that write fails, every message of the batch comes back unmarked
//     (syncs are idempotent), so no access goes unaudited.
type BatchWorker struct {
	Syncer      MailboxSyncer
	Requeuer    Requeuer
	Audit       domain.AuditStore         // writes the batch's audit entries; see above
	Progress    domain.JobProgressStore   // remembers a returning job's finished mailboxes; nil: they sync again
	Snapshots   domain.SyncSnapshotReader // reads a job's mailboxes at once; nil: each sync reads its own
	Concurrency int                       // mailbox syncs at once; default DefaultBatchConcurrency
	Log         *slog.Logger

	once sync.Once
	sem  limit // bounds the mailbox syncs of all Process calls
}

// BatchStats sums a batch, for metrics. Jobs counts messages; the rest
// count mailbox syncs.
type BatchStats struct {
	Jobs        int // messages received
	Mailboxes   int // mailbox syncs run
	Succeeded   int
	Requeued    int // throttled or out of time: back after a delay
	Failed      int // errors: redelivered by the queue
	Rejected    int // malformed or refused: dropped after logging
	Skipped     int // messages not run: an earlier message of their group came back
	AlreadyDone int // mailboxes a redelivered job had finished before
	EWSCalls    int
	Throttled   int
	Appended    int
	// AuditFailed: the batch's audit entries could not be written, so
	// every message comes back.
	AuditFailed bool
}

// BatchResult is the outcome: the ids of the messages to report as failed
// (they are not deleted and come back), and the sums.
type BatchResult struct {
	Failed []string
	Stats  BatchStats
	// Runs holds what each message came to, in the batch's order; nil for
	// a message not run (an earlier message of its group came back). The
	// local run reports progress from it.
	Runs []*JobRun
}

// SyncOutcome is how one mailbox sync of a job ended.
type SyncOutcome int

// Outcomes.
const (
	OutcomeOK       SyncOutcome = iota // synced
	OutcomeRequeued                    // throttled or out of time: run again after a delay
	OutcomeFailed                      // an error: run again when the queue redelivers
	OutcomeRejected                    // cannot succeed (not the tenant's mailbox, ...): dropped
)

// MailboxRun is one mailbox sync of a job.
type MailboxRun struct {
	Mailbox string
	Outcome SyncOutcome
	Result  SyncResult
	Err     error
}

// Done reports whether the mailbox needs no further run of this job
// (synced, or refused for good).
func (r MailboxRun) Done() bool { return r.Outcome == OutcomeOK || r.Outcome == OutcomeRejected }

// JobRun is what running one message came to.
type JobRun struct {
	Job      domain.SyncJob
	Rejected bool         // the message itself is malformed: drop it
	Runs     []MailboxRun // the mailboxes synced, in the job's order
	// AlreadyDone lists mailboxes skipped because an earlier delivery
	// finished them.
	AlreadyDone []string
	// ComeBack: some mailbox must run again; After is the delay the
	// mailboxes asked for (0: none asked, the queue's own redelivery).
	ComeBack bool
	After    time.Duration
	Reason   string
}

// Finished lists the mailboxes this run finished.
func (j JobRun) Finished() []string {
	var out []string
	for _, r := range j.Runs {
		if r.Done() {
			out = append(out, r.Mailbox)
		}
	}
	return out
}

// Audit collects the runs' deferred audit entries.
func (j JobRun) Audit() []domain.AuditEntry {
	var out []domain.AuditEntry
	for _, r := range j.Runs {
		out = append(out, r.Result.Audit...)
	}
	return out
}

func (w *BatchWorker) logger() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

// Process runs the batch. It never returns an error: each message's fate
// is in the result.
func (w *BatchWorker) Process(ctx context.Context, msgs []BatchMessage) BatchResult {
	log := w.logger()
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

	// Each group's goroutine writes only its own messages' slots; a
	// message left nil did not run (an earlier one of its group came back).
	runs := make([]*JobRun, len(msgs))
	var wg sync.WaitGroup
	for _, key := range order {
		wg.Go(func() {
			for _, i := range groups[key] {
				jr := w.runJob(ctx, log, msgs[i])
				runs[i] = &jr
				if jr.ComeBack {
					return
				}
			}
		})
	}
	wg.Wait()

	res := BatchResult{Stats: BatchStats{Jobs: len(msgs)}, Runs: runs}
	var audit []domain.AuditEntry
	for _, jr := range runs {
		if jr == nil {
			res.Stats.Skipped++
			continue
		}
		audit = append(audit, jr.Audit()...)
		res.Stats.add(*jr)
	}
	if len(audit) > 0 {
		err := errors.New("no audit store configured")
		if w.Audit != nil {
			err = w.Audit.AppendAudit(ctx, audit...)
		}
		if err != nil {
			// The syncs' accesses would go unrecorded: have them all run
			// again, the audit write with them.
			log.Error("sync batch: audit append failed; the batch comes back", "entries", len(audit), "error", err.Error())
			res.Stats.AuditFailed = true
			for _, m := range msgs {
				res.Failed = append(res.Failed, m.ID)
			}
			return res
		}
	}
	for i, m := range msgs {
		switch jr := runs[i]; {
		case jr == nil: // not run: comes back behind its group
			res.Failed = append(res.Failed, m.ID)
		case jr.ComeBack:
			w.comeBack(ctx, log, m, *jr)
			res.Failed = append(res.Failed, m.ID)
		}
	}
	return res
}

// comeBack prepares a returning message: records the mailboxes it
// finished, then hands it back with its delay. Both are best effort: an
// unrecorded mailbox syncs again (idempotent), an unrequeued message comes
// back after the queue's visibility timeout.
func (w *BatchWorker) comeBack(ctx context.Context, log *slog.Logger, m BatchMessage, jr JobRun) {
	attrs := []any{"messageId", m.ID, "tenantId", jr.Job.TenantID, "reason", jr.Reason}
	w.recordFinished(ctx, jr)
	if jr.After > 0 && w.Requeuer != nil {
		if err := w.Requeuer.Requeue(ctx, m.ReceiptHandle, jr.After); err != nil {
			log.Warn("sync job requeue failed; it comes back after the visibility timeout", append(attrs, "error", err.Error())...)
		}
	}
	log.Info("sync job comes back", append(attrs, "after", jr.After.String())...)
}

// recordFinished remembers the mailboxes a job that comes back finished,
// so its next delivery skips them; best effort (without Progress, or on
// failure, they sync again, which is idempotent).
func (w *BatchWorker) recordFinished(ctx context.Context, jr JobRun) {
	done := jr.Finished()
	if w.Progress == nil || jr.Job.ID == "" || len(done) == 0 || !jr.ComeBack {
		return
	}
	if err := w.Progress.MarkJobDone(ctx, jr.Job.TenantID, jr.Job.ID, done, JobProgressTTL); err != nil {
		w.logger().Warn("sync job: recording finished mailboxes failed; they sync again", "tenantId", jr.Job.TenantID, "jobId", jr.Job.ID, "error", err.Error())
	}
}

func (s *BatchStats) add(jr JobRun) {
	s.AlreadyDone += len(jr.AlreadyDone)
	if jr.Rejected {
		s.Rejected++
		return
	}
	for _, r := range jr.Runs {
		s.Mailboxes++
		s.EWSCalls += r.Result.EWSCalls
		s.Throttled += r.Result.Throttled
		s.Appended += r.Result.Appended
		switch r.Outcome {
		case OutcomeOK:
			s.Succeeded++
		case OutcomeRequeued:
			s.Requeued++
		case OutcomeFailed:
			s.Failed++
		case OutcomeRejected:
			s.Rejected++
		}
	}
}

// limit bounds the mailbox syncs running at once.
type limit chan struct{}

func (w *BatchWorker) limit() limit {
	w.once.Do(func() {
		n := w.Concurrency
		if n <= 0 {
			n = DefaultBatchConcurrency
		}
		w.sem = make(limit, n)
	})
	return w.sem
}

func (w *BatchWorker) runJob(ctx context.Context, log *slog.Logger, m BatchMessage) JobRun {
	var jr JobRun
	// Unknown fields are ignored, so a scheduler deployed ahead of the
	// workers cannot get its jobs dropped.
	if err := json.Unmarshal(m.Body, &jr.Job); err != nil {
		// Never valid: dropping it beats redelivering it until the DLQ.
		log.Error("sync job rejected: malformed body", "messageId", m.ID, "error", err.Error())
		jr.Rejected = true
		return jr
	}
	job := jr.Job
	targets := job.Targets()
	if len(targets) == 0 || len(targets) > domain.MaxJobMailboxes {
		log.Error("sync job rejected: it must name 1 to "+strconv.Itoa(domain.MaxJobMailboxes)+" mailboxes", "messageId", m.ID, "tenantId", job.TenantID, "mailboxes", len(targets))
		jr.Rejected = true
		return jr
	}
	if m.Receives > 1 && w.Progress != nil && job.ID != "" {
		done, err := w.Progress.JobDone(ctx, job.TenantID, job.ID)
		if err != nil {
			log.Warn("sync job: reading finished mailboxes failed; syncing them again", "messageId", m.ID, "tenantId", job.TenantID, "error", err.Error())
		}
		var rest []string
		for _, t := range targets {
			if slices.Contains(done, t) {
				jr.AlreadyDone = append(jr.AlreadyDone, t)
			} else {
				rest = append(rest, t)
			}
		}
		targets = rest
	}
	snaps := w.snapshots(ctx, log, job.TenantID, targets)

	jr.Runs = make([]MailboxRun, len(targets))
	sem := w.limit()
	runOne := func(i int) {
		sem <- struct{}{}
		defer func() { <-sem }()
		one := job
		one.Mailbox, one.Mailboxes, one.Serial = targets[i], nil, false
		jr.Runs[i] = w.one(ctx, log, m.ID, one, snaps[targets[i]])
	}
	ran := len(targets)
	if job.Serial {
		for i := range targets {
			runOne(i)
			if !jr.Runs[i].Done() {
				ran = i + 1 // the rest wait for the job's next delivery
				break
			}
		}
	} else {
		var wg sync.WaitGroup
		for i := range targets {
			wg.Go(func() { runOne(i) })
		}
		wg.Wait()
	}
	jr.Runs = jr.Runs[:ran]
	jr.settle()
	return jr
}

// settle decides whether the job comes back, from its mailboxes' outcomes
// (each decided by its sync and read back by outcomeOf): it does when any
// mailbox must run again, after the largest delay they asked for.
func (jr *JobRun) settle() {
	for _, r := range jr.Runs {
		if r.Done() {
			continue
		}
		_, after, reason := outcomeOf(r.Err)
		jr.ComeBack = true
		switch r.Outcome {
		case OutcomeRequeued:
			if after > jr.After {
				jr.After, jr.Reason = after, reason
			}
		case OutcomeFailed:
			if jr.Reason == "" {
				jr.Reason = reason
			}
		}
	}
}

// snapshots reads the targets' records and checkpoints in one call when
// the store can; on failure each sync reads its own.
func (w *BatchWorker) snapshots(ctx context.Context, log *slog.Logger, tenantID string, targets []string) map[string]*domain.SyncSnapshot {
	out := map[string]*domain.SyncSnapshot{}
	if w.Snapshots == nil || len(targets) == 0 || ValidateTenantID(tenantID) != nil {
		return out
	}
	var addrs []string
	for _, t := range targets {
		if a, err := NormalizeAddress("mailbox", t); err == nil && a == t {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return out
	}
	got, err := w.Snapshots.GetSyncSnapshots(ctx, tenantID, addrs)
	if err != nil {
		log.Warn("sync job: reading mailbox snapshots failed; each mailbox reads its own", "tenantId", tenantID, "error", err.Error())
		return out
	}
	for _, a := range addrs {
		if s, ok := got[a]; ok {
			out[a] = &s
		}
	}
	return out
}

func (w *BatchWorker) one(ctx context.Context, log *slog.Logger, msgID string, job domain.SyncJob, snap *domain.SyncSnapshot) (run MailboxRun) {
	run.Mailbox = job.Mailbox
	defer func() {
		// A bug in one sync must not fail the other syncs of the batch.
		if p := recover(); p != nil {
			log.Error("sync job panicked", "messageId", msgID, "mailbox", job.Mailbox, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			run.Outcome, run.Err = OutcomeFailed, fmt.Errorf("panic: %v", p)
		}
	}()
	res, err := w.Syncer.SyncMailboxWith(ctx, job, snap)
	run.Result, run.Err = res, err
	attrs := []any{"messageId", msgID, "tenantId", job.TenantID, "mailbox", res.Mailbox,
		"ewsCalls", res.EWSCalls, "appended", res.Appended, "throttled", res.Throttled}
	var after time.Duration
	var reason string
	run.Outcome, after, reason = outcomeOf(err)
	switch run.Outcome {
	case OutcomeOK:
		// Debug: one line per mailbox per interval is the largest part of
		// a log bill; the audit trail and the batch line keep the facts.
		log.Debug("sync done", append(attrs, "status", string(res.Status), "mode", string(res.Mode))...)
	case OutcomeRequeued:
		log.Info("sync requeued", append(attrs, "after", after.String(), "reason", reason)...)
	case OutcomeRejected:
		log.Error("sync rejected", append(attrs, "error", err.Error())...)
	default:
		log.Warn("sync failed; the job comes back", append(attrs, "error", err.Error())...)
	}
	return run
}
