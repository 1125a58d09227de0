package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// Ending a meeting now runs as a calendar write through the queue and the
// writer, over the embedded store and the EWS simulator: the event's end
// moves to the minute the end was accepted, the write state tracks it and
// the audit trail records it.
func TestEndMeetingNow(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	q := &capturedQueue{}
	api := &app.CalendarRequests{Store: e.store, Queue: q, Clock: e.clock}
	start := calNow.Add(-30 * time.Minute)
	if _, err := api.RequestPut(ctx, calTenant, calAnn, app.EventInput{ClientEventID: "standup", Subject: "Standup", Start: start, End: calNow.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if res, err := e.writes.HandleQueued(ctx, q.reqs[0]); err != nil || res.Outcome != app.OutcomeWritten {
		t.Fatalf("create: %+v %v", res, err)
	}
	e.clock.Advance(90 * time.Second) // 08:01:30: the end is 08:01
	req, err := api.RequestEnd(ctx, "", calTenant, calAnn, "standup")
	if err != nil {
		t.Fatal(err)
	}
	if want := calNow.Add(time.Minute); !req.EndAt.Equal(want) || req.Seq != 2 {
		t.Fatalf("accepted %+v, want end at %s, seq 2", req, want)
	}
	res, err := e.writes.HandleQueued(ctx, q.reqs[1])
	if err != nil || res.Outcome != app.OutcomeWritten || res.Result != domain.EventEnded {
		t.Fatalf("end: %+v %v", res, err)
	}
	refs := e.calendar(t, calAnn)
	if len(refs) != 1 {
		t.Fatalf("%d items in the calendar", len(refs))
	}
	it, _, err := e.sim.GetItem(refs[0].ID)
	if err != nil || !it.Start.Equal(start) || !it.End.Equal(calNow.Add(time.Minute)) {
		t.Fatalf("the event runs %s-%s (%v), want %s-%s", it.Start, it.End, err, start, calNow.Add(time.Minute))
	}
	st, err := e.store.GetWriteState(ctx, calTenant, calAnn, "standup")
	if err != nil || st.AppliedSeq != 2 || st.Requests[1].Op != domain.WriteEnd || st.Requests[1].Status != domain.WriteWritten ||
		st.Requests[1].Result != domain.EventEnded || st.ItemID == "" {
		t.Fatalf("tracked %+v (%v)", st, err)
	}
	var audited bool
	for _, a := range e.audit(t) {
		audited = audited || (a.Operation == "calendar.end standup" && a.Result == "ended" && a.RequestID == req.ID)
	}
	if !audited {
		t.Errorf("no audit entry for the end: %+v", e.audit(t))
	}
	// Ended: another end is refused at once and nothing is queued.
	if _, err := api.RequestEnd(ctx, "", calTenant, calAnn, "standup"); domain.ErrorCodeOf(err) != domain.CodeConflict {
		t.Errorf("second end: %v, want conflict", err)
	}
	if len(q.reqs) != 2 {
		t.Errorf("%d requests queued, want 2", len(q.reqs))
	}
}

// The writer checks the end against the event as Exchange holds it: the
// user moved the meeting to later after Mailbridge wrote it, so the end
// accepted against the write state fails for good (not_started), changes
// nothing, and the times the write state kept are forgotten.
func TestEndRefusedByTheWriterWhenTheUserMovedTheMeeting(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	q := &capturedQueue{}
	api := &app.CalendarRequests{Store: e.store, Queue: q, Clock: e.clock}
	if _, err := api.RequestPut(ctx, calTenant, calAnn, app.EventInput{ClientEventID: "review", Subject: "Review", Start: calNow.Add(-time.Hour), End: calNow.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if res, err := e.writes.HandleQueued(ctx, q.reqs[0]); err != nil || res.Outcome != app.OutcomeWritten {
		t.Fatalf("create: %+v %v", res, err)
	}
	id := e.calendar(t, calAnn)[0].ID
	moved := calNow.Add(2 * time.Hour)
	if _, err := e.sim.UpdateItem(id, func(it *ewssim.Item) { it.Start, it.End = moved, moved.Add(time.Hour) }); err != nil {
		t.Fatal(err)
	}
	if _, err := api.RequestEnd(ctx, "", calTenant, calAnn, "review"); err != nil {
		t.Fatalf("end refused at accept: %v (the write state still says the meeting runs)", err)
	}
	res, err := e.writes.HandleQueued(ctx, q.reqs[1])
	if err != nil || res.Outcome != app.OutcomeGaveUp {
		t.Fatalf("end: %+v %v, want gave up", res, err)
	}
	it, _, _ := e.sim.GetItem(id)
	if !it.Start.Equal(moved) || !it.End.Equal(moved.Add(time.Hour)) {
		t.Errorf("the moved meeting now runs %s-%s", it.Start, it.End)
	}
	st, _ := e.store.GetWriteState(ctx, calTenant, calAnn, "review")
	if r := st.Request(2); r == nil || r.Status != domain.WriteFailed || r.ReasonCode != "not_started" || !st.Start.IsZero() || !st.End.IsZero() {
		t.Errorf("tracked %+v (times %s-%s), want failed not_started and the times forgotten", r, st.Start, st.End)
	}
	if len(e.retries.got) != 0 {
		t.Errorf("a refused end was scheduled for retry")
	}
}

// An end is ordered with the other requests for its event: accepted
// before an update, delivered after it, it changes nothing (superseded);
// accepted after, delivered first, it is applied and the update delivered
// later is superseded.
func TestEndOrderedWithTheEventsOtherWrites(t *testing.T) {
	for _, tc := range []struct {
		name       string
		endFirst   bool // accepted before the update
		wantEnd    time.Time
		wantStates []domain.WriteStatus // create, then in accepted order
	}{
		{"end accepted first, delivered last", true, calNow.Add(2 * time.Hour),
			[]domain.WriteStatus{domain.WriteWritten, domain.WriteSuperseded, domain.WriteWritten}},
		{"end accepted last, delivered first", false, calNow,
			[]domain.WriteStatus{domain.WriteWritten, domain.WriteSuperseded, domain.WriteWritten}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCalEnv(t)
			ctx := context.Background()
			q := &capturedQueue{}
			api := &app.CalendarRequests{Store: e.store, Queue: q, Clock: e.clock}
			put := func(end time.Time) {
				if _, err := api.RequestPut(ctx, calTenant, calAnn, app.EventInput{ClientEventID: "sync", Subject: "Sync", Start: calNow.Add(-time.Hour), End: end}); err != nil {
					t.Fatal(err)
				}
			}
			put(calNow.Add(time.Hour))
			if res, err := e.writes.HandleQueued(ctx, q.reqs[0]); err != nil || res.Outcome != app.OutcomeWritten {
				t.Fatalf("create: %+v %v", res, err)
			}
			end := func() {
				if _, err := api.RequestEnd(ctx, "", calTenant, calAnn, "sync"); err != nil {
					t.Fatal(err)
				}
			}
			if tc.endFirst {
				end()
				put(calNow.Add(2 * time.Hour))
			} else {
				put(calNow.Add(2 * time.Hour))
				end()
			}
			for _, i := range []int{2, 1} { // the later request is delivered first
				if _, err := e.writes.HandleQueued(ctx, q.reqs[i]); err != nil {
					t.Fatal(err)
				}
			}
			it, _, _ := e.sim.GetItem(e.calendar(t, calAnn)[0].ID)
			if !it.End.Equal(tc.wantEnd) {
				t.Errorf("the event ends %s, want %s", it.End, tc.wantEnd)
			}
			st, _ := e.store.GetWriteState(ctx, calTenant, calAnn, "sync")
			for i, r := range st.Requests {
				if r.Status != tc.wantStates[i] {
					t.Errorf("request %d (%s) %s, want %s", i+1, r.Op, r.Status, tc.wantStates[i])
				}
			}
		})
	}
}

// An end Exchange refuses for now (throttled) is retried soon, racing the
// end minute plus four hours (the first retry about 2 h later), and the
// retry writes the end minute fixed at accept time, not a later one.
func TestEndRetriedSoonWithItsMinute(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	q := &capturedQueue{}
	api := &app.CalendarRequests{Store: e.store, Queue: q, Clock: e.clock}
	if _, err := api.RequestPut(ctx, calTenant, calAnn, app.EventInput{ClientEventID: "offsite", Subject: "Offsite", Start: calNow.Add(-time.Hour), End: calNow.Add(8 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if res, err := e.writes.HandleQueued(ctx, q.reqs[0]); err != nil || res.Outcome != app.OutcomeWritten {
		t.Fatalf("create: %+v %v", res, err)
	}
	if _, err := api.RequestEnd(ctx, "", calTenant, calAnn, "offsite"); err != nil {
		t.Fatal(err)
	}
	e.sim.InjectFault(ewssim.Fault{Op: "FindItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", Count: 1})
	res, err := e.writes.HandleQueued(ctx, q.reqs[1])
	if err != nil || res.Outcome != app.OutcomeRetry || len(e.retries.got) != 1 {
		t.Fatalf("throttled end: %+v %v, want a retry", res, err)
	}
	if wait := res.RetryAt.Sub(calNow); wait < time.Hour || wait > 3*time.Hour {
		t.Errorf("retry after %s, want about 2 h", wait)
	}
	e.clock.Advance(res.RetryAt.Sub(e.clock.Now()))
	if res := e.writes.HandleRetry(ctx, e.retries.got[0]); res.Outcome != app.OutcomeWritten || res.Result != domain.EventEnded {
		t.Fatalf("retry: %+v", res)
	}
	it, _, _ := e.sim.GetItem(e.calendar(t, calAnn)[0].ID)
	if !it.End.Equal(calNow) {
		t.Errorf("the event ends %s, want %s (the minute the end was asked for)", it.End, calNow)
	}
}
