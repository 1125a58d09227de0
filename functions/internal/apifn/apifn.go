// Package apifn wires the API Lambda behind API Gateway (REST API, IAM
// auth): the shared/api handlers over DynamoDB, Secrets Manager, the
// calendar queue, the archive bucket (offboarding's deletes) and the EWS
// and Graph probes. New builds the handler from the function's environment; functions/api/main.go starts it, and the
// deploy rehearsal calls it in-process. Wiring only.
package apifn

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/shared/api"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/s3archive"
	"github.com/mailbridge/mailbridge/shared/aws/sqsqueue"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/config"
)

// New returns the function's handler, or why it cannot start.
func New(ctx context.Context, r *config.Reader, opts ...lambdaenv.Option) (func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error), error) {
	// The function's own settings first: Load refuses to start on any
	// bad setting, these included.
	callers := config.Parse(r, "MAILBRIDGE_CALLER_TENANTS", nil, api.ParseCallerTenants)
	calendarQueueURL := r.URL("MAILBRIDGE_CALENDAR_QUEUE_URL", "", "https")
	rateLimit := config.Parse(r, "MAILBRIDGE_API_RATE_LIMIT", api.DefaultRateLimit, api.ParseRateLimit)
	// Behind API Gateway at most api.LambdaContentLimit is answered
	// whatever this says (its 6 MB response limit).
	contentMax := r.Int("MAILBRIDGE_CONTENT_MAX_BYTES", app.DefaultContentMaxBytes, 1024, 1<<30)
	// The archive bucket (archive export): offboarding deletes the
	// tenant's archived messages from it. Unset: no archive to delete.
	archiveBucket := config.Parse(r, "MAILBRIDGE_ARCHIVE_BUCKET", "", s3archive.ParseBucket)
	env, err := lambdaenv.Load(ctx, r, opts...)
	if err != nil {
		return nil, err
	}
	store, err := env.Store()
	if err != nil {
		return nil, err
	}
	secrets, err := env.Secrets()
	if err != nil {
		return nil, err
	}
	// The calendar routes are served only with a queue to put the writes on.
	var calendarQueue domain.Queue
	if calendarQueueURL != "" {
		calendarQueue = sqsqueue.New(sqs.NewFromConfig(env.AWS), calendarQueueURL)
	}
	var archive domain.ArchiveStore
	if archiveBucket != "" {
		// Deletes only: no object is written here, so no KMS key.
		archive = s3archive.New(s3archive.NewClient(env.AWS, ""), archiveBucket, "")
	}
	// Probe connections are checked against the URL policy at dial time,
	// like the sync path's, so a DNS change cannot point a tenant inward.
	graphOptions := env.GraphOptions()
	graphOptions.Timeout = 15 * time.Second
	graph := graphmailbox.NewConnector(graphOptions)
	checker := app.Protocols{
		EWS: app.ProtocolAdapters{
			Checker: ewsmailbox.NewChecker(ewsmailbox.CheckerOptions{
				Client:  env.EWSOptions(),
				Timeout: 15 * time.Second,
			}),
			Availability: ewsmailbox.NewAvailabilityConnector(env.EWSOptions()),
			Rooms:        ewsmailbox.NewRoomConnector(env.EWSOptions()),
			People:       ewsmailbox.NewPeopleConnector(env.EWSOptions()),
			CalendarView: ewsmailbox.NewCalendarViewConnector(env.EWSOptions()),
			RoomCalendar: ewsmailbox.NewRoomCalendarConnector(env.EWSOptions()),
			Content:      ewsmailbox.NewContentConnector(env.EWSOptions(), int64(min(contentMax, api.LambdaContentLimit))),
		},
		Graph: app.ProtocolAdapters{Checker: graph, Availability: graph, Rooms: graph, People: graph, RoomCalendar: graph, Content: graph, CalendarView: graph},
	}
	h := api.New(api.Deps{
		Store:         store,
		Secrets:       secrets,
		Checker:       checker,
		Clock:         domain.SystemClock{},
		Logger:        env.Log,
		URLPolicy:     env.URLPolicy,
		Archive:       archive,
		CallerTenants: callers,
		CalendarQueue: calendarQueue,
		RateLimit:     rateLimit,
		Availability:  checker,
		Rooms:         checker,
		People:        checker,
		CalendarView:  checker,
		RoomCalendar:  checker,
		Content:       checker,
		// ContentMaxBytes: MAILBRIDGE_CONTENT_MAX_BYTES, and never more
		// than API Gateway can answer (LambdaHandler lowers it).
		ContentMaxBytes: int64(contentMax),
		// API Gateway answers 504 after 29 s; leave time to record results.
		VerifyTimeout:       20 * time.Second,
		AvailabilityTimeout: 20 * time.Second,
	})
	return api.LambdaHandler(h), nil
}
