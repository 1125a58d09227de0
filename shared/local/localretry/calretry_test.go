package localretry_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/local/localretry"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// guard bounds every wait for a goroutine, so a bug fails the test instead
// of hanging it; no assertion depends on it.
const guard = 30 * time.Second

// fakeClock is the executions' clock: Sleep blocks until Advance moves the
// clock to the time asked for.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiting map[chan struct{}]time.Time
	changed chan struct{} // a sleeper came or went
}

func newClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, waiting: map[chan struct{}]time.Time{}, changed: make(chan struct{}, 1000)}
}

func (c *fakeClock) Sleep(ctx context.Context, until time.Time) error {
	c.mu.Lock()
	if !until.After(c.now) {
		c.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	c.waiting[ch] = until
	c.mu.Unlock()
	c.changed <- struct{}{}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiting, ch)
		c.mu.Unlock()
		c.changed <- struct{}{}
		return ctx.Err()
	}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock to now and wakes the sleepers it reached.
func (c *fakeClock) Advance(t *testing.T, now time.Time) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
	for ch, until := range c.waiting {
		if !until.After(now) {
			delete(c.waiting, ch)
			close(ch)
		}
	}
}

// Sleepers waits until exactly the given wake-up times are waited for.
func (c *fakeClock) Sleepers(t *testing.T, want ...time.Time) {
	t.Helper()
	slices.SortFunc(want, time.Time.Compare)
	timeout := time.After(guard)
	for {
		c.mu.Lock()
		var got []time.Time
		for _, u := range c.waiting {
			got = append(got, u)
		}
		c.mu.Unlock()
		slices.SortFunc(got, time.Time.Compare)
		if slices.EqualFunc(got, want, time.Time.Equal) {
			return
		}
		select {
		case <-c.changed:
		case <-timeout:
			t.Fatalf("sleepers until %v, want %v", got, want)
		}
	}
}

// writer answers each retry with the next of its answers (written when it
// has none left) and records what it was asked. First attempts (recorded
// as retry 0) answer queued, or else written.
type writer struct {
	mu      sync.Mutex
	answers []app.AttemptResult
	calls   []domain.CalendarRetry
	fired   chan domain.CalendarRetry
	queued  func(ctx context.Context, req domain.WriteRequest) (app.AttemptResult, error)
}

func newWriter(answers ...app.AttemptResult) *writer {
	return &writer{answers: answers, fired: make(chan domain.CalendarRetry, 100)}
}

func (w *writer) HandleQueued(ctx context.Context, req domain.WriteRequest) (app.AttemptResult, error) {
	w.mu.Lock()
	w.calls = append(w.calls, domain.CalendarRetry{Request: req})
	w.mu.Unlock()
	w.fired <- domain.CalendarRetry{Request: req}
	if w.queued != nil {
		return w.queued(ctx, req)
	}
	return app.AttemptResult{Outcome: app.OutcomeWritten, Request: req}, nil
}

func (w *writer) HandleRetry(ctx context.Context, in domain.CalendarRetry) app.AttemptResult {
	return w.retry(ctx, in)
}

// blockingRetry is a Writer whose retries wait for the process to stop.
type blockingRetry struct {
	*writer
	retryFn func(ctx context.Context, in domain.CalendarRetry) app.AttemptResult
}

func (b blockingRetry) HandleRetry(ctx context.Context, in domain.CalendarRetry) app.AttemptResult {
	return b.retryFn(ctx, in)
}

func (w *writer) retry(_ context.Context, in domain.CalendarRetry) app.AttemptResult {
	w.mu.Lock()
	w.calls = append(w.calls, in)
	a := app.AttemptResult{Outcome: app.OutcomeWritten}
	if len(w.answers) > 0 {
		a, w.answers = w.answers[0], w.answers[1:]
	}
	w.mu.Unlock()
	a.Request = in.Request
	w.fired <- in
	return a
}

// next waits for the next retry the writer is asked to make.
func (w *writer) next(t *testing.T) domain.CalendarRetry {
	t.Helper()
	select {
	case r := <-w.fired:
		return r
	case <-time.After(guard):
		t.Fatal("no retry was made")
		return domain.CalendarRetry{}
	}
}

func (w *writer) count(id string, n int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := 0
	for _, r := range w.calls {
		if r.Request.ID == id && r.RetriesDone == n {
			c++
		}
	}
	return c
}

func openStore(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func retryOf(id string, n int, at time.Time) domain.CalendarRetry {
	return domain.CalendarRetry{Request: domain.WriteRequest{ID: id, TenantID: "acme", Mailbox: "room1@contoso.com"}, RetriesDone: n, RetryAt: at}
}

func pending(t *testing.T, s *boltstore.Store) []domain.CalendarRetry {
	t.Helper()
	got, damaged, err := s.PendingCalendarRetries(context.Background())
	if err != nil || len(damaged) > 0 {
		t.Fatalf("pending retries: %v, damaged %v", err, damaged)
	}
	return got
}

// waitPending waits until the stored attempts are as ok wants: an
// execution records its attempt right after the writer answers.
func waitPending(t *testing.T, s *boltstore.Store, ok func([]domain.CalendarRetry) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		p := pending(t, s)
		if ok(p) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored %+v, want %s", p, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRetriesSurviveARestart schedules three retries, stops the process
// before any is due, and starts it again: each retry is made once, at the
// time it was scheduled for (the one computed from the event's start
// included), or at once when the restart comes after it; a third start
// makes none again.
func TestRetriesSurviveARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mailbridge.db")
	// The retry of a write that failed at t0 for an event starting 30 h
	// later, by the calendar retry rule: wait half the time left.
	start := t0.Add(30 * time.Hour)
	d := app.NextCalendarRetry(t0, start, 0, 0)
	if !d.Retry {
		t.Fatalf("no retry for an event 30 h ahead: %+v", d)
	}
	retries := []domain.CalendarRetry{
		retryOf("req-overdue", 1, t0.Add(time.Hour)),
		retryOf("req-later", 2, t0.Add(2*time.Hour)),
		retryOf("req-from-start", 1, d.At),
	}

	// First run: schedule, then stop before anything is due.
	store := openStore(t, path)
	clock := newClock(t0)
	w := newWriter()
	s := localretry.New(store, w, localretry.Options{Sleep: clock.Sleep})
	for _, r := range retries {
		if err := s.ScheduleRetry(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	clock.Sleepers(t, retries[0].RetryAt, retries[1].RetryAt, retries[2].RetryAt)
	s.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if len(w.calls) != 0 {
		t.Fatalf("retries made before they were due: %+v", w.calls)
	}

	// Second run, 90 minutes later: the first retry is overdue.
	store = openStore(t, path)
	clock = newClock(t0.Add(90 * time.Minute))
	w = newWriter()
	s = localretry.New(store, w, localretry.Options{Sleep: clock.Sleep})
	n, err := s.Resume(ctx)
	if err != nil || n != 3 {
		t.Fatalf("resumed %d retries (%v), want 3", n, err)
	}
	if got := w.next(t); got.Request.ID != "req-overdue" {
		t.Fatalf("first retry made: %+v, want the overdue one at once", got)
	}
	// The others keep their due times, the one from the event's start
	// included.
	clock.Sleepers(t, retries[1].RetryAt, retries[2].RetryAt)
	clock.Advance(t, retries[1].RetryAt.Add(-time.Second))
	clock.Sleepers(t, retries[1].RetryAt, retries[2].RetryAt)
	clock.Advance(t, retries[1].RetryAt)
	if got := w.next(t); got.Request.ID != "req-later" || got.RetriesDone != 2 {
		t.Fatalf("second retry made: %+v", got)
	}
	clock.Sleepers(t, retries[2].RetryAt)
	clock.Advance(t, retries[2].RetryAt)
	if got := w.next(t); got.Request.ID != "req-from-start" || !got.RetryAt.Equal(d.At) {
		t.Fatalf("third retry made: %+v, want req-from-start at %v", got, d.At)
	}
	s.Wait()
	for _, r := range retries {
		if c := w.count(r.Request.ID, r.RetriesDone); c != 1 {
			t.Errorf("%s retry %d made %d times, want once", r.Request.ID, r.RetriesDone, c)
		}
	}
	if p := pending(t, store); len(p) != 0 {
		t.Errorf("retries still stored after they were made: %+v", p)
	}
	s.Close()
	store.Close()

	// Third run: nothing left to make.
	store = openStore(t, path)
	defer store.Close()
	s = localretry.New(store, newWriter(), localretry.Options{Sleep: newClock(t0.Add(48 * time.Hour)).Sleep})
	defer s.Close()
	if n, err := s.Resume(ctx); err != nil || n != 0 {
		t.Errorf("a third start resumed %d retries (%v), want none", n, err)
	}
}

// TestStopDuringTheWriteMakesTheRetryAgain: a retry is removed only after
// the writer has answered; a stop while the writer works leaves it stored,
// and the next start makes it (once).
func TestStopDuringTheWriteMakesTheRetryAgain(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mailbridge.db")
	store := openStore(t, path)
	inWriter := make(chan struct{})
	blocked := func(ctx context.Context, in domain.CalendarRetry) app.AttemptResult {
		close(inWriter)
		<-ctx.Done() // the process stops while Exchange has not answered
		return app.AttemptResult{Outcome: app.OutcomeRetry, Request: in.Request, RetriesDone: 2, RetryAt: t0.Add(9 * time.Hour)}
	}
	s := localretry.New(store, blockingRetry{newWriter(), blocked}, localretry.Options{Sleep: newClock(t0).Sleep})
	r := retryOf("req-1", 1, t0) // due now
	if err := s.ScheduleRetry(ctx, r); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inWriter:
	case <-time.After(guard):
		t.Fatal("the retry was not made")
	}
	s.Close()
	if p := pending(t, store); len(p) != 1 || p[0].RetriesDone != 1 {
		t.Fatalf("after a stop during the write, stored: %+v, want retry 1 still", p)
	}
	store.Close()

	store = openStore(t, path)
	defer store.Close()
	w := newWriter()
	s = localretry.New(store, w, localretry.Options{Sleep: newClock(t0.Add(time.Minute)).Sleep})
	if _, err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	s.Close()
	if c := w.count("req-1", 1); c != 1 {
		t.Errorf("retry made %d times after the restart, want once", c)
	}
	if p := pending(t, store); len(p) != 0 {
		t.Errorf("still stored: %+v", p)
	}
}

// TestNextRetryReplacesTheOneMade: when the writer asks for another retry,
// the store holds the next one (not the one made) from then on, so a
// restart makes the next at its time.
func TestNextRetryReplacesTheOneMade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mailbridge.db")
	store := openStore(t, path)
	clock := newClock(t0)
	nextAt := t0.Add(5 * time.Hour)
	w := newWriter(app.AttemptResult{Outcome: app.OutcomeRetry, RetriesDone: 2, RetryAt: nextAt})
	s := localretry.New(store, w, localretry.Options{Sleep: clock.Sleep})
	if err := s.ScheduleRetry(ctx, retryOf("req-1", 1, t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	clock.Sleepers(t, t0.Add(time.Hour))
	clock.Advance(t, t0.Add(time.Hour))
	w.next(t)
	clock.Sleepers(t, nextAt)
	s.Close()
	if p := pending(t, store); len(p) != 1 || p[0].RetriesDone != 2 || !p[0].RetryAt.Equal(nextAt) {
		t.Fatalf("stored after the first retry: %+v, want only retry 2 at %v", p, nextAt)
	}
	store.Close()

	store = openStore(t, path)
	defer store.Close()
	clock = newClock(t0.Add(2 * time.Hour))
	w = newWriter()
	s = localretry.New(store, w, localretry.Options{Sleep: clock.Sleep})
	defer s.Close()
	if _, err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Sleepers(t, nextAt)
	clock.Advance(t, nextAt)
	if got := w.next(t); got.RetriesDone != 2 || w.count("req-1", 1) != 0 {
		t.Fatalf("after the restart made %+v (retry 1 made %d times), want only retry 2", got, w.count("req-1", 1))
	}
	s.Wait()
	if f := s.Finished(); len(f) != 1 || f[0].Outcome != app.OutcomeWritten {
		t.Errorf("finished %+v, want one written", f)
	}
}

func TestExecutionLoopsLikeTheStateMachine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []app.AttemptResult
		final   app.Outcome
	}{
		{"written on the third retry", []app.AttemptResult{
			{Outcome: app.OutcomeRetry, RetriesDone: 2, RetryAt: t0.Add(2 * time.Hour)},
			{Outcome: app.OutcomeRetry, RetriesDone: 3, RetryAt: t0.Add(3 * time.Hour)},
			{Outcome: app.OutcomeWritten}}, app.OutcomeWritten},
		{"gave up on the first retry", []app.AttemptResult{{Outcome: app.OutcomeGaveUp, Reason: "out_of_scope"}}, app.OutcomeGaveUp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := openStore(t, filepath.Join(t.TempDir(), "mailbridge.db"))
			defer store.Close()
			w := newWriter(tc.answers...)
			clock := newClock(t0.Add(24 * time.Hour)) // every retry due
			s := localretry.New(store, w, localretry.Options{Sleep: clock.Sleep})
			defer s.Close()
			if err := s.ScheduleRetry(context.Background(), retryOf("req-1", 1, t0.Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			s.Wait()
			if len(w.calls) != len(tc.answers) {
				t.Fatalf("%d retries, want %d", len(w.calls), len(tc.answers))
			}
			for i, c := range w.calls {
				if c.RetriesDone != i+1 || !c.RetryAt.Equal(t0.Add(time.Duration(i+1)*time.Hour)) || c.Request.ID != "req-1" {
					t.Errorf("retry %d: %+v", i, c)
				}
			}
			if f := s.Finished(); len(f) != 1 || f[0].Outcome != tc.final {
				t.Errorf("finished %+v, want one %s", f, tc.final)
			}
			if p := pending(t, store); len(p) != 0 {
				t.Errorf("still stored after the execution ended: %+v", p)
			}
		})
	}
}

func TestScheduleTwiceStartsOnce(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "mailbridge.db"))
	defer store.Close()
	w := newWriter()
	s := localretry.New(store, w, localretry.Options{Sleep: newClock(t0).Sleep})
	defer s.Close()
	r := retryOf("req-1", 1, t0)
	for range 2 {
		if err := s.ScheduleRetry(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	s.Wait()
	if len(w.calls) != 1 {
		t.Errorf("%d executions for one request and retry number", len(w.calls))
	}
}

func TestScheduleRefusesWhatIsNoRetry(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "mailbridge.db"))
	defer store.Close()
	s := localretry.New(store, newWriter(), localretry.Options{Sleep: newClock(t0).Sleep})
	defer s.Close()
	for _, tc := range []struct {
		name string
		r    domain.CalendarRetry
	}{
		{"no request id", retryOf("", 1, t0)},
		{"retry zero", retryOf("req-1", 0, t0)},
		{"no retry time", retryOf("req-1", 1, time.Time{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.ScheduleRetry(context.Background(), tc.r); err == nil {
				t.Error("accepted")
			}
		})
	}
	if p := pending(t, store); len(p) != 0 {
		t.Errorf("refused retries were stored: %+v", p)
	}
}

func TestCloseKeepsWaitingRetries(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "mailbridge.db"))
	defer store.Close()
	w := newWriter()
	s := localretry.New(store, w, localretry.Options{}) // real timer
	if err := s.ScheduleRetry(context.Background(), retryOf("req-1", 1, time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(guard):
		t.Fatal("Close did not stop a waiting retry")
	}
	if len(w.calls) != 0 {
		t.Error("a retry ran after Close")
	}
	if p := pending(t, store); len(p) != 1 {
		t.Errorf("stored after Close: %+v, want the waiting retry", p)
	}
}

func writeMessage(t *testing.T, id string) domain.QueueMessage {
	t.Helper()
	body, err := json.Marshal(domain.WriteRequest{ID: id, TenantID: "acme", Mailbox: "room1@contoso.com", Op: domain.WriteUpsert})
	if err != nil {
		t.Fatal(err)
	}
	return domain.QueueMessage{Body: body}
}

// TestAcceptedRequestSurvivesARestart: a request the API queued (answered
// 202) and whose first attempt the process did not finish is made after
// the restart, once; its retry, scheduled by that attempt, replaces it in
// the store and is made at its time.
func TestAcceptedRequestSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mailbridge.db")
	store := openStore(t, path)
	inWriter := make(chan struct{})
	w := newWriter()
	w.queued = func(ctx context.Context, req domain.WriteRequest) (app.AttemptResult, error) {
		close(inWriter)
		<-ctx.Done() // the process stops while Exchange has not answered
		return app.AttemptResult{}, ctx.Err()
	}
	s := localretry.New(store, w, localretry.Options{Sleep: newClock(t0).Sleep, Now: func() time.Time { return t0 }})
	if err := s.SendBatch(ctx, []domain.QueueMessage{writeMessage(t, "req-1")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inWriter:
	case <-time.After(guard):
		t.Fatal("the first attempt was not made")
	}
	s.Close()
	if p := pending(t, store); len(p) != 1 || p[0].RetriesDone != 0 || p[0].Request.ID != "req-1" {
		t.Fatalf("stored after a stop during the first attempt: %+v", p)
	}
	store.Close()

	// The restart: the first attempt fails retryably and schedules retry
	// 1, as app.CalendarWrites.HandleQueued does.
	store = openStore(t, path)
	defer store.Close()
	clock := newClock(t0.Add(time.Minute))
	retryAt := t0.Add(3 * time.Hour)
	w = newWriter()
	s = localretry.New(store, w, localretry.Options{Sleep: clock.Sleep, Now: func() time.Time { return t0.Add(time.Minute) }})
	defer s.Close()
	w.queued = func(ctx context.Context, req domain.WriteRequest) (app.AttemptResult, error) {
		r := domain.CalendarRetry{Request: req, RetriesDone: 1, RetryAt: retryAt}
		return app.AttemptResult{Outcome: app.OutcomeRetry, Request: req, RetriesDone: 1, RetryAt: retryAt}, s.ScheduleRetry(ctx, r)
	}
	if n, err := s.Resume(ctx); err != nil || n != 1 {
		t.Fatalf("resumed %d (%v), want the accepted request", n, err)
	}
	if got := w.next(t); got.RetriesDone != 0 || got.Request.ID != "req-1" {
		t.Fatalf("made %+v, want the first attempt", got)
	}
	clock.Sleepers(t, retryAt)
	waitPending(t, store, func(p []domain.CalendarRetry) bool {
		return len(p) == 1 && p[0].RetriesDone == 1 && p[0].RetryAt.Equal(retryAt)
	}, "only retry 1 stored after the first attempt")
	clock.Advance(t, retryAt)
	if got := w.next(t); got.RetriesDone != 1 {
		t.Fatalf("made %+v, want retry 1", got)
	}
	s.Wait()
	if w.count("req-1", 0) != 1 || w.count("req-1", 1) != 1 {
		t.Errorf("after the restart: first attempt made %d times, retry %d times; want once each", w.count("req-1", 0), w.count("req-1", 1))
	}
	if f := s.Finished(); len(f) != 1 || f[0].Outcome != app.OutcomeWritten {
		t.Errorf("finished %+v, want one written", f)
	}
	if p := pending(t, store); len(p) != 0 {
		t.Errorf("still stored: %+v", p)
	}
}

// TestFirstAttemptComesBackThenIsDropped: a first attempt that fails on
// Mailbridge's side comes back after the redelivery delay, up to
// MaxReceives attempts, as the calendar-writes queue redelivers and then
// dead-letters it.
func TestFirstAttemptComesBackThenIsDropped(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "mailbridge.db"))
	defer store.Close()
	clock := newClock(t0)
	w := newWriter()
	w.queued = func(context.Context, domain.WriteRequest) (app.AttemptResult, error) {
		return app.AttemptResult{}, errors.New("store unavailable")
	}
	s := localretry.New(store, w, localretry.Options{Sleep: clock.Sleep, Now: clock.Now, RedeliveryDelay: time.Minute, MaxReceives: 3})
	defer s.Close()
	if err := s.SendBatch(ctx, []domain.QueueMessage{writeMessage(t, "req-1")}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		w.next(t)
		if i < 2 {
			back := clock.Now().Add(time.Minute)
			clock.Sleepers(t, back)
			if p := pending(t, store); len(p) != 1 || !p[0].RetryAt.Equal(back) {
				t.Fatalf("after failed attempt %d stored %+v, want it back in a minute", i+1, p)
			}
			clock.Advance(t, back)
		}
	}
	s.Wait()
	if c := w.count("req-1", 0); c != 3 {
		t.Errorf("first attempt made %d times, want 3", c)
	}
	if p := pending(t, store); len(p) != 0 {
		t.Errorf("still stored after the last receive: %+v", p)
	}
}

func TestSendBatchRefusesWhatIsNoWriteRequest(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "mailbridge.db"))
	defer store.Close()
	s := localretry.New(store, newWriter(), localretry.Options{Sleep: newClock(t0).Sleep})
	defer s.Close()
	for _, body := range []string{`not json`, `{"tenantId":"acme"}`} {
		if err := s.SendBatch(context.Background(), []domain.QueueMessage{writeMessage(t, "req-ok"), {Body: []byte(body)}}); err == nil {
			t.Errorf("accepted %s", body)
		}
	}
	if p := pending(t, store); len(p) != 0 {
		t.Errorf("a refused batch stored %+v", p)
	}
}
