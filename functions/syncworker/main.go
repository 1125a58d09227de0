// Command syncworker is the sync-worker Lambda: SQS delivers batches of
// sync jobs and the worker syncs their mailboxes, reporting the messages
// that must come back as batch item failures
// (functions/internal/syncworkerfn wires it).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/functions/internal/syncworkerfn"
	"github.com/mailbridge/mailbridge/shared/platform/config"
)

func main() {
	lambda.Start(lambdaenv.Must(syncworkerfn.New(context.Background(), config.Env())))
}
