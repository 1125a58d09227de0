package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// batchProcessor is app.BatchWorker's Process.
type batchProcessor func(ctx context.Context, msgs []app.BatchMessage) app.BatchResult

// handler adapts an SQS event to the batch worker and reports partial
// batch failure: the messages named in BatchItemFailures are not deleted
// and come back (a throttled one after the delay the worker set on it).
func handler(process batchProcessor, metrics *emf, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		msgs := make([]app.BatchMessage, len(ev.Records))
		for i, r := range ev.Records {
			receives, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
			msgs[i] = app.BatchMessage{ID: r.MessageId, Body: []byte(r.Body), ReceiptHandle: r.ReceiptHandle,
				GroupID: r.Attributes["MessageGroupId"], Receives: receives}
		}
		res := process(ctx, msgs)
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, id := range res.Failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		}
		s := res.Stats
		log.Info("sync batch", "jobs", s.Jobs, "mailboxes", s.Mailboxes, "alreadyDone", s.AlreadyDone, "succeeded", s.Succeeded, "requeued", s.Requeued, "failed", s.Failed,
			"rejected", s.Rejected, "skipped", s.Skipped, "ewsCalls", s.EWSCalls, "throttled", s.Throttled, "appended", s.Appended, "auditFailed", s.AuditFailed)
		metrics.write(s)
		return resp, nil
	}
}

// emf writes CloudWatch Embedded Metric Format lines: one per batch, with
// the Stage as the only dimension. A per-tenant or per-mailbox dimension
// would make each combination a billed custom metric; ids go to log fields.
type emf struct {
	out   io.Writer
	stage string
	clock domain.Clock
}

const metricNamespace = "Mailbridge"

func (m *emf) write(s app.BatchStats) {
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	// SyncJobs counts queue messages; the SyncJobs* outcomes and
	// MailboxSyncs count mailboxes (a message names up to 10).
	names := []string{"SyncJobs", "MailboxSyncs", "SyncJobsRequeued", "SyncJobsFailed", "SyncJobsRejected", "EWSCalls", "ThrottledCalls", "ChangesAppended"}
	values := []int{s.Jobs, s.Mailboxes, s.Requeued, s.Failed, s.Rejected, s.EWSCalls, s.Throttled, s.Appended}
	doc := map[string]any{"Stage": m.stage}
	ms := make([]metric, len(names))
	for i, n := range names {
		ms[i] = metric{Name: n, Unit: "Count"}
		doc[n] = values[i]
	}
	doc["_aws"] = map[string]any{
		"Timestamp": m.clock.Now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  metricNamespace,
			"Dimensions": [][]string{{"Stage"}},
			"Metrics":    ms,
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return
	}
	_, _ = m.out.Write(append(b, '\n'))
}
