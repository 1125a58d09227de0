// Package calretry is the one-process run's stand-in for the calendar-retry
// state machine (infra/calendar-retry.asl.json): ScheduleRetry starts one
// "execution" that waits until retryAt, makes the retry and loops while the
// writer answers retry, exactly as the Wait → WriteEvent → Outcome loop
// does in AWS. Pending retries live in memory: a restart of the local
// process drops them (the AWS deployment keeps them in Step Functions).
package localretry

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// RetryFunc makes one retry; app.CalendarWrites.HandleRetry.
type RetryFunc func(ctx context.Context, in domain.CalendarRetry) app.AttemptResult

// Scheduler runs retry executions in goroutines.
type Scheduler struct {
	retry RetryFunc
	sleep func(ctx context.Context, until time.Time) error
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	seen   map[string]bool // execution names started, like Step Functions' unique names
	done   []app.AttemptResult
}

// Options configure a Scheduler.
type Options struct {
	// Sleep waits until the given time or until ctx ends; default: a real
	// timer. Tests pass one that moves a fake clock.
	Sleep func(ctx context.Context, until time.Time) error
	Log   *slog.Logger
}

// New returns a Scheduler making retries with retry. Close stops it.
func New(retry RetryFunc, opts Options) *Scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{retry: retry, sleep: opts.Sleep, log: opts.Log, ctx: ctx, cancel: cancel, seen: map[string]bool{}}
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

// ScheduleRetry starts the execution for r, once per request and retry
// number (a second call for the same pair is a redelivery and is ignored).
func (s *Scheduler) ScheduleRetry(_ context.Context, r domain.CalendarRetry) error {
	name := fmt.Sprintf("%s/%d", r.Request.ID, r.RetriesDone)
	s.mu.Lock()
	if s.seen[name] {
		s.mu.Unlock()
		return nil
	}
	s.seen[name] = true
	s.mu.Unlock()
	s.wg.Add(1)
	go s.execute(r)
	return nil
}

// execute is the state machine's loop.
func (s *Scheduler) execute(in domain.CalendarRetry) {
	defer s.wg.Done()
	for {
		if err := s.sleep(s.ctx, in.RetryAt); err != nil {
			s.log.Info("calendar retry dropped: the local process is stopping", "requestId", in.Request.ID, "retriesDone", in.RetriesDone)
			return
		}
		res := s.retry(s.ctx, in)
		if res.Outcome != app.OutcomeRetry {
			s.mu.Lock()
			s.done = append(s.done, res)
			s.mu.Unlock()
			return
		}
		in = domain.CalendarRetry{Request: res.Request, RetriesDone: res.RetriesDone, RetryAt: res.RetryAt}
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
func (s *Scheduler) Close() {
	s.cancel()
	s.wg.Wait()
}

// Wait blocks until every execution has ended (tests, and draining the
// local run's demo).
func (s *Scheduler) Wait() { s.wg.Wait() }
