package syncworkerfn

import (
	"context"
	"io"
	"log/slog"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/emf"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// batchProcessor is app.BatchWorker's Process.
type batchProcessor func(ctx context.Context, msgs []app.BatchMessage) app.BatchResult

// handler adapts an SQS event to the batch worker and reports partial
// batch failure: the messages named in BatchItemFailures are not deleted
// and come back (a throttled one after the delay the worker set on it).
func handler(process batchProcessor, metrics *batchMetrics, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
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

// batchMetrics writes one CloudWatch Embedded Metric Format line per batch.
type batchMetrics struct {
	out   io.Writer
	stage string
	clock domain.Clock
}

func (m *batchMetrics) write(s app.BatchStats) {
	// SyncJobs counts queue messages; the SyncJobs* outcomes and
	// MailboxSyncs count mailboxes (a message names up to 10).
	emf.Write(m.out, m.stage, m.clock.Now(),
		emf.Metric{Name: "SyncJobs", Value: s.Jobs}, emf.Metric{Name: "MailboxSyncs", Value: s.Mailboxes},
		emf.Metric{Name: "SyncJobsRequeued", Value: s.Requeued}, emf.Metric{Name: "SyncJobsFailed", Value: s.Failed},
		emf.Metric{Name: "SyncJobsRejected", Value: s.Rejected}, emf.Metric{Name: "EWSCalls", Value: s.EWSCalls},
		emf.Metric{Name: "ThrottledCalls", Value: s.Throttled}, emf.Metric{Name: "ChangesAppended", Value: s.Appended})
}
