// Command scheduler is the scheduler Lambda: invoked every minute by
// EventBridge Scheduler, it runs one schedule tick (app.Scheduler) against
// DynamoDB and the FIFO sync queue. Wiring only.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/dynamostore"
	"github.com/mailbridge/mailbridge/shared/sqsqueue"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws config", "err", err)
		os.Exit(1)
	}
	store, err := dynamostore.New(dynamostore.NewClient(cfg, ""), dynamostore.Options{Table: os.Getenv("MAILBRIDGE_TABLE")})
	if err != nil {
		log.Error("store", "err", err)
		os.Exit(1)
	}
	queueURL := os.Getenv("MAILBRIDGE_SYNC_QUEUE_URL")
	if queueURL == "" {
		log.Error("MAILBRIDGE_SYNC_QUEUE_URL is not set")
		os.Exit(1)
	}
	s := &app.Scheduler{Store: store, Queue: sqsqueue.New(sqs.NewFromConfig(cfg), queueURL)}
	lambda.Start(handler(s, domain.SystemClock{}, log))
}
