// Command calendarwriter is the calendar-writer Lambda. SQS delivers the
// requests the API queued (first attempts); the calendar-retry state
// machine invokes it directly for retries, after waiting until the time
// the seed-002 rule gave. Wiring only.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/dynamostore"
	"github.com/mailbridge/mailbridge/shared/ewsaccess"
	"github.com/mailbridge/mailbridge/shared/ewscalendar"
	"github.com/mailbridge/mailbridge/shared/sfnretry"
	"github.com/mailbridge/mailbridge/shared/smsecrets"
	"github.com/mailbridge/mailbridge/shared/urlguard"
)

// ewsTimeout bounds each EWS call, so one write (two calls) fits the
// per-record budget.
const ewsTimeout = 20 * time.Second

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	fail := func(msg string, err error) {
		log.Error(msg, "err", err)
		os.Exit(1)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail("aws config", err)
	}
	store, err := dynamostore.New(dynamostore.NewClient(cfg, ""), dynamostore.Options{Table: os.Getenv("MAILBRIDGE_TABLE")})
	if err != nil {
		fail("store", err)
	}
	secrets, err := smsecrets.New(smsecrets.NewClient(cfg, ""), smsecrets.Options{Stage: os.Getenv("MAILBRIDGE_STAGE"), KMSKeyID: os.Getenv("MAILBRIDGE_SECRETS_KMS_KEY")})
	if err != nil {
		fail("secrets", err)
	}
	private, err := urlguard.ParsePrefixes(os.Getenv("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS"))
	if err != nil {
		fail("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS", err)
	}
	machine := os.Getenv("MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN")
	if machine == "" {
		fail("MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN is not set", nil)
	}
	policy := urlguard.Policy{AllowedPrivate: private}
	clock := domain.SystemClock{}
	w := &app.CalendarWrites{
		Store:   store,
		Secrets: &app.SecretCache{Store: secrets, Clock: clock},
		// Every connection to Exchange is checked against the URL policy
		// at dial time, so a DNS change cannot point a tenant inward.
		Calendars: ewscalendar.NewConnector(ewsaccess.Options{HTTPClient: &http.Client{Transport: policy.Transport()}, Timeout: ewsTimeout}),
		Retries:   sfnretry.New(sfn.NewFromConfig(cfg), machine),
		Clock:     clock,
		Log:       log,
	}
	lambda.Start(handler(w, &metrics{out: os.Stdout, stage: os.Getenv("MAILBRIDGE_STAGE"), clock: clock}, log))
}
