// Command calendarwriter is the calendar-writer Lambda. SQS delivers the
// requests the API queued (first attempts); the calendar-retry state
// machine invokes it directly for retries, after waiting until the time
// the calendar retry rule gave (functions/internal/calendarwriterfn wires
// it).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mailbridge/mailbridge/functions/internal/calendarwriterfn"
	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/shared/platform/config"
)

func main() {
	lambda.Start(lambdaenv.Must(calendarwriterfn.New(context.Background(), config.Env())))
}
