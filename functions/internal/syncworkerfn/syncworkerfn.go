// Package syncworkerfn wires the sync-worker Lambda: SQS delivers batches
// of sync jobs (up to 10 mailboxes each), app.BatchWorker runs their
// mailboxes side by side (a delegate job's one after the other), and the
// messages that must come back are reported as batch item failures.
// Throttled jobs are handed back with the server's delay through
// ChangeMessageVisibility; the function never sleeps. New builds the
// handler from the function's environment; functions/syncworker/main.go
// starts it, and the deploy rehearsal calls it in-process. Wiring only.
package syncworkerfn

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/aws/s3archive"
	"github.com/mailbridge/mailbridge/shared/aws/sqsqueue"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/config"
	"github.com/mailbridge/mailbridge/shared/platform/secretcache"
)

// New returns the function's handler, or why it cannot start.
func New(ctx context.Context, r *config.Reader, opts ...lambdaenv.Option) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	// The function's own settings first: Load refuses to start on any
	// bad setting, these included.
	queueURL := r.RequiredURL("MAILBRIDGE_SYNC_QUEUE_URL", "https")
	concurrency := r.Int("MAILBRIDGE_BATCH_CONCURRENCY", app.DefaultBatchConcurrency, 1, maxBatchConcurrency)
	lastSyncRefresh := config.Parse(r, "MAILBRIDGE_LASTSYNC_REFRESH", app.DefaultLastSyncRefresh, app.ParseLastSyncRefresh)
	// The archive bucket (archive export, docs/items.md); unset: a tenant
	// with archive on fails its syncs (app.ErrArchiveNotConfigured).
	archiveBucket := config.Parse(r, "MAILBRIDGE_ARCHIVE_BUCKET", "", s3archive.ParseBucket)
	archiveKey := r.String("MAILBRIDGE_ARCHIVE_KMS_KEY", "")
	archiveMax := int64(r.Int("MAILBRIDGE_ARCHIVE_MAX_BYTES", int(app.DefaultArchiveMaxBytes), 1<<20, int(domain.MaxArchiveBytes)))
	env, err := lambdaenv.Load(ctx, r, opts...)
	if err != nil {
		return nil, err
	}
	// The worker reads the mailbox and its checkpoint eventually
	// consistently (half the read units): a stale checkpoint ends in a
	// version conflict and the job is retried (app.ConflictRetryDelay).
	store, err := env.Store(func(o *dynamostore.Options) { o.EventuallyConsistentReads = true })
	if err != nil {
		return nil, err
	}
	secrets, err := env.Secrets()
	if err != nil {
		return nil, err
	}
	clock := domain.SystemClock{}
	// Every connection to Exchange is checked against the URL policy at
	// dial time, so a DNS change cannot point a tenant inward.
	// Each tenant's jobs reach the adapter of its protocol.
	graph := graphmailbox.NewConnector(env.GraphOptions())
	connector := app.Protocols{
		EWS:   app.ProtocolAdapters{Connector: ewsmailbox.NewConnector(env.EWSOptions())},
		Graph: app.ProtocolAdapters{Connector: graph},
	}
	var archive *archiveDeps
	if archiveBucket != "" {
		// The archive reads each new message's MIME through the content
		// adapters, bounded by the archive's limit, not the API's.
		archive = &archiveDeps{
			maxBytes: archiveMax,
			store:    s3archive.New(s3archive.NewClient(env.AWS, ""), archiveBucket, archiveKey),
			content: app.Protocols{
				EWS:   app.ProtocolAdapters{Content: ewsmailbox.NewContentConnector(env.EWSOptions(), archiveMax)},
				Graph: app.ProtocolAdapters{Content: graph}, // its token cache too
			},
		}
	}
	worker := newWorker(store, secrets, connector, sqsqueue.New(sqs.NewFromConfig(env.AWS), queueURL), clock, env.Log, lastSyncRefresh, archive)
	worker.Concurrency = concurrency
	return handler(worker.Process, &batchMetrics{out: os.Stdout, stage: env.Stage, clock: clock}, env.Log), nil
}

// newWorker wires the sync use case for the Lambda: the tenant record is
// cached (a tenant change, offboarding included, reaches a warm worker
// within app.DefaultTenantCacheTTL), secrets are cached, and each job's
// audit entry is handed to the batch worker, which writes the batch's
// entries in one call before the batch is acknowledged. lastSyncRefresh is
// MAILBRIDGE_LASTSYNC_REFRESH (0: the default).
func newWorker(store workerStore, secrets domain.SecretStore, connector domain.Connector, requeuer app.Requeuer, clock domain.Clock, log *slog.Logger, lastSyncRefresh time.Duration, archive *archiveDeps) *app.BatchWorker {
	syncer := &app.Syncer{
		Store:           store,
		Tenants:         &app.TenantCache{Store: store, Clock: clock},
		Secrets:         secretcache.New(secrets, secretTTL, clock),
		Connector:       connector,
		Clock:           clock,
		Log:             log,
		DeadlineMargin:  30 * time.Second,
		DeferAudit:      true,
		LastSyncRefresh: lastSyncRefresh,
	}
	if archive != nil {
		syncer.Archive, syncer.Content, syncer.ArchiveMaxBytes = archive.store, archive.content, archive.maxBytes
	}
	// The store also remembers a returning job's finished mailboxes and
	// reads a job's mailboxes with one range query.
	return &app.BatchWorker{Syncer: syncer, Requeuer: requeuer, Audit: store, Progress: store, Snapshots: store, Log: log}
}

// archiveDeps are the archive export's store and MIME reader; nil: no
// archive configured.
type archiveDeps struct {
	store    domain.ArchiveStore
	content  domain.ContentConnector
	maxBytes int64 // MAILBRIDGE_ARCHIVE_MAX_BYTES
}

// workerStore is what the worker needs of its store (dynamostore.Store,
// or boltstore.Store in tests).
type workerStore interface {
	domain.Store
	domain.JobProgressStore
	domain.SyncSnapshotReader
}

// maxBatchConcurrency bounds MAILBRIDGE_BATCH_CONCURRENCY: a batch names at
// most 10 messages of domain.MaxJobMailboxes mailboxes, so more could never
// run at once.
const maxBatchConcurrency = 10 * domain.MaxJobMailboxes

// secretTTL is how long a warm worker keeps a tenant's credential. An
// hour, not secretcache's default 5 minutes: Secrets Manager bills every
// read, and a rotation still reaches the worker at once, because a
// credential Exchange rejects is dropped from the cache and read again
// (Syncer calls Forget); an offboarded tenant's jobs stop through the
// tenant cache within a minute.
const secretTTL = time.Hour
