package localqueue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/localqueue"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func msg(group, dedup, body string) domain.QueueMessage {
	return domain.QueueMessage{Body: []byte(body), GroupID: group, DedupID: dedup}
}

// oneByOne adapts a per-message function to a batch handler: an error
// brings the message back.
func oneByOne(f func(context.Context, localqueue.Message) error) localqueue.BatchHandler {
	return func(ctx context.Context, msgs []localqueue.Message) (failed []string) {
		for _, m := range msgs {
			if f(ctx, m) != nil {
				failed = append(failed, m.ID)
			}
		}
		return failed
	}
}

// run consumes q with n workers, one message a batch, until it drains,
// then stops them.
func run(t *testing.T, q *localqueue.Queue, n int, f func(context.Context, localqueue.Message) error) {
	t.Helper()
	runBatches(t, q, n, 1, oneByOne(f))
}

// runBatches consumes q with n workers receiving up to batch messages
// each, until it drains, then stops them.
func runBatches(t *testing.T, q *localqueue.Queue, n, batch int, h localqueue.BatchHandler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // also when Drain fails
	done := make(chan struct{})
	go func() { q.Run(ctx, n, batch, h); close(done) }()
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer dcancel()
	if err := q.Drain(dctx); err != nil {
		t.Fatalf("queue did not drain: %v (stats %+v)", err, q.Stats())
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func send(t *testing.T, q *localqueue.Queue, msgs ...domain.QueueMessage) {
	t.Helper()
	for len(msgs) > 0 {
		n := min(len(msgs), localqueue.MaxBatch)
		if err := q.SendBatch(context.Background(), msgs[:n]); err != nil {
			t.Fatal(err)
		}
		msgs = msgs[n:]
	}
}

func TestDedupWithinWindow(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	q := localqueue.New(localqueue.Options{Clock: clock})
	send(t, q, msg("g1", "job-1", "a"), msg("g1", "job-1", "a again"), msg("g2", "job-2", "b"))
	clock.Add(4 * time.Minute)
	send(t, q, msg("g1", "job-1", "a, retried tick"))
	clock.Add(2 * time.Minute) // past the 5-minute window of the first send
	send(t, q, msg("g1", "job-1", "a, next window"), msg("g3", "", "no dedup id"), msg("g3", "", "no dedup id"))

	var mu sync.Mutex
	var got []string
	run(t, q, 2, func(_ context.Context, m localqueue.Message) error {
		mu.Lock()
		got = append(got, string(m.Body))
		mu.Unlock()
		return nil
	})
	slices.Sort(got)
	want := []string{"a", "a, next window", "b", "no dedup id", "no dedup id"}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	if st := q.Stats(); st.Deduplicated != 2 || st.Sent != 5 || st.Done != 5 {
		t.Fatalf("stats %+v: want 5 sent, 2 deduplicated, 5 done", st)
	}
}

func TestOneInFlightPerGroupInOrder(t *testing.T) {
	q := localqueue.New(localqueue.Options{})
	const groups, perGroup = 4, 25
	var all []domain.QueueMessage
	for i := range perGroup {
		for g := range groups {
			all = append(all, msg(fmt.Sprint("g", g), fmt.Sprint(g, "-", i), fmt.Sprint(i)))
		}
	}
	send(t, q, all...)

	var mu sync.Mutex
	inFlight := map[string]int{}
	order := map[string][]string{}
	started := map[string]bool{}
	barrier := make(chan struct{})
	run(t, q, 8, func(_ context.Context, m localqueue.Message) error {
		mu.Lock()
		inFlight[m.GroupID]++
		if inFlight[m.GroupID] > 1 {
			mu.Unlock()
			return fmt.Errorf("group %s has two messages in flight", m.GroupID)
		}
		order[m.GroupID] = append(order[m.GroupID], string(m.Body))
		first := !started[m.GroupID]
		started[m.GroupID] = true
		if first && len(started) == groups {
			close(barrier)
		}
		mu.Unlock()
		if first {
			// Each group's first message waits until every group has
			// started: the groups must run side by side.
			select {
			case <-barrier:
			case <-time.After(10 * time.Second):
				return errors.New("groups did not run concurrently")
			}
		}
		mu.Lock()
		inFlight[m.GroupID]--
		mu.Unlock()
		return nil
	})
	if st := q.Stats(); st.Failed != 0 || st.Done != groups*perGroup {
		t.Fatalf("stats %+v: want %d done, none failed", st, groups*perGroup)
	}
	for g, seq := range order {
		for i, body := range seq {
			if body != fmt.Sprint(i) {
				t.Fatalf("group %s delivered out of order: %v", g, seq)
			}
		}
	}
}

func TestDelayAndRequeue(t *testing.T) {
	q := localqueue.New(localqueue.Options{})
	const delay, backoff = 60 * time.Millisecond, 80 * time.Millisecond
	sent := time.Now()
	send(t, q,
		domain.QueueMessage{Body: []byte("delayed"), GroupID: "d", Delay: delay},
		msg("now", "", "immediate"),
		msg("t", "", "throttled once"),
		msg("t", "", "behind the throttled one"),
	)
	var mu sync.Mutex
	var got []string
	at := map[string][]time.Time{}
	run(t, q, 4, func(ctx context.Context, m localqueue.Message) error {
		mu.Lock()
		defer mu.Unlock()
		body := string(m.Body)
		at[body] = append(at[body], time.Now())
		if body == "throttled once" && m.Receives == 1 {
			if err := q.Requeue(ctx, m.ReceiptHandle, backoff); err != nil {
				return err
			}
			return errors.New("throttled")
		}
		got = append(got, fmt.Sprintf("%s#%d", body, m.Receives))
		return nil
	})
	if d := at["delayed"][0].Sub(sent); d < delay {
		t.Errorf("delayed message delivered after %v, before its %v delay", d, delay)
	}
	if d := at["throttled once"][1].Sub(at["throttled once"][0]); d < backoff {
		t.Errorf("requeued message came back after %v, before its %v", d, backoff)
	}
	if !at["behind the throttled one"][0].After(at["throttled once"][1]) {
		t.Error("a requeued message must keep its group waiting (FIFO order)")
	}
	if !slices.Contains(got, "throttled once#2") {
		t.Errorf("want the throttled message received twice, got %v", got)
	}
	if st := q.Stats(); st.Requeued != 1 || st.Done != 4 || st.Failed != 0 || st.InFlight != 0 || st.Waiting != 0 {
		t.Fatalf("stats %+v: want 1 requeued, 4 done", st)
	}
}

func TestFailingMessageIsDeadLettered(t *testing.T) {
	q := localqueue.New(localqueue.Options{MaxReceives: 3, RetryDelay: time.Millisecond})
	send(t, q, msg("g", "", "poison"), msg("g", "", "next"))
	var mu sync.Mutex
	var got []string
	run(t, q, 2, func(_ context.Context, m localqueue.Message) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s#%d", m.Body, m.Receives))
		if string(m.Body) == "poison" {
			return errors.New("cannot parse")
		}
		return nil
	})
	if want := []string{"poison#1", "poison#2", "poison#3", "next#1"}; !slices.Equal(got, want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
	dead := q.DeadLetters()
	if len(dead) != 1 || string(dead[0].Body) != "poison" {
		t.Fatalf("dead letters %v, want the poison message", dead)
	}
	if st := q.Stats(); st.Failed != 3 || st.Requeued != 2 || st.DeadLettered != 1 || st.Done != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A receive returns up to a batch of messages, one per group (the next of
// a group waits until its batch is done); the handler names those that
// come back: a requeued one returns after its delay, the others after the
// retry delay, and the rest are deleted.
func TestBatchesAndPartialFailure(t *testing.T) {
	const backoff, retry = 50 * time.Millisecond, 300 * time.Millisecond
	q := localqueue.New(localqueue.Options{RetryDelay: retry})
	send(t, q, msg("a", "", "a1"), msg("a", "", "a2"), msg("b", "", "b1"), msg("c", "", "c1"), msg("d", "", "d1"))
	var mu sync.Mutex
	var batches [][]string
	at := map[string][]time.Time{}
	runBatches(t, q, 1, 3, func(ctx context.Context, msgs []localqueue.Message) (failed []string) {
		mu.Lock()
		defer mu.Unlock()
		var bodies []string
		for _, m := range msgs {
			body := string(m.Body)
			bodies = append(bodies, body)
			at[body] = append(at[body], time.Now())
			switch {
			case body == "b1" && m.Receives == 1:
				if err := q.Requeue(ctx, m.ReceiptHandle, backoff); err != nil {
					t.Error(err)
				}
				failed = append(failed, m.ID)
			case body == "c1" && m.Receives == 1:
				failed = append(failed, m.ID)
			}
		}
		batches = append(batches, bodies)
		return failed
	})
	if first := batches[0]; len(first) != 3 || slices.Contains(first, "a2") {
		t.Fatalf("first batch %v: want three messages of three groups", first)
	}
	for _, b := range batches {
		if slices.Contains(b, "a1") && slices.Contains(b, "a2") {
			t.Fatalf("batch %v holds two messages of one group", b)
		}
	}
	if d := at["b1"][1].Sub(at["b1"][0]); d < backoff || d >= retry {
		t.Errorf("requeued message came back after %v, want its %v", d, backoff)
	}
	if d := at["c1"][1].Sub(at["c1"][0]); d < retry {
		t.Errorf("failed message came back after %v, before the retry delay %v", d, retry)
	}
	if len(at["a1"]) != 1 || len(at["d1"]) != 1 {
		t.Errorf("deliveries %v: the messages not sent back must be deleted", at)
	}
	if st := q.Stats(); st.Done != 5 || st.Requeued != 2 || st.Failed != 1 {
		t.Fatalf("stats %+v: want 5 done, 2 requeued, 1 failed", st)
	}
}

func TestRequeueNeedsAMessageInFlight(t *testing.T) {
	q := localqueue.New(localqueue.Options{})
	send(t, q, msg("g", "", "x"))
	var handle string
	run(t, q, 1, func(ctx context.Context, m localqueue.Message) error {
		handle = m.ReceiptHandle
		return nil
	})
	if err := q.Requeue(context.Background(), handle, time.Second); err == nil {
		t.Fatal("Requeue of a deleted message must fail")
	}
	if err := q.Requeue(context.Background(), "no such handle", time.Second); err == nil {
		t.Fatal("Requeue of an unknown handle must fail")
	}
}

// As the Lambda event source does, an unknown id among the failures brings
// the whole batch back.
func TestUnknownFailureBringsTheBatchBack(t *testing.T) {
	q := localqueue.New(localqueue.Options{RetryDelay: time.Millisecond})
	send(t, q, msg("a", "", "a"), msg("b", "", "b"))
	var mu sync.Mutex
	receives := 0
	runBatches(t, q, 1, 2, func(_ context.Context, msgs []localqueue.Message) []string {
		mu.Lock()
		defer mu.Unlock()
		receives += len(msgs)
		if msgs[0].Receives == 1 {
			return []string{"not-in-this-batch"}
		}
		return nil
	})
	if st := q.Stats(); receives != 4 || st.Requeued != 2 || st.Done != 2 {
		t.Fatalf("%d receives, stats %+v: want both messages back once", receives, st)
	}
}

func TestSendBatchRejectsBadInputWhole(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []domain.QueueMessage
	}{
		{"eleven messages", make([]domain.QueueMessage, 11)},
		{"delay over 15 minutes", []domain.QueueMessage{msg("g", "", "ok"), {Body: []byte("x"), Delay: 16 * time.Minute}}},
		{"negative delay", []domain.QueueMessage{{Body: []byte("x"), Delay: -time.Second}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := localqueue.New(localqueue.Options{})
			if err := q.SendBatch(context.Background(), tc.msgs); err == nil {
				t.Fatal("want an error")
			}
			if st := q.Stats(); st.Sent != 0 || st.Waiting != 0 {
				t.Fatalf("a rejected batch queued something: %+v", st)
			}
		})
	}
}

func TestCloseStopsWorkersAndSends(t *testing.T) {
	q := localqueue.New(localqueue.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		q.Run(ctx, 3, 1, oneByOne(func(context.Context, localqueue.Message) error { return nil }))
		close(done)
	}()
	send(t, q, msg("", "", "x"))
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if err := q.SendBatch(context.Background(), []domain.QueueMessage{msg("", "", "late")}); err == nil {
		t.Fatal("SendBatch on a closed queue must fail")
	}
}

func BenchmarkSendAndConsume(b *testing.B) {
	q := localqueue.New(localqueue.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go q.Run(ctx, 8, localqueue.MaxBatch, func(context.Context, []localqueue.Message) []string { return nil })
	batch := make([]domain.QueueMessage, localqueue.MaxBatch)
	b.ResetTimer()
	for i := 0; i < b.N; i += localqueue.MaxBatch {
		for j := range batch {
			batch[j] = domain.QueueMessage{Body: []byte("job"), GroupID: fmt.Sprint("g", (i+j)%100), DedupID: fmt.Sprint(i + j)}
		}
		if err := q.SendBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := q.Drain(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
