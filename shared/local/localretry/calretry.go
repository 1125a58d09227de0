// Package localretry runs the calendar writes of the one-process local run
// as the AWS deployment does, and keeps them as durably: it stands in for
// the calendar-writes SQS queue (SendBatch: the API's requests, each
// written once by app.CalendarWrites.HandleQueued) and for the
// calendar-retry state machine (infra/calendar-retry.asl.json):
// ScheduleRetry starts one "execution" that waits until retryAt, makes the
// retry with HandleRetry and loops while the writer answers retry, exactly
// as the Wait → WriteEvent → Outcome loop does in AWS.
//
// Every accepted request and every scheduled retry is stored (Store, the
// embedded store) before SendBatch or ScheduleRetry returns, and removed
// only after the writer has answered, in the transaction that stores the
// next retry if the writer asked for one. Resume, at start, runs every
// stored one again: due ones wait for their time, overdue ones run at
// once. A stop between an attempt and its removal makes it again after the
// restart; the writer is idempotent (it finds its own event by the
// client's event id), so that costs one Exchange call, not a second event.
package localretry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// Writer makes calendar writes: app.CalendarWrites.
type Writer interface {
	// HandleQueued makes the first attempt of a queued request; an error
	// sends it back to the queue.
	HandleQueued(ctx context.Context, req domain.WriteRequest) (app.AttemptResult, error)
	// HandleRetry makes a scheduled retry and says what follows.
	HandleRetry(ctx context.Context, in domain.CalendarRetry) app.AttemptResult
}

// Store keeps the pending attempts (boltstore.Store). An attempt is a
// domain.CalendarRetry: RetriesDone 0 is a queued request's first attempt.
type Store interface {
	// SaveCalendarRetry stores r unless the same request and attempt
	// number is stored; false: it was.
	SaveCalendarRetry(ctx context.Context, r domain.CalendarRetry) (bool, error)
	// AdvanceCalendarRetry removes done and stores next (if not nil) in
	// one transaction.
	AdvanceCalendarRetry(ctx context.Context, done domain.CalendarRetry, next *domain.CalendarRetry) error
	// PendingCalendarRetries returns the stored attempts, and one error
	// per stored record that does not decode.
	PendingCalendarRetries(ctx context.Context) ([]domain.CalendarRetry, []error, error)
}

// Defaults of the queue face: the deployment's calendar-writes queue
// receives a message 5 times (template.yaml, maxReceiveCount); it waits
// its 15-minute visibility timeout between receives, which locally, with
// no Lambda that could still hold the message, is only a delay.
const (
	DefaultRedeliveryDelay = time.Minute
	DefaultMaxReceives     = 5
)

// Scheduler runs the attempts in goroutines.
type Scheduler struct {
	store       Store
	writer      Writer
	sleep       func(ctx context.Context, until time.Time) error
	now         func() time.Time
	log         *slog.Logger
	redelivery  time.Duration
	maxReceives int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	seen   map[string]bool // executions started, like Step Functions' unique names
	done   []app.AttemptResult
}

// Options configure a Scheduler.
type Options struct {
	// Sleep waits until the given time or until ctx ends, and Now is the
	// time; default: the system clock. Tests pass a fake clock's.
	Sleep func(ctx context.Context, until time.Time) error
	Now   func() time.Time
	Log   *slog.Logger
	// RedeliveryDelay is how long a first attempt that failed on our side
	// (HandleQueued's error) waits before it is made again, up to
	// MaxReceives attempts; then it is logged and dropped, as SQS moves
	// it to the dead-letter queue. Defaults above.
	RedeliveryDelay time.Duration
	MaxReceives     int
}

// New returns a Scheduler keeping its attempts in store and making them
// with w. Resume starts those an earlier run left; Close stops it.
func New(store Store, w Writer, opts Options) *Scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{store: store, writer: w, sleep: opts.Sleep, now: opts.Now, log: opts.Log,
		redelivery: opts.RedeliveryDelay, maxReceives: opts.MaxReceives,
		ctx: ctx, cancel: cancel, seen: map[string]bool{}}
	if s.sleep == nil {
		s.sleep = sleepUntil
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.redelivery <= 0 {
		s.redelivery = DefaultRedeliveryDelay
	}
	if s.maxReceives <= 0 {
		s.maxReceives = DefaultMaxReceives
	}
	return s
}

var (
	_ domain.RetryScheduler = (*Scheduler)(nil)
	_ domain.Queue          = (*Scheduler)(nil)
)

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

// SendBatch accepts write requests, as the calendar-writes queue does:
// each is stored, then its first attempt runs at once. Once it returns nil
// the requests survive a restart.
func (s *Scheduler) SendBatch(ctx context.Context, msgs []domain.QueueMessage) error {
	reqs := make([]domain.CalendarRetry, 0, len(msgs))
	for _, m := range msgs {
		var req domain.WriteRequest
		if err := json.Unmarshal(m.Body, &req); err != nil || req.ID == "" {
			return fmt.Errorf("localretry: a calendar-writes message is not a write request with an id (%v)", err)
		}
		reqs = append(reqs, domain.CalendarRetry{Request: req, RetryAt: s.now().UTC()})
	}
	for _, r := range reqs {
		if _, err := s.store.SaveCalendarRetry(ctx, r); err != nil {
			return fmt.Errorf("localretry: storing write request %s: %w", r.Request.ID, err)
		}
	}
	for _, r := range reqs {
		s.start(r)
	}
	return nil
}

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

// Resume starts every attempt the store holds (those an earlier run of
// the process left), and returns how many. A stored record that does not
// decode is logged, by key, and left in the store; the others run.
func (s *Scheduler) Resume(ctx context.Context) (int, error) {
	pending, damaged, err := s.store.PendingCalendarRetries(ctx)
	if err != nil {
		return 0, fmt.Errorf("localretry: reading the pending calendar writes: %w", err)
	}
	for _, d := range damaged {
		s.log.Error("calendar write skipped: its stored record is damaged", "error", d.Error())
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

// execute waits for each attempt's time and makes it: the queue's
// delivery for a first attempt, the state machine's loop for retries.
func (s *Scheduler) execute(in domain.CalendarRetry) {
	defer s.wg.Done()
	receives := 0
	for {
		if err := s.sleep(s.ctx, in.RetryAt); err != nil {
			s.log.Info("calendar write waits for the next start: the local process is stopping", "requestId", in.Request.ID, "retriesDone", in.RetriesDone, "at", in.RetryAt)
			return
		}
		var res app.AttemptResult
		var next *domain.CalendarRetry
		if in.RetriesDone == 0 {
			// A first attempt. A retry it needs is scheduled by the writer
			// (ScheduleRetry, its own execution) before it answers.
			var err error
			res, err = s.writer.HandleQueued(s.ctx, in.Request)
			if s.ctx.Err() != nil {
				return
			}
			receives++
			if err != nil && receives < s.maxReceives {
				next = &domain.CalendarRetry{Request: in.Request, RetryAt: s.now().UTC().Add(s.redelivery)}
				s.log.Warn("calendar write comes back", "requestId", in.Request.ID, "after", s.redelivery.String(), "receives", receives, "error", err.Error())
			} else if err != nil {
				s.log.Error("calendar write dropped after repeated failures on Mailbridge's side (SQS would dead-letter it)", "requestId", in.Request.ID, "receives", receives, "error", err.Error())
			}
			if err == nil && res.Outcome == app.OutcomeRetry {
				res = app.AttemptResult{} // its retry's execution reports the end
			}
		} else {
			res = s.writer.HandleRetry(s.ctx, in)
			if s.ctx.Err() != nil {
				// Stopped during the attempt: its answer may be the
				// stop's, not Exchange's. The stored attempt is made
				// again at the next start.
				return
			}
			if res.Outcome == app.OutcomeRetry {
				next = &domain.CalendarRetry{Request: res.Request, RetriesDone: res.RetriesDone, RetryAt: res.RetryAt}
			}
		}
		if err := s.store.AdvanceCalendarRetry(s.ctx, in, next); err != nil {
			// The attempt made stays stored, so the next start makes it
			// again (the writer is idempotent).
			s.log.Error("calendar write: recording the attempt failed; it is made again at the next start", "requestId", in.Request.ID, "retriesDone", in.RetriesDone, "error", err.Error())
			return
		}
		if next == nil {
			if res.Outcome != "" {
				s.mu.Lock()
				s.done = append(s.done, res)
				s.mu.Unlock()
			}
			return
		}
		s.mu.Lock()
		s.seen[name(*next)] = true
		s.mu.Unlock()
		in = *next
	}
}

// Finished returns the final answers of the writes that ended, in the
// order they ended (for the local run's status output and for tests).
func (s *Scheduler) Finished() []app.AttemptResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]app.AttemptResult(nil), s.done...)
}

// Close stops waiting executions and waits for running attempts to end.
// Their stored attempts stay for the next Resume.
func (s *Scheduler) Close() {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
}

// Wait blocks until every execution has ended (tests, and draining the
// local run's demo).
func (s *Scheduler) Wait() { s.wg.Wait() }
