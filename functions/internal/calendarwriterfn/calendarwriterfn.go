// Package calendarwriterfn wires the calendar-writer Lambda. SQS delivers
// the requests the API queued (first attempts); the calendar-retry state
// machine invokes it directly for retries, after waiting until the time
// the calendar retry rule gave. New builds the handler from the function's
// environment; functions/calendarwriter/main.go starts it, and the deploy
// rehearsal calls it in-process. Wiring only.
package calendarwriterfn

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/sfnretry"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/config"
	"github.com/mailbridge/mailbridge/shared/platform/secretcache"
)

// ewsTimeout bounds each EWS call, so one write (two calls) fits the
// per-record budget.
const ewsTimeout = 20 * time.Second

// stateMachineARN is the shape of a Step Functions state machine's ARN:
// checked at start-up, since a bad one would first fail at a write's retry.
var stateMachineARN = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$`)

func parseStateMachineARN(s string) (string, error) {
	if !stateMachineARN.MatchString(s) {
		return "", errors.New("not a Step Functions state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)")
	}
	return s, nil
}

// New returns the function's handler, or why it cannot start.
func New(ctx context.Context, r *config.Reader, opts ...lambdaenv.Option) (func(context.Context, json.RawMessage) (any, error), error) {
	// The function's own settings first: Load refuses to start on any
	// bad setting, these included.
	machine := config.ParseRequired(r, "MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN", parseStateMachineARN)
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
	clock := domain.SystemClock{}
	ewsOptions := env.EWSOptions()
	ewsOptions.Timeout = ewsTimeout
	graphOptions := env.GraphOptions()
	graphOptions.Timeout = ewsTimeout
	w := &app.CalendarWrites{
		Store:   store,
		Secrets: secretcache.New(secrets, 0, clock),
		// Every connection to Exchange is checked against the URL policy
		// at dial time (the EWS client requires it), so a DNS change
		// cannot point a tenant inward.
		Calendars: app.Protocols{
			EWS:   app.ProtocolAdapters{Calendar: ewsmailbox.NewCalendarConnector(ewsOptions)},
			Graph: app.ProtocolAdapters{Calendar: graphmailbox.NewConnector(graphOptions)},
		},
		Retries: sfnretry.New(sfn.NewFromConfig(env.AWS), machine),
		Clock:   clock,
		Log:     env.Log,
	}
	// The room-release schedule: meetings in policy rooms nobody checked
	// in are declined as the room (its own Exchange access, like writes).
	graphRooms := graphmailbox.NewConnector(graphOptions)
	rel := &app.RoomMeetings{
		Store: store, Marks: store, Secrets: w.Secrets, Clock: clock, Log: env.Log,
		Calendars: app.Protocols{
			EWS:   app.ProtocolAdapters{RoomCalendar: ewsmailbox.NewRoomCalendarConnector(ewsOptions)},
			Graph: app.ProtocolAdapters{RoomCalendar: graphRooms},
		},
		Rooms: app.Protocols{
			EWS:   app.ProtocolAdapters{Rooms: ewsmailbox.NewRoomConnector(ewsOptions)},
			Graph: app.ProtocolAdapters{Rooms: graphRooms},
		},
	}
	return handler(w, rel, &metrics{out: os.Stdout, stage: env.Stage, clock: clock}, env.Log), nil
}
