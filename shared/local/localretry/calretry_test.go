package localretry_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/localretry"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// scripted answers the retries in order, recording what it was asked and
// when (the time the execution slept until).
type scripted struct {
	mu      sync.Mutex
	answers []app.AttemptResult
	calls   []domain.CalendarRetry
}

func (s *scripted) retry(_ context.Context, in domain.CalendarRetry) app.AttemptResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, in)
	a := s.answers[0]
	s.answers = s.answers[1:]
	a.Request = in.Request
	return a
}

type sleeps struct {
	mu    sync.Mutex
	until []time.Time
}

func (s *sleeps) sleep(_ context.Context, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.until = append(s.until, until)
	return nil
}

func retryAt(d time.Duration, n int) app.AttemptResult {
	return app.AttemptResult{Outcome: app.OutcomeRetry, RetriesDone: n, RetryAt: t0.Add(d)}
}

func TestExecutionLoopsLikeTheStateMachine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []app.AttemptResult
		final   app.Outcome
	}{
		{"written on the third retry", []app.AttemptResult{retryAt(2*time.Hour, 2), retryAt(3*time.Hour, 3), {Outcome: app.OutcomeWritten}}, app.OutcomeWritten},
		{"gave up on the first retry", []app.AttemptResult{{Outcome: app.OutcomeGaveUp, Reason: "out_of_scope"}}, app.OutcomeGaveUp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &scripted{answers: tc.answers}
			sl := &sleeps{}
			s := localretry.New(w.retry, localretry.Options{Sleep: sl.sleep})
			defer s.Close()
			req := domain.WriteRequest{ID: "req-1"}
			if err := s.ScheduleRetry(context.Background(), domain.CalendarRetry{Request: req, RetriesDone: 1, RetryAt: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			s.Wait()
			if len(w.calls) != len(tc.answers) || len(sl.until) != len(tc.answers) {
				t.Fatalf("%d retries after %d waits, want %d", len(w.calls), len(sl.until), len(tc.answers))
			}
			for i, c := range w.calls {
				if c.RetriesDone != i+1 || !c.RetryAt.Equal(t0.Add(time.Duration(i+1)*time.Hour)) || !sl.until[i].Equal(c.RetryAt) || c.Request.ID != "req-1" {
					t.Errorf("retry %d: %+v after waiting until %v", i, c, sl.until[i])
				}
			}
			if f := s.Finished(); len(f) != 1 || f[0].Outcome != tc.final {
				t.Errorf("finished %+v, want one %s", f, tc.final)
			}
		})
	}
}

func TestScheduleTwiceStartsOnce(t *testing.T) {
	w := &scripted{answers: []app.AttemptResult{{Outcome: app.OutcomeWritten}, {Outcome: app.OutcomeWritten}}}
	s := localretry.New(w.retry, localretry.Options{Sleep: (&sleeps{}).sleep})
	defer s.Close()
	r := domain.CalendarRetry{Request: domain.WriteRequest{ID: "req-1"}, RetriesDone: 1, RetryAt: t0}
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

func TestCloseDropsWaitingRetries(t *testing.T) {
	w := &scripted{}
	s := localretry.New(w.retry, localretry.Options{}) // real timer
	if err := s.ScheduleRetry(context.Background(), domain.CalendarRetry{Request: domain.WriteRequest{ID: "req-1"}, RetriesDone: 1, RetryAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop a waiting retry")
	}
	if len(w.calls) != 0 {
		t.Error("a retry ran after Close")
	}
}
