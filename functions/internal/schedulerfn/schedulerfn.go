// Package schedulerfn wires the scheduler Lambda: invoked every minute by
// EventBridge Scheduler, it runs one schedule tick (app.Scheduler) against
// DynamoDB and the FIFO sync queue. New builds the handler from the
// function's environment; functions/scheduler/main.go starts it, and the
// deploy rehearsal calls it in-process. Wiring only.
package schedulerfn

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/sqsqueue"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/config"
)

// New returns the function's handler, or why it cannot start.
func New(ctx context.Context, r *config.Reader, opts ...lambdaenv.Option) (func(context.Context, json.RawMessage) (app.TickSummary, error), error) {
	// The function's own settings first: Load refuses to start on any
	// bad setting, these included.
	queueURL := r.RequiredURL("MAILBRIDGE_SYNC_QUEUE_URL", "https")
	perMessage := r.Int("MAILBRIDGE_MAILBOXES_PER_MESSAGE", app.DefaultMailboxesPerJob, 1, domain.MaxJobMailboxes)
	env, err := lambdaenv.Load(ctx, r, opts...)
	if err != nil {
		return nil, err
	}
	store, err := env.Store()
	if err != nil {
		return nil, err
	}
	s := &app.Scheduler{Store: store, Queue: sqsqueue.New(sqs.NewFromConfig(env.AWS), queueURL), MailboxesPerJob: perMessage}
	return handler(s, domain.SystemClock{}, env.Log), nil
}
