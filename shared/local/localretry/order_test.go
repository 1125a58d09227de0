package localretry_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/localretry"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

// gatedWriter holds each first attempt until the test releases it, so the
// test decides the order the stand-in queue delivers in.
type gatedWriter struct {
	*app.CalendarWrites
	mu    sync.Mutex
	gates map[string]chan struct{} // request id → release
	done  chan string              // request id, after its first attempt
}

func (g *gatedWriter) HandleQueued(ctx context.Context, req domain.WriteRequest) (app.AttemptResult, error) {
	g.mu.Lock()
	gate := g.gates[req.ID]
	g.mu.Unlock()
	select {
	case <-gate:
	case <-ctx.Done():
		return app.AttemptResult{}, ctx.Err()
	}
	res, err := g.CalendarWrites.HandleQueued(ctx, req)
	g.done <- req.ID
	return res, err
}

// Issue 12's ordering test on the local run's path: the API's requests go
// into localretry (the stand-in for the calendar-writes queue and the
// retry state machine), kept in the embedded store; a create, an update
// and a delete of one client event, accepted back to back, are delivered
// in reverse, the update failing first and retried after the others. The
// caller's last request (the delete) is the final state.
func TestLocalWritesOrderedAsAccepted(t *testing.T) {
	ctx := context.Background()
	sim := ewssim.New(ewssim.Options{})
	if err := sim.AddMailbox("ann@contoso.com", "Ann"); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddAccount(ewssim.Account{Username: "svc@contoso.com", Password: "pw-123456", ImpersonationScope: []string{"ann@contoso.com"}}); err != nil {
		t.Fatal(err)
	}
	store := openStore(t, filepath.Join(t.TempDir(), "store.db"))
	defer store.Close()
	if err := store.CreateTenant(ctx, domain.Tenant{ID: "acme", EWSURL: standin.EWS(t, sim), ExchangeVersion: "Exchange2016",
		AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, Status: domain.TenantActive}); err != nil {
		t.Fatal(err)
	}
	if err := store.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: "ann@contoso.com", Status: domain.MailboxOK}); err != nil {
		t.Fatal(err)
	}
	secrets := &mailboxtest.Secrets{}
	if err := secrets.PutCredential(ctx, "acme", domain.Credential{Kind: domain.AuthBasic, Username: "svc@contoso.com", Password: "pw-123456"}); err != nil {
		t.Fatal(err)
	}

	clock := newClock(t0)
	quietLog := slog.New(slog.NewTextHandler(io.Discard, nil))
	writes := &app.CalendarWrites{Store: store, Secrets: secrets, Clock: clock, Log: quietLog,
		Calendars: ewsmailbox.NewCalendarConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}})}
	g := &gatedWriter{CalendarWrites: writes, gates: map[string]chan struct{}{}, done: make(chan string, 3)}
	sched := localretry.New(store, g, localretry.Options{Sleep: clock.Sleep, Now: clock.Now, Log: quietLog})
	defer sched.Close()
	writes.Retries = sched

	// The gates are keyed by request id, which the API draws; accept
	// through a queue that opens the gate before handing on.
	api := &app.CalendarRequests{Store: store, Queue: gateQueue{g, sched}, Clock: clock}
	start := t0.Add(72 * time.Hour)
	var ids []string
	for _, subject := range []string{"v1", "v2"} {
		req, err := api.RequestPut(ctx, "acme", "ann@contoso.com", app.EventInput{ClientEventID: "trip-7", Subject: subject, Start: start, End: start.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, req.ID)
	}
	req, err := api.RequestDelete(ctx, "acme", "ann@contoso.com", "trip-7", false)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, req.ID)

	release := func(id string) {
		t.Helper()
		g.mu.Lock()
		close(g.gates[id])
		g.mu.Unlock()
		select {
		case got := <-g.done:
			if got != id {
				t.Fatalf("request %s attempted, want %s", got, id)
			}
		case <-time.After(guard):
			t.Fatalf("request %s not attempted", id)
		}
	}
	sim.InjectFault(ewssim.Fault{Op: "FindItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", Count: 1})
	release(ids[1]) // the update: fails, its retry waits
	release(ids[2]) // the delete
	release(ids[0]) // the create
	st, err := store.GetWriteState(ctx, "acme", "ann@contoso.com", "trip-7")
	if err != nil {
		t.Fatal(err)
	}
	retryAt := st.Requests[1].NextAttemptAt
	if retryAt.IsZero() {
		// Marked superseded by the delete; the retry execution still waits.
		pending, _, _ := store.PendingCalendarRetries(ctx)
		for _, p := range pending {
			if p.Request.ID == ids[1] && p.RetriesDone == 1 {
				retryAt = p.RetryAt
			}
		}
		if retryAt.IsZero() {
			t.Fatalf("pending %+v, want the update's retry", pending)
		}
	}
	clock.Sleepers(t, retryAt)
	clock.Advance(t, retryAt)
	sched.Wait()

	if refs, err := sim.ListItems("ann@contoso.com", "calendar"); err != nil || len(refs) != 0 {
		t.Errorf("calendar %+v (%v): want empty, the last request deleted the event", refs, err)
	}
	st, err = store.GetWriteState(ctx, "acme", "ann@contoso.com", "trip-7")
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.WriteStatus{domain.WriteSuperseded, domain.WriteSuperseded, domain.WriteWritten}
	for i, r := range st.Requests {
		if i >= len(want) || r.RequestID != ids[i] || r.Status != want[i] {
			t.Errorf("request %d tracked %+v, want %s", i, r, want[min(i, len(want)-1)])
		}
	}
	if st.AppliedSeq != 3 || st.LeaseSeq != 0 {
		t.Errorf("state %+v: want the delete applied and no lease held", st)
	}
	if pending, _, _ := store.PendingCalendarRetries(ctx); len(pending) != 0 {
		t.Errorf("still pending: %+v", pending)
	}
}

// gateQueue gives each request a closed-until-released gate, then queues it.
type gateQueue struct {
	g     *gatedWriter
	sched *localretry.Scheduler
}

func (q gateQueue) SendBatch(ctx context.Context, msgs []domain.QueueMessage) error {
	for _, m := range msgs {
		var r struct {
			ID string `json:"id"`
		}
		if err := jsonUnmarshal(m.Body, &r); err != nil {
			return err
		}
		q.g.mu.Lock()
		q.g.gates[r.ID] = make(chan struct{})
		q.g.mu.Unlock()
	}
	return q.sched.SendBatch(ctx, msgs)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
