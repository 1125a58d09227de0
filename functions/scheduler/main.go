// Command scheduler is the scheduler Lambda: invoked every minute by
// EventBridge Scheduler, it runs one schedule tick (app.Scheduler) against
// DynamoDB and the FIFO sync queue. Wiring only.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/sqsqueue"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/config"
)

func main() {
	// The function's own settings first: Load refuses to start on any
	// bad setting, these included.
	r := config.Env()
	queueURL := r.RequiredURL("MAILBRIDGE_SYNC_QUEUE_URL", "https")
	perMessage := r.Int("MAILBRIDGE_MAILBOXES_PER_MESSAGE", app.DefaultMailboxesPerJob, 1, domain.MaxJobMailboxes)
	env := lambdaenv.Must(lambdaenv.Load(context.Background(), r))
	store := lambdaenv.Must(env.Store())
	s := &app.Scheduler{Store: store, Queue: sqsqueue.New(sqs.NewFromConfig(env.AWS), queueURL), MailboxesPerJob: perMessage}
	lambda.Start(handler(s, domain.SystemClock{}, env.Log))
}
