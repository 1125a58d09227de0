// Command api is the API Lambda behind API Gateway (REST API, IAM auth):
// the shared/api handlers over DynamoDB, Secrets Manager and the EWS probe.
// Wiring only.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mailbridge/mailbridge/shared/api"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/dynamostore"
	"github.com/mailbridge/mailbridge/shared/ewsaccess"
	"github.com/mailbridge/mailbridge/shared/probe"
	"github.com/mailbridge/mailbridge/shared/smsecrets"
	"github.com/mailbridge/mailbridge/shared/sqsqueue"
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
	clock := domain.SystemClock{}
	store, err := dynamostore.New(dynamostore.NewClient(cfg, ""), dynamostore.Options{
		Table:          os.Getenv("MAILBRIDGE_TABLE"),
		Clock:          clock,
		AuditRetention: time.Duration(envInt("MAILBRIDGE_AUDIT_RETENTION_DAYS", 90)) * 24 * time.Hour,
	})
	if err != nil {
		fail("store", err)
	}
	secrets, err := smsecrets.New(smsecrets.NewClient(cfg, ""), smsecrets.Options{
		Stage: os.Getenv("MAILBRIDGE_STAGE"), KMSKeyID: os.Getenv("MAILBRIDGE_SECRETS_KMS_KEY"),
	})
	if err != nil {
		fail("secrets", err)
	}
	private, err := urlguard.ParsePrefixes(os.Getenv("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS"))
	if err != nil {
		fail("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS", err)
	}
	callers, err := api.ParseCallerTenants(os.Getenv("MAILBRIDGE_CALLER_TENANTS"))
	if err != nil {
		fail("MAILBRIDGE_CALLER_TENANTS", err)
	}
	policy := urlguard.Policy{AllowedPrivate: private}
	// Probe connections are checked against the URL policy at dial time,
	// like the sync path's, so a DNS change cannot point a tenant inward.
	checker := probe.New(probe.Options{
		Client:  ewsaccess.Options{HTTPClient: &http.Client{Transport: policy.Transport()}},
		Timeout: 15 * time.Second,
	})
	h := api.New(api.Deps{
		Store:         store,
		Secrets:       secrets,
		Checker:       checker,
		Clock:         clock,
		Logger:        log,
		URLPolicy:     policy,
		CallerTenants: callers,
		CalendarQueue: sqsqueue.New(sqs.NewFromConfig(cfg), os.Getenv("MAILBRIDGE_CALENDAR_QUEUE_URL")),
		// API Gateway answers 504 after 29 s; leave time to record results.
		VerifyTimeout: 20 * time.Second,
	})
	lambda.Start(api.LambdaHandler(h))
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
