// Command verifier is the nightly re-verification Lambda: EventBridge
// Scheduler invokes it once a night to re-check every mailbox of every
// active tenant (functions/internal/verifierfn wires it).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/functions/internal/verifierfn"
	"github.com/mailbridge/mailbridge/shared/platform/config"
)

func main() {
	lambda.Start(lambdaenv.Must(verifierfn.New(context.Background(), config.Env())))
}
