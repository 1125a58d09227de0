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
	"time"

	"github.com/mailbridge/mailbridge/shared/lambdaenv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/dynamostore"
	"github.com/mailbridge/mailbridge/shared/ewsaccess"
	"github.com/mailbridge/mailbridge/shared/secretcache"
	"github.com/mailbridge/mailbridge/shared/sqsqueue"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Load(context.Background()))
	// The worker reads the mailbox and its checkpoint eventually
	// consistently (half the read units): a stale checkpoint ends in a
	// version conflict and the job is retried (app.ConflictRetryDelay).
	store := lambdaenv.Must(env.Store(func(o *dynamostore.Options) { o.EventuallyConsistentReads = true }))
	secrets := lambdaenv.Must(env.Secrets())
	queueURL := lambdaenv.Must(lambdaenv.Require("MAILBRIDGE_SYNC_QUEUE_URL"))
	clock := domain.SystemClock{}
	// Every connection to Exchange is checked against the URL policy at
	// dial time, so a DNS change cannot point a tenant inward.
	connector := ewsaccess.NewConnector(ewsaccess.Options{HTTPClient: &http.Client{Transport: env.URLPolicy.Transport()}})
	worker := newWorker(store, secrets, connector, sqsqueue.New(sqs.NewFromConfig(env.AWS), queueURL), clock, env.Log)
	worker.Concurrency = lambdaenv.Int("MAILBRIDGE_BATCH_CONCURRENCY", app.DefaultBatchConcurrency)
	lambda.Start(handler(worker.Process, &emf{out: os.Stdout, stage: env.Stage, clock: clock}, env.Log))
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
