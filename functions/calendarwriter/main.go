// Command calendarwriter is the calendar-writer Lambda. SQS delivers the
// requests the API queued (first attempts); the calendar-retry state
// machine invokes it directly for retries, after waiting until the time
// the seed-002 rule gave. Wiring only.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/sfnretry"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/secretcache"
)

// ewsTimeout bounds each EWS call, so one write (two calls) fits the
// per-record budget.
const ewsTimeout = 20 * time.Second

func main() {
	env := lambdaenv.Must(lambdaenv.Load(context.Background()))
	store := lambdaenv.Must(env.Store())
	secrets := lambdaenv.Must(env.Secrets())
	machine := lambdaenv.Must(lambdaenv.Require("MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN"))
	clock := domain.SystemClock{}
	ewsOptions := env.EWSOptions()
	ewsOptions.Timeout = ewsTimeout
	w := &app.CalendarWrites{
		Store:   store,
		Secrets: secretcache.New(secrets, 0, clock),
		// Every connection to Exchange is checked against the URL policy
		// at dial time (the EWS client requires it), so a DNS change
		// cannot point a tenant inward.
		Calendars: ewsmailbox.NewCalendarConnector(ewsOptions),
		Retries:   sfnretry.New(sfn.NewFromConfig(env.AWS), machine),
		Clock:     clock,
		Log:       env.Log,
	}
	lambda.Start(handler(w, &metrics{out: os.Stdout, stage: env.Stage, clock: clock}, env.Log))
}
