// Command scheduler is the scheduler Lambda: invoked every minute by
// EventBridge Scheduler, it runs one schedule tick against DynamoDB and the
// FIFO sync queue (functions/internal/schedulerfn wires it).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/functions/internal/schedulerfn"
	"github.com/mailbridge/mailbridge/shared/platform/config"
)

func main() {
	lambda.Start(lambdaenv.Must(schedulerfn.New(context.Background(), config.Env())))
}
