package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// capturedQueue is the calendar-writes queue held back: the test delivers
// its messages in the order it chooses.
type capturedQueue struct {
	mu   sync.Mutex
	reqs []domain.WriteRequest
}

func (q *capturedQueue) SendBatch(_ context.Context, msgs []domain.QueueMessage) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range msgs {
		var r domain.WriteRequest
		if err := json.Unmarshal(m.Body, &r); err != nil {
			return err
		}
		q.reqs = append(q.reqs, r)
	}
	return nil
}

// The issue-12 ordering rule: requests for one client event submitted back
// to back (the same millisecond, so only their order of acceptance tells
// them apart) end in the last request's state however the queue delivers
// them, and with one of them failing first and retried after the others.
func TestCalendarWritesApplyInAcceptedOrder(t *testing.T) {
	type step struct {
		op      domain.WriteOp
		subject string
	}
	create, update, del := step{domain.WriteUpsert, "v1"}, step{domain.WriteUpsert, "v2"}, step{op: domain.WriteDelete}
	for _, tc := range []struct {
		name      string
		steps     []step
		order     []int // delivery order (indices into steps)
		failFirst int   // index whose first attempt fails and is retried last; -1 none
		want      string
		wantState []domain.WriteStatus // per request, after everything ran
	}{
		{"create, update, delete in order", []step{create, update, del}, []int{0, 1, 2}, -1, "",
			[]domain.WriteStatus{domain.WriteWritten, domain.WriteWritten, domain.WriteWritten}},
		{"delete first, then update, then create", []step{create, update, del}, []int{2, 1, 0}, -1, "",
			[]domain.WriteStatus{domain.WriteSuperseded, domain.WriteSuperseded, domain.WriteWritten}},
		{"update first, then delete, then create", []step{create, update, del}, []int{1, 2, 0}, -1, "",
			[]domain.WriteStatus{domain.WriteSuperseded, domain.WriteWritten, domain.WriteWritten}},
		{"create retried after the delete", []step{create, update, del}, []int{0, 1, 2}, 0, "",
			[]domain.WriteStatus{domain.WriteSuperseded, domain.WriteWritten, domain.WriteWritten}},
		{"update retried after the delete", []step{create, update, del}, []int{0, 1, 2}, 1, "",
			[]domain.WriteStatus{domain.WriteWritten, domain.WriteSuperseded, domain.WriteWritten}},
		{"create then delete, reversed", []step{create, del}, []int{1, 0}, -1, "",
			[]domain.WriteStatus{domain.WriteSuperseded, domain.WriteWritten}},
		{"delete then re-create, reversed", []step{create, del, update}, []int{2, 1, 0}, -1, "v2",
			[]domain.WriteStatus{domain.WriteSuperseded, domain.WriteSuperseded, domain.WriteWritten}},
		// The update fails first, so the create is applied, then the update's retry.
		{"create then update, reversed, update retried", []step{create, update}, []int{1, 0}, 1, "v2",
			[]domain.WriteStatus{domain.WriteWritten, domain.WriteWritten}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCalEnv(t)
			ctx := context.Background()
			q := &capturedQueue{}
			api := &app.CalendarRequests{Store: e.store, Queue: q, Clock: e.clock}
			start := calNow.Add(72 * time.Hour)
			for _, s := range tc.steps {
				var err error
				if s.op == domain.WriteDelete {
					_, err = api.RequestDelete(ctx, calTenant, calAnn, "trip-9", false)
				} else {
					_, err = api.RequestPut(ctx, calTenant, calAnn, app.EventInput{ClientEventID: "trip-9", Subject: s.subject, Start: start, End: start.Add(time.Hour)})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			var retry *domain.CalendarRetry
			for _, i := range tc.order {
				req := q.reqs[i]
				if req.Seq != int64(i+1) {
					t.Fatalf("request %d has seq %d", i, req.Seq)
				}
				if i == tc.failFirst {
					e.sim.InjectFault(ewssim.Fault{Op: "FindItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", Count: 1})
				}
				res, err := e.writes.HandleQueued(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if i == tc.failFirst {
					if res.Outcome != app.OutcomeRetry || len(e.retries.got) != 1 {
						t.Fatalf("first attempt of request %d: %+v, want a retry", i, res)
					}
					st, _ := e.store.GetWriteState(ctx, calTenant, calAnn, "trip-9")
					if r := st.Request(req.Seq); r == nil || r.Status != domain.WriteRetrying || r.Attempts != 1 || !r.NextAttemptAt.Equal(res.RetryAt) {
						t.Fatalf("tracked %+v while retrying, want retrying, 1 attempt, next at %v", r, res.RetryAt)
					}
					retry = &e.retries.got[0]
				}
			}
			if retry != nil {
				e.clock.Advance(retry.RetryAt.Sub(e.clock.Now()))
				if res := e.writes.HandleRetry(ctx, *retry); res.Outcome != app.OutcomeWritten {
					t.Fatalf("retry: %+v", res)
				}
			}

			refs := e.calendar(t, calAnn)
			switch {
			case tc.want == "" && len(refs) != 0:
				t.Errorf("calendar holds %d items, want none (the last request deleted the event)", len(refs))
			case tc.want != "":
				if len(refs) != 1 {
					t.Fatalf("calendar holds %d items, want the one event", len(refs))
				}
				it, _, err := e.sim.GetItem(refs[0].ID)
				if err != nil || it.Subject != tc.want {
					t.Errorf("event subject %q (%v), want %q", it.Subject, err, tc.want)
				}
			}
			st, err := e.store.GetWriteState(ctx, calTenant, calAnn, "trip-9")
			if err != nil {
				t.Fatal(err)
			}
			if st.LastSeq != int64(len(tc.steps)) || st.AppliedSeq != st.LastSeq || st.LeaseSeq != 0 || len(st.Requests) != len(tc.steps) {
				t.Errorf("state lastSeq %d appliedSeq %d lease %d, %d requests", st.LastSeq, st.AppliedSeq, st.LeaseSeq, len(st.Requests))
			}
			for i, r := range st.Requests {
				if r.Status != tc.wantState[i] || r.RequestID != q.reqs[i].ID || r.Op != tc.steps[i].op {
					t.Errorf("request %d tracked %+v, want %s", i, r, tc.wantState[i])
				}
			}
			if (tc.want != "") != (st.ItemID != "" && st.ChangeKey != "") {
				t.Errorf("tracked item %q/%q, want one exactly when the event exists", st.ItemID, st.ChangeKey)
			}
		})
	}
}

// Two writers of one event never call Exchange at once: a request that
// finds another request's live lease goes back to its queue (and is
// tracked pending, reason busy); a lease its writer left behind (it died)
// is taken over once it runs out.
func TestCalendarWriteWaitsForTheEventsLease(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	q := &capturedQueue{}
	api := &app.CalendarRequests{Store: e.store, Queue: q, Clock: e.clock}
	start := calNow.Add(72 * time.Hour)
	for _, subject := range []string{"v1", "v2"} {
		if _, err := api.RequestPut(ctx, calTenant, calAnn, app.EventInput{ClientEventID: "trip-5", Subject: subject, Start: start, End: start.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var paused time.Duration
	e.writes.Pause = func(_ context.Context, d time.Duration) error {
		paused += d
		e.clock.Advance(d)
		return nil
	}
	// Request 2's writer took the lease and died.
	if _, err := e.store.UpdateWriteState(ctx, calTenant, calAnn, "trip-5", func(st *domain.WriteState) error {
		st.LeaseSeq, st.LeaseUntil = 2, e.clock.Now().Add(5*time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.writes.HandleQueued(ctx, q.reqs[0]); err == nil {
		t.Fatal("request 1 written while request 2 holds the lease; want it back on the queue")
	}
	if paused < 5*time.Second || paused > 10*time.Second {
		t.Errorf("waited %v for the lease before giving the request back, want 5-10 s", paused)
	}
	if n := len(e.calendar(t, calAnn)); n != 0 {
		t.Fatalf("calendar holds %d items while the lease was held", n)
	}
	st, _ := e.store.GetWriteState(ctx, calTenant, calAnn, "trip-5")
	if r := st.Request(1); r.Status != domain.WritePending || r.ReasonCode != "busy" {
		t.Errorf("request 1 tracked %+v, want pending, busy", r)
	}
	e.clock.Advance(5*time.Minute - paused)
	res, err := e.writes.HandleQueued(ctx, q.reqs[0])
	if err != nil || res.Result != domain.EventCreated {
		t.Fatalf("request 1 redelivered after the dead writer's lease ran out: %+v, %v; want created", res, err)
	}
	if res, err := e.writes.HandleQueued(ctx, q.reqs[1]); err != nil || res.Result != domain.EventUpdated {
		t.Fatalf("request 2 redelivered: %+v, %v; want updated", res, err)
	}
	refs := e.calendar(t, calAnn)
	if len(refs) != 1 {
		t.Fatalf("calendar holds %d items, want 1", len(refs))
	}
	if it, _, _ := e.sim.GetItem(refs[0].ID); it.Subject != "v2" {
		t.Errorf("subject %q, want v2", it.Subject)
	}
}

// A writer that finds the event's lease held by a live writer waits for it
// (an attempt takes a second or two) instead of sending its request back
// to the queue, whose redelivery comes minutes later.
func TestCalendarWriteWaitsBrieflyForALiveLease(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	q := &capturedQueue{}
	api := &app.CalendarRequests{Store: e.store, Queue: q, Clock: e.clock}
	start := calNow.Add(72 * time.Hour)
	if _, err := api.RequestPut(ctx, calTenant, calAnn, app.EventInput{ClientEventID: "trip-6", Subject: "v1", Start: start, End: start.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.RequestDelete(ctx, calTenant, calAnn, "trip-6", false); err != nil {
		t.Fatal(err)
	}
	// The delete's writer holds the lease; it records its outcome while
	// the create's writer waits.
	if _, err := e.store.UpdateWriteState(ctx, calTenant, calAnn, "trip-6", func(st *domain.WriteState) error {
		st.LeaseSeq, st.LeaseUntil = 2, e.clock.Now().Add(5*time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	pauses := 0
	e.writes.Pause = func(_ context.Context, d time.Duration) error {
		pauses++
		if pauses == 3 {
			if _, err := e.store.UpdateWriteState(ctx, calTenant, calAnn, "trip-6", func(st *domain.WriteState) error {
				st.LeaseSeq, st.LeaseUntil, st.AppliedSeq = 0, time.Time{}, 2
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	}
	res, err := e.writes.HandleQueued(ctx, q.reqs[0])
	if err != nil || res.Result != domain.EventSuperseded || pauses != 3 {
		t.Fatalf("create after waiting: %+v, %v, %d pauses; want superseded once the delete was recorded", res, err, pauses)
	}
	if n := len(e.calendar(t, calAnn)); n != 0 {
		t.Errorf("calendar holds %d items, want none", n)
	}
}

// The three requests delivered at the same moment (three writers side by
// side, as three Lambda invocations or three local executions), again
// and again: the event's lease lets one writer call Exchange at a time,
// and the end state is always the last request's. A request handed back
// (busy) is delivered again, as the queue would.
func TestCalendarWritesConcurrentDeliveries(t *testing.T) {
	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			e := newCalEnv(t)
			e.writes.Pause = func(ctx context.Context, _ time.Duration) error {
				runtime.Gosched()
				return ctx.Err()
			}
			ctx := context.Background()
			q := &capturedQueue{}
			api := &app.CalendarRequests{Store: e.store, Queue: q, Clock: e.clock}
			start := calNow.Add(72 * time.Hour)
			id := fmt.Sprint("trip-c", round)
			for _, subject := range []string{"v1", "v2"} {
				if _, err := api.RequestPut(ctx, calTenant, calAnn, app.EventInput{ClientEventID: id, Subject: subject, Start: start, End: start.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := api.RequestDelete(ctx, calTenant, calAnn, id, false); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for _, req := range q.reqs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 100 {
						if _, err := e.writes.HandleQueued(ctx, req); err == nil {
							return
						}
					}
					t.Errorf("request %d never written", req.Seq)
				}()
			}
			wg.Wait()
			if n := len(e.calendar(t, calAnn)); n != 0 {
				t.Errorf("calendar holds %d items, want none (the last request deleted the event)", n)
			}
			st, err := e.store.GetWriteState(ctx, calTenant, calAnn, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.AppliedSeq != 3 || st.LeaseSeq != 0 || st.Requests[2].Status != domain.WriteWritten {
				t.Errorf("state %+v, want the delete applied", st)
			}
			for _, r := range st.Requests {
				if !r.Final() {
					t.Errorf("request %d still %s", r.Seq, r.Status)
				}
			}
		})
	}
}

// The history keeps the latest requests only, so an event rewritten all
// day stays one small record; numbering goes on.
func TestWriteHistoryIsBounded(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	api := &app.CalendarRequests{Store: e.store, Queue: &capturedQueue{}, Clock: e.clock}
	n := domain.MaxWriteHistory + 5
	for range n {
		if _, err := api.RequestDelete(ctx, calTenant, calAnn, "trip-h", false); err != nil {
			t.Fatal(err)
		}
	}
	st, err := e.store.GetWriteState(ctx, calTenant, calAnn, "trip-h")
	if err != nil {
		t.Fatal(err)
	}
	if st.LastSeq != int64(n) || len(st.Requests) != domain.MaxWriteHistory || st.Requests[0].Seq != 6 {
		t.Errorf("lastSeq %d, %d requests from seq %d; want %d, the latest %d", st.LastSeq, len(st.Requests), st.Requests[0].Seq, n, domain.MaxWriteHistory)
	}
}
