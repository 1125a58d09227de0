// Package sfnretry is the Step Functions adapter of domain.RetryScheduler:
// it starts one execution of the calendar-retry state machine
// (infra/calendar-retry.asl.json) per failed calendar write. The execution
// waits until retryAt (a Wait state with TimestampPath), invokes the
// calendarwriter Lambda and loops while the Lambda answers "retry", so
// Step Functions owns the retries; nothing here loops or sleeps.
package sfnretry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// MaxInputBytes is Step Functions' limit on an execution's input.
const MaxInputBytes = 256 * 1024

// API is the part of *sfn.Client the adapter uses.
type API interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// Scheduler starts retry executions of one state machine.
type Scheduler struct {
	client API
	arn    string
}

// New returns the adapter for the state machine stateMachineARN.
func New(client API, stateMachineARN string) *Scheduler {
	return &Scheduler{client: client, arn: stateMachineARN}
}

var _ domain.RetryScheduler = (*Scheduler)(nil)

// Input is the execution input: what the Wait state and the Lambda read.
// RetryAt is whole seconds in UTC, the RFC 3339 form the Wait state's
// TimestampPath accepts.
type Input struct {
	Request     domain.WriteRequest `json:"request"`
	RetriesDone int                 `json:"retriesDone"`
	RetryAt     string              `json:"retryAt"`
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ExecutionName names the execution of a request's retry deterministically,
// so a redelivered queue message cannot start a second one: Step Functions
// keeps names unique per state machine for 90 days. Ids that are not safe
// as a name (1-80 of A-Z a-z 0-9 - _) are hashed.
func ExecutionName(requestID string, retry int) string {
	id := requestID
	if !safeName.MatchString(id) {
		sum := sha256.Sum256([]byte(requestID))
		id = "h" + hex.EncodeToString(sum[:20])
	}
	return fmt.Sprintf("%s-retry%d", id, retry)
}

// ScheduleRetry starts the execution for r. An execution of the same name
// that already exists means this retry was scheduled before (the message
// was delivered again), which is success.
func (s *Scheduler) ScheduleRetry(ctx context.Context, r domain.CalendarRetry) error {
	if r.Request.ID == "" {
		return errors.New("sfnretry: the request has no id")
	}
	if r.RetriesDone < 1 || r.RetryAt.IsZero() {
		return fmt.Errorf("sfnretry: retry %d at %v is not a scheduled retry", r.RetriesDone, r.RetryAt)
	}
	at := r.RetryAt.UTC()
	if at.Truncate(time.Second) != at {
		at = at.Truncate(time.Second).Add(time.Second) // never earlier than asked
	}
	input, err := json.Marshal(Input{Request: r.Request, RetriesDone: r.RetriesDone, RetryAt: at.Format(time.RFC3339)})
	if err != nil {
		return fmt.Errorf("sfnretry: encoding the input: %w", err)
	}
	if len(input) > MaxInputBytes {
		return fmt.Errorf("sfnretry: input of %d bytes exceeds Step Functions' %d", len(input), MaxInputBytes)
	}
	_, err = s.client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.arn),
		Name:            aws.String(ExecutionName(r.Request.ID, r.RetriesDone)),
		Input:           aws.String(string(input)),
	})
	var exists *types.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sfnretry: starting retry %d of request %s: %w", r.RetriesDone, r.Request.ID, err)
	}
	return nil
}
