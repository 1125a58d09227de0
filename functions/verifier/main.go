// Command verifier is the nightly re-verification Lambda (seed 004):
// EventBridge Scheduler invokes it once a night; app.Nightly re-checks every
// mailbox of every active tenant and records statuses, hints and effective
// access modes. Wiring only.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/dynamostore"
	"github.com/mailbridge/mailbridge/shared/ewsaccess"
	"github.com/mailbridge/mailbridge/shared/probe"
	"github.com/mailbridge/mailbridge/shared/smsecrets"
	"github.com/mailbridge/mailbridge/shared/urlguard"
)

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
	policy := urlguard.Policy{AllowedPrivate: private}
	clock := domain.SystemClock{}
	checker := probe.New(probe.Options{Client: ewsaccess.Options{HTTPClient: &http.Client{Transport: policy.Transport()}}})
	tenants := &app.Tenants{Store: store, Secrets: secrets, Checker: checker, Clock: clock, URLs: policy, Log: log}
	nightly := &app.Nightly{Store: store, Tenants: tenants, Log: log}
	lambda.Start(handler(nightly.Run, clock, log))
}

// handler runs one night's verification. A tenant that fails is logged and
// the run still succeeds: a retry by the scheduler would re-check every
// other tenant too, and tomorrow's run covers it.
func handler(run func(context.Context) (app.NightlySummary, error), clock domain.Clock, log *slog.Logger) func(context.Context) (app.NightlySummary, error) {
	return func(ctx context.Context) (app.NightlySummary, error) {
		began := clock.Now()
		sum, err := run(ctx)
		attrs := []any{"tenants", sum.Tenants, "offboarded", sum.Offboarded, "mailboxes", sum.Mailboxes,
			"byStatus", sum.ByStatus, "failedTenants", len(sum.FailedTenants), "unfinished", sum.Unfinished,
			"ms", clock.Now().Sub(began).Milliseconds()}
		if err != nil {
			log.Error("nightly verify failed", append(attrs, "err", err)...)
			return sum, err
		}
		log.Info("nightly verify", attrs...)
		return sum, nil
	}
}
