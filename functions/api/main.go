// Command api is the API Lambda behind API Gateway (REST API, IAM auth):
// the shared/api handlers over DynamoDB, Secrets Manager and the EWS probe.
// Wiring only.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/shared/api"
	"github.com/mailbridge/mailbridge/shared/aws/sqsqueue"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load(context.Background()))
	store := lambdaenv.Must(env.Store())
	secrets := lambdaenv.Must(env.Secrets())
	callers := lambdaenv.Must(api.ParseCallerTenants(os.Getenv("MAILBRIDGE_CALLER_TENANTS")))
	// Probe connections are checked against the URL policy at dial time,
	// like the sync path's, so a DNS change cannot point a tenant inward.
	checker := ewsmailbox.NewChecker(ewsmailbox.CheckerOptions{
		Client:  env.EWSOptions(),
		Timeout: 15 * time.Second,
	})
	h := api.New(api.Deps{
		Store:         store,
		Secrets:       secrets,
		Checker:       checker,
		Clock:         domain.SystemClock{},
		Logger:        env.Log,
		URLPolicy:     env.URLPolicy,
		CallerTenants: callers,
		CalendarQueue: sqsqueue.New(sqs.NewFromConfig(env.AWS), os.Getenv("MAILBRIDGE_CALENDAR_QUEUE_URL")),
		// API Gateway answers 504 after 29 s; leave time to record results.
		VerifyTimeout: 20 * time.Second,
	})
	lambda.Start(api.LambdaHandler(h))
}
