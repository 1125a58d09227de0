package calendarwriterfn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/emf"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// writes is the part of app.CalendarWrites the Lambda calls.
type writes interface {
	HandleQueued(ctx context.Context, req domain.WriteRequest) (app.AttemptResult, error)
	HandleRetry(ctx context.Context, in domain.CalendarRetry) app.AttemptResult
}

// recordBudget is the time one queued write may need (FindItem plus one
// write, each bounded by the EWS client's timeout, plus up to 10 s waiting
// for another writer of the same event). Records that would not fit before
// the Lambda's deadline are handed back to the queue unprocessed.
const recordBudget = 55 * time.Second

// releaser is the part of app.RoomMeetings the Lambda calls.
type releaser interface {
	ReleaseNoShows(ctx context.Context, now time.Time) (app.ReleaseSummary, error)
}

// handler serves the three ways the function is invoked: an SQS event
// from the calendar-writes queue (first attempts), a direct invocation by
// the calendar-retry state machine (retries), whose input is the
// execution's state and whose answer is the next state, and the
// room-release schedule ({"roomRelease": "<scheduled time>"}), which
// releases the room meetings nobody checked in.
func handler(w writes, rel releaser, m *metrics, log *slog.Logger) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Records []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
			Request     *json.RawMessage `json:"request"`
			RoomRelease *string          `json:"roomRelease"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, fmt.Errorf("calendarwriter: the invocation is not a JSON object: %w", err)
		}
		switch {
		case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("calendarwriter: malformed SQS event: %w", err)
			}
			var tally outcomes
			resp := queued(ctx, w, ev, &tally, log)
			m.write(tally)
			return resp, nil
		case probe.Request != nil:
			var in domain.CalendarRetry
			if err := json.Unmarshal(raw, &in); err != nil {
				// The state machine's Catch turns this into GaveUp.
				return nil, fmt.Errorf("calendarwriter: malformed retry input: %w", err)
			}
			res := w.HandleRetry(ctx, in)
			var tally outcomes
			tally.add(res.Outcome)
			m.write(tally)
			return res, nil
		case probe.RoomRelease != nil && rel != nil:
			now := time.Now()
			if *probe.RoomRelease != "" {
				t, err := time.Parse(time.RFC3339, *probe.RoomRelease)
				if err != nil {
					return nil, fmt.Errorf("calendarwriter: roomRelease %q is not an RFC 3339 time: %w", *probe.RoomRelease, err)
				}
				now = t
			}
			sum, err := rel.ReleaseNoShows(ctx, now)
			log.Info("room release", "at", now.UTC(), "tenants", sum.Tenants, "rooms", sum.Rooms, "released", sum.Released, "failed", sum.Failed)
			// A failed sweep is not retried by Lambda: the next one, five
			// minutes on, starts afresh and is idempotent.
			if err != nil {
				log.Error("room release failed", "error", err.Error())
			}
			return sum, nil
		}
		return nil, errors.New("calendarwriter: expected an SQS event, a retry input with a request, or a roomRelease schedule")
	}
}

// queued makes the first attempt of each queued request, one after the
// other, and reports the messages to deliver again (partial batch
// failure): those whose retry could not be handed to Step Functions or
// whose storage failed, and those left when time runs short.
func queued(ctx context.Context, w writes, ev events.SQSEvent, tally *outcomes, log *slog.Logger) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	deadline, hasDeadline := ctx.Deadline()
	for i, r := range ev.Records {
		if hasDeadline && time.Until(deadline) < recordBudget {
			for _, rest := range ev.Records[i:] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rest.MessageId})
			}
			log.Warn("calendar writes: out of time; the rest of the batch goes back to the queue", "returned", len(ev.Records)-i)
			break
		}
		var req domain.WriteRequest
		dec := json.NewDecoder(bytes.NewReader([]byte(r.Body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			// Only the API writes this queue, so this is a bug, and no
			// redelivery would fix it: log it and let the message go.
			log.Error("calendar writes: dropping a message that is not a write request", "messageId", r.MessageId, "error", err.Error())
			continue
		}
		res, err := w.HandleQueued(ctx, req)
		if err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			continue
		}
		tally.add(res.Outcome)
		log.Info("calendar write attempted", "messageId", r.MessageId, "requestId", req.ID, "outcome", string(res.Outcome))
	}
	return resp
}

// outcomes counts attempts by outcome for one invocation.
type outcomes struct{ written, retry, gaveUp int }

func (o *outcomes) add(out app.Outcome) {
	switch out {
	case app.OutcomeWritten:
		o.written++
	case app.OutcomeRetry:
		o.retry++
	case app.OutcomeGaveUp:
		o.gaveUp++
	}
}

// metrics writes one CloudWatch Embedded Metric Format line per
// invocation. CalendarWritesGaveUp covers both paths: a permanent failure
// on the first attempt never reaches the state machine, so its
// ExecutionsFailed alone would miss it.
type metrics struct {
	out   io.Writer
	stage string
	clock domain.Clock
}

func (m *metrics) write(o outcomes) {
	if m == nil || o == (outcomes{}) {
		return
	}
	emf.Write(m.out, m.stage, m.clock.Now(),
		emf.Metric{Name: "CalendarWritesWritten", Value: o.written},
		emf.Metric{Name: "CalendarWritesRetryScheduled", Value: o.retry},
		emf.Metric{Name: "CalendarWritesGaveUp", Value: o.gaveUp})
}
