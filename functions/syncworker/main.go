// Command syncworker is the sync-worker Lambda: SQS delivers batches of
// sync jobs (one per mailbox), app.BatchWorker runs them side by side, and
// the messages that must come back are reported as batch item failures.
// Throttled jobs are handed back with the server's delay through
// ChangeMessageVisibility; the function never sleeps. Wiring only.
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

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/dynamostore"
	"github.com/mailbridge/mailbridge/shared/ewsaccess"
	"github.com/mailbridge/mailbridge/shared/secretcache"
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
	stage := os.Getenv("MAILBRIDGE_STAGE")
	// The worker reads the mailbox and its checkpoint eventually
	// consistently (half the read units): a stale checkpoint ends in a
	// version conflict and the job is retried (app.ConflictRetryDelay).
	store, err := dynamostore.New(dynamostore.NewClient(cfg, ""), dynamostore.Options{
		Table: os.Getenv("MAILBRIDGE_TABLE"), EventuallyConsistentReads: true,
	})
	if err != nil {
		fail("store", err)
	}
	secrets, err := smsecrets.New(smsecrets.NewClient(cfg, ""), smsecrets.Options{Stage: stage, KMSKeyID: os.Getenv("MAILBRIDGE_SECRETS_KMS_KEY")})
	if err != nil {
		fail("secrets", err)
	}
	private, err := urlguard.ParsePrefixes(os.Getenv("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS"))
	if err != nil {
		fail("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS", err)
	}
	queueURL := os.Getenv("MAILBRIDGE_SYNC_QUEUE_URL")
	if queueURL == "" {
		fail("MAILBRIDGE_SYNC_QUEUE_URL is not set", nil)
	}
	policy := urlguard.Policy{AllowedPrivate: private}
	clock := domain.SystemClock{}
	// Every connection to Exchange is checked against the URL policy at
	// dial time, so a DNS change cannot point a tenant inward.
	connector := ewsaccess.NewConnector(ewsaccess.Options{HTTPClient: &http.Client{Transport: policy.Transport()}})
	worker := newWorker(store, secrets, connector, sqsqueue.New(sqs.NewFromConfig(cfg), queueURL), clock, log)
	worker.Concurrency = envInt("MAILBRIDGE_BATCH_CONCURRENCY", app.DefaultBatchConcurrency)
	lambda.Start(handler(worker.Process, &emf{out: os.Stdout, stage: stage, clock: clock}, log))
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// newWorker wires the sync use case for the Lambda: the tenant record is
// cached (a tenant change, offboarding included, reaches a warm worker
// within app.DefaultTenantCacheTTL), secrets are cached, and each job's
// audit entry is handed to the batch worker, which writes the batch's
// entries in one call before the batch is acknowledged.
func newWorker(store domain.Store, secrets domain.SecretStore, connector domain.Connector, requeuer app.Requeuer, clock domain.Clock, log *slog.Logger) *app.BatchWorker {
	syncer := &app.Syncer{
		Store:          store,
		Tenants:        &app.TenantCache{Store: store, Clock: clock},
		Secrets:        secretcache.New(secrets, 0, clock),
		Connector:      connector,
		Clock:          clock,
		Log:            log,
		DeadlineMargin: 30 * time.Second,
		DeferAudit:     true,
	}
	return &app.BatchWorker{Syncer: syncer, Requeuer: requeuer, Audit: store, Log: log}
}
