package calendarwriterfn

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// recordedWrites stands in for app.CalendarWrites (tested on its own over
// the store and the EWS simulator): it records what the handler decoded
// and answers as told.
type recordedWrites struct {
	mu       sync.Mutex
	queued   []domain.WriteRequest
	retries  []domain.CalendarRetry
	failIDs  map[string]bool // HandleQueued fails for these request ids
	retryOut app.AttemptResult
}

func (w *recordedWrites) HandleQueued(_ context.Context, req domain.WriteRequest) (app.AttemptResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queued = append(w.queued, req)
	if w.failIDs[req.ID] {
		return app.AttemptResult{}, errors.New("states: unavailable")
	}
	return app.AttemptResult{Outcome: app.OutcomeWritten, Request: req}, nil
}

func (w *recordedWrites) HandleRetry(_ context.Context, in domain.CalendarRetry) app.AttemptResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.retries = append(w.retries, in)
	out := w.retryOut
	out.Request = in.Request
	return out
}

var quiet = secretscan.Logger()

func writeRequest(id string) string {
	b, _ := json.Marshal(domain.WriteRequest{ID: id, TenantID: "acme", Mailbox: "ann@contoso.com", ClientEventID: "trip-" + id,
		Op: domain.WriteDelete, RequestedAt: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)})
	return string(b)
}

// sqsEvent is aws-lambda-go's sample SQS event with one record per body;
// the sample's own record (body "Message Body") comes first.
func sqsEvent(t *testing.T, bodies ...string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "sqs-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	sample := ev.Records[0]
	for i, b := range bodies {
		r := sample
		r.MessageId, r.Body = "msg-"+string(rune('a'+i)), b
		ev.Records = append(ev.Records, r)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestQueuedBatchReportsOnlyWhatMustComeBack(t *testing.T) {
	w := &recordedWrites{failIDs: map[string]bool{"r2": true}}
	h := handler(w, nil, nil, quiet)
	out, err := h(context.Background(), sqsEvent(t, writeRequest("r1"), writeRequest("r2"), `{"id":"r3","unexpected":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, ok := out.(events.SQSEventResponse)
	if !ok {
		t.Fatalf("answer %T, want events.SQSEventResponse", out)
	}
	// The sample's "Message Body" and the record with an unknown field are
	// not write requests: dropped, not redelivered. r2's retry could not
	// be scheduled: redelivered.
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "msg-b" {
		t.Errorf("batch item failures %+v, want only msg-b", resp.BatchItemFailures)
	}
	if len(w.queued) != 2 || w.queued[0].ID != "r1" || w.queued[1].ClientEventID != "trip-r2" || w.queued[0].Op != domain.WriteDelete {
		t.Errorf("attempted %+v", w.queued)
	}
	b, _ := json.Marshal(resp)
	if !strings.Contains(string(b), `"batchItemFailures":[{"itemIdentifier":"msg-b"}]`) {
		t.Errorf("response JSON %s is not what Lambda's ReportBatchItemFailures reads", b)
	}
}

func TestQueuedBatchOutOfTimeGoesBack(t *testing.T) {
	w := &recordedWrites{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := handler(w, nil, nil, quiet)(ctx, sqsEvent(t, writeRequest("r1"), writeRequest("r2")))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.(events.SQSEventResponse).BatchItemFailures); n != 3 || len(w.queued) != 0 {
		t.Errorf("%d returned, %d attempted; want all 3 returned untouched", n, len(w.queued))
	}
}

// The state machine's first input is what shared/sfnretry starts the
// execution with; each later one is the previous answer.
func TestRetryInvocationLoopsThroughItsOwnAnswer(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "aws", "sfnretry", "testdata", "execution-input.json"))
	if err != nil {
		t.Fatal(err)
	}
	next := time.Date(2026, 11, 24, 19, 30, 0, 0, time.UTC)
	w := &recordedWrites{retryOut: app.AttemptResult{Outcome: app.OutcomeRetry, RetriesDone: 2, RetryAt: next}}
	h := handler(w, nil, nil, quiet)
	out, err := h(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.retries) != 1 {
		t.Fatalf("HandleRetry called %d times", len(w.retries))
	}
	in := w.retries[0]
	if in.RetriesDone != 1 || !in.RetryAt.Equal(time.Date(2026, 11, 24, 7, 0, 1, 0, time.UTC)) || in.Request.ClientEventID != "trip-42" || in.Request.Event == nil {
		t.Errorf("decoded retry input %+v", in)
	}
	answer, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	// What the Choice and Wait states read.
	var state map[string]any
	_ = json.Unmarshal(answer, &state)
	if state["outcome"] != "retry" || state["retryAt"] != "2026-11-24T19:30:00Z" || state["retriesDone"] != float64(2) {
		t.Errorf("answer %s: the state machine needs outcome, retryAt (RFC 3339) and retriesDone", answer)
	}
	if _, err := h(context.Background(), answer); err != nil {
		t.Fatal(err)
	}
	if got := w.retries[1]; got.RetriesDone != 2 || !got.RetryAt.Equal(next) || got.Request.ID != in.Request.ID {
		t.Errorf("the answer fed back decodes as %+v", got)
	}
}

func TestUnrecognisedInvocationFails(t *testing.T) {
	for _, raw := range []string{`{}`, `[]`, `"x"`, `{"Records":[{"eventSource":"aws:sns"}]}`, `{"request":"not an object"}`} {
		if _, err := handler(&recordedWrites{}, nil, nil, quiet)(context.Background(), json.RawMessage(raw)); err == nil {
			t.Errorf("%s: accepted", raw)
		}
	}
}

// One EMF line per invocation, Stage the only dimension, counts by outcome.
func TestMetricsPerInvocation(t *testing.T) {
	var buf strings.Builder
	m := &metrics{out: &buf, stage: "prod", clock: storetest.NewClock(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))}
	w := &recordedWrites{failIDs: map[string]bool{"r3": true}, retryOut: app.AttemptResult{Outcome: app.OutcomeGaveUp, Reason: "out_of_scope"}}
	h := handler(w, nil, m, quiet)
	if _, err := h(context.Background(), sqsEvent(t, writeRequest("r1"), writeRequest("r2"), writeRequest("r3"))); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join("..", "..", "..", "shared", "aws", "sfnretry", "testdata", "execution-input.json"))
	if _, err := h(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d EMF lines, want one per invocation:\n%s", len(lines), buf.String())
	}
	for i, want := range []map[string]float64{
		{"CalendarWritesWritten": 2, "CalendarWritesRetryScheduled": 0, "CalendarWritesGaveUp": 0},
		{"CalendarWritesWritten": 0, "CalendarWritesRetryScheduled": 0, "CalendarWritesGaveUp": 1},
	} {
		var doc map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &doc); err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if doc[k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, doc[k], v)
			}
		}
		dims := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"]
		if b, _ := json.Marshal(dims); string(b) != `[["Stage"]]` || doc["Stage"] != "prod" {
			t.Errorf("line %d: dimensions %s, stage %v", i, b, doc["Stage"])
		}
	}
}

type recordedRelease struct{ at []time.Time }

func (r *recordedRelease) ReleaseNoShows(_ context.Context, now time.Time) (app.ReleaseSummary, error) {
	r.at = append(r.at, now)
	return app.ReleaseSummary{Tenants: 1, Released: 2}, nil
}

// The room-release schedule's input sweeps for its scheduled time (now
// when empty, a manual invoke); a bad time is refused without a sweep.
func TestRoomReleaseInvocation(t *testing.T) {
	rel := &recordedRelease{}
	h := handler(&recordedWrites{}, rel, nil, quiet)
	out, err := h(context.Background(), json.RawMessage(`{"roomRelease":"2026-12-02T10:05:00Z"}`))
	if sum, ok := out.(app.ReleaseSummary); err != nil || !ok || sum.Released != 2 {
		t.Fatalf("answer %+v, %v", out, err)
	}
	if len(rel.at) != 1 || !rel.at[0].Equal(time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC)) {
		t.Fatalf("swept at %v", rel.at)
	}
	if _, err := h(context.Background(), json.RawMessage(`{"roomRelease":""}`)); err != nil || len(rel.at) != 2 {
		t.Fatalf("manual invoke: %v, %d sweeps", err, len(rel.at))
	}
	if _, err := h(context.Background(), json.RawMessage(`{"roomRelease":"soon"}`)); err == nil || len(rel.at) != 2 {
		t.Errorf("a bad time: %v, %d sweeps", err, len(rel.at))
	}
}
