// Package localretry is the one-process run's stand-in for the
// calendar-retry state machine (infra/calendar-retry.asl.json):
// ScheduleRetry starts one "execution" that waits until retryAt, makes the
// retry and loops while the writer answers retry, exactly as the Wait →
// WriteEvent → Outcome loop does in AWS.
//
// Pending retries are durable, as Step Functions executions are: each is
// stored (Store, the embedded store) before ScheduleRetry returns, and
// removed only after the writer has made it, in the transaction that
// stores the next one if the writer asked for another. Resume, at start,
// starts every stored retry again: due ones wait for their time, overdue
// ones run at once. A stop between a retry and its removal makes it again
// after the restart; the writer is idempotent (it finds its own event by
// the client's event id), so that costs one Exchange call, not a second
// event.
package localretry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// RetryFunc makes one retry; app.CalendarWrites.HandleRetry.
type RetryFunc func(ctx context.Context, in domain.CalendarRetry) app.AttemptResult

// Store keeps the pending retries (boltstore.Store).
type Store interface {
	// SaveCalendarRetry stores r unless the same request and retry
	// number is stored; false: it was.
	SaveCalendarRetry(ctx context.Context, r domain.CalendarRetry) (bool, error)
	// AdvanceCalendarRetry removes done and stores next (if not nil) in
	// one transaction.
	AdvanceCalendarRetry(ctx context.Context, done domain.CalendarRetry, next *domain.CalendarRetry) error
	// PendingCalendarRetries returns the stored retries, and one error
	// per stored record that does not decode.
	PendingCalendarRetries(ctx context.Context) ([]domain.CalendarRetry, []error, error)
}

// Scheduler runs retry executions in goroutines.
type Scheduler struct {
	store Store
	retry RetryFunc
	sleep func(ctx context.Context, until time.Time) error
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	seen   map[string]bool // executions started, like Step Functions' unique names
	done   []app.AttemptResult
}

// Options configure a Scheduler.
type Options struct {
	// Sleep waits until the given time or until ctx ends; default: a real
	// timer. Tests pass one that waits on a fake clock.
	Sleep func(ctx context.Context, until time.Time) error
	Log   *slog.Logger
}

// New returns a Scheduler keeping its retries in store and making them
// with retry. Resume starts the retries an earlier run left; Close stops it.
func New(store Store, retry RetryFunc, opts Options) *Scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{store: store, retry: retry, sleep: opts.Sleep, log: opts.Log, ctx: ctx, cancel: cancel, seen: map[string]bool{}}
	if s.sleep == nil {
		s.sleep = sleepUntil
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

var _ domain.RetryScheduler = (*Scheduler)(nil)

func sleepUntil(ctx context.Context, until time.Time) error {
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func name(r domain.CalendarRetry) string { return fmt.Sprintf("%s/%d", r.Request.ID, r.RetriesDone) }

// ScheduleRetry stores r and starts its execution, once per request and
// retry number (a second call for the same pair is a redelivery and is
// ignored). Once it returns nil the retry survives a restart.
func (s *Scheduler) ScheduleRetry(ctx context.Context, r domain.CalendarRetry) error {
	if r.Request.ID == "" {
		return errors.New("localretry: the request has no id")
	}
	if r.RetriesDone < 1 || r.RetryAt.IsZero() {
		return fmt.Errorf("localretry: retry %d at %v is not a scheduled retry", r.RetriesDone, r.RetryAt)
	}
	if _, err := s.store.SaveCalendarRetry(ctx, r); err != nil {
		return fmt.Errorf("localretry: storing retry %d of request %s: %w", r.RetriesDone, r.Request.ID, err)
	}
	s.start(r)
	return nil
}

// Resume starts an execution for every retry the store holds (those an
// earlier run of the process left), and returns how many. A stored record
// that does not decode is logged, by key, and left for the operator; the
// others run.
func (s *Scheduler) Resume(ctx context.Context) (int, error) {
	pending, damaged, err := s.store.PendingCalendarRetries(ctx)
	if err != nil {
		return 0, fmt.Errorf("localretry: reading the pending retries: %w", err)
	}
	for _, d := range damaged {
		s.log.Error("calendar retry skipped: its stored record is damaged", "error", d.Error())
	}
	n := 0
	for _, r := range pending {
		if s.start(r) {
			n++
		}
	}
	return n, nil
}

// start runs r's execution unless one of its name has started.
func (s *Scheduler) start(r domain.CalendarRetry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[name(r)] || s.ctx.Err() != nil {
		return false
	}
	s.seen[name(r)] = true
	s.wg.Add(1)
	go s.execute(r)
	return true
}

// execute is the state machine's loop.
func (s *Scheduler) execute(in domain.CalendarRetry) {
	defer s.wg.Done()
	for {
		if err := s.sleep(s.ctx, in.RetryAt); err != nil {
			s.log.Info("calendar retry waits for the next start: the local process is stopping", "requestId", in.Request.ID, "retriesDone", in.RetriesDone, "retryAt", in.RetryAt)
			return
		}
		res := s.retry(s.ctx, in)
		if s.ctx.Err() != nil {
			// Stopped during the attempt: its answer may be the stop's,
			// not Exchange's. The stored retry is made again at the
			// next start.
			return
		}
		var next *domain.CalendarRetry
		if res.Outcome == app.OutcomeRetry {
			next = &domain.CalendarRetry{Request: res.Request, RetriesDone: res.RetriesDone, RetryAt: res.RetryAt}
		}
		if err := s.store.AdvanceCalendarRetry(s.ctx, in, next); err != nil {
			// The retry made stays stored, so the next start makes it
			// again (the writer is idempotent).
			s.log.Error("calendar retry: recording the attempt failed; it is made again at the next start", "requestId", in.Request.ID, "retriesDone", in.RetriesDone, "error", err.Error())
			return
		}
		if next == nil {
			s.mu.Lock()
			s.done = append(s.done, res)
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		s.seen[name(*next)] = true
		s.mu.Unlock()
		in = *next
	}
}

// Finished returns the final answers of the executions that ended, in the
// order they ended (for the local run's status output and for tests).
func (s *Scheduler) Finished() []app.AttemptResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]app.AttemptResult(nil), s.done...)
}

// Close stops waiting executions and waits for running retries to end.
// Their stored retries stay for the next Resume.
func (s *Scheduler) Close() {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
}

// Wait blocks until every execution has ended (tests, and draining the
// local run's demo).
func (s *Scheduler) Wait() { s.wg.Wait() }
