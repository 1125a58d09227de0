package sfnretry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/testsupport/golden"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/mailbridge/mailbridge/shared/aws/sfnretry"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

func TestMain(m *testing.M) { standin.Main(m) }

// newStateMachine creates the calendar-retry state machine, from the
// definition the template deploys, on moto_server.
func newStateMachine(t *testing.T) (*sfn.Client, string) {
	t.Helper()
	client := sfn.NewFromConfig(standin.AWSConfig(), func(o *sfn.Options) {
		o.BaseEndpoint = aws.String(standin.Moto(t))
	})
	def, err := os.ReadFile(filepath.Join("..", "..", "..", "infra", "calendar-retry.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	def = bytes.ReplaceAll(def, []byte("${CalendarWriterFunctionArn}"), []byte("arn:aws:lambda:us-east-1:123456789012:function:mailbridge-test-calendarwriter"))
	name := strings.NewReplacer("/", "-", " ", "-", ":", "-").Replace(t.Name()) + fmt.Sprint(time.Now().UnixNano())
	out, err := client.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(string(def)),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/mailbridge-test-calendar-retry"),
	})
	if err != nil {
		t.Fatalf("create state machine: %v", err)
	}
	return client, aws.ToString(out.StateMachineArn)
}

func retry(retryAt time.Time) domain.CalendarRetry {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	return domain.CalendarRetry{
		Request: domain.WriteRequest{
			ID: "5f0c9a1e2b3d4c5e6f708192a3b4c5d6", TenantID: "acme", Mailbox: "ann@contoso.com", ClientEventID: "trip-42",
			Op:          domain.WriteUpsert,
			Event:       &domain.EventSpec{Subject: "Flight to Oslo", Start: start, End: start.Add(2 * time.Hour), Location: "OSL"},
			RequestedAt: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC),
		},
		RetriesDone: 1,
		RetryAt:     retryAt,
	}
}

func executions(t *testing.T, c *sfn.Client, arn string) []string {
	t.Helper()
	out, err := c.ListExecutions(context.Background(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range out.Executions {
		names = append(names, aws.ToString(e.Name))
	}
	return names
}

// TestScheduleRetryStartsOneExecution: the execution gets the request,
// the retry number and an RFC 3339 retryAt the Wait state can read, under a
// name derived from the request, so a redelivered message starts nothing
// more.
func TestScheduleRetryStartsOneExecution(t *testing.T) {
	client, arn := newStateMachine(t)
	s := sfnretry.New(client, arn)
	ctx := context.Background()
	// A fractional retry time is rounded up, never down.
	r := retry(time.Date(2026, 11, 24, 8, 0, 0, 250_000_000, time.FixedZone("CET", 3600)))
	if err := s.ScheduleRetry(ctx, r); err != nil {
		t.Fatal(err)
	}
	name := sfnretry.ExecutionName(r.Request.ID, 1)
	execARN := strings.Replace(arn, ":stateMachine:", ":execution:", 1) + ":" + name
	desc, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(execARN)})
	if err != nil {
		t.Fatalf("describe %s: %v", execARN, err)
	}
	var in sfnretry.Input
	if err := json.Unmarshal([]byte(aws.ToString(desc.Input)), &in); err != nil {
		t.Fatal(err)
	}
	if in.RetryAt != "2026-11-24T07:00:01Z" || in.RetriesDone != 1 || in.Request.ID != r.Request.ID || in.Request.Event.Subject != "Flight to Oslo" {
		t.Errorf("execution input %+v", in)
	}
	pretty, _ := json.MarshalIndent(json.RawMessage(aws.ToString(desc.Input)), "", "  ")
	golden.Check(t, filepath.Join("testdata", "execution-input.json"), append(pretty, '\n'))

	for _, tc := range []struct {
		name string
		r    domain.CalendarRetry
	}{
		{"redelivered, same input", r},
		{"redelivered, later retry time", retry(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.ScheduleRetry(ctx, tc.r); err != nil {
				t.Fatalf("a second schedule of the same retry failed: %v", err)
			}
			if got := executions(t, client, arn); len(got) != 1 || got[0] != name {
				t.Errorf("executions %v, want only %s", got, name)
			}
		})
	}
}

func TestScheduleRetryRefusals(t *testing.T) {
	client, arn := newStateMachine(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		s    *sfnretry.Scheduler
		r    func() domain.CalendarRetry
		want string
	}{
		{"no request id", sfnretry.New(client, arn), func() domain.CalendarRetry { r := retry(at); r.Request.ID = ""; return r }, "no id"},
		{"retry zero", sfnretry.New(client, arn), func() domain.CalendarRetry { r := retry(at); r.RetriesDone = 0; return r }, "not a scheduled retry"},
		{"no retry time", sfnretry.New(client, arn), func() domain.CalendarRetry { return retry(time.Time{}) }, "not a scheduled retry"},
		{"input too large", sfnretry.New(client, arn), func() domain.CalendarRetry {
			r := retry(at)
			r.Request.Event.Body = strings.Repeat("x", sfnretry.MaxInputBytes)
			return r
		}, "exceeds"},
		{"unknown state machine", sfnretry.New(client, arn+"-missing"), func() domain.CalendarRetry { return retry(at) }, "starting retry 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.ScheduleRetry(ctx, tc.r())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if got := executions(t, client, arn); len(got) != 0 {
		t.Errorf("refused retries started executions: %v", got)
	}
}

func TestExecutionName(t *testing.T) {
	for _, tc := range []struct {
		id    string
		retry int
		want  string // "" = hashed
	}{
		{"5f0c9a1e2b3d4c5e6f708192a3b4c5d6", 1, "5f0c9a1e2b3d4c5e6f708192a3b4c5d6-retry1"},
		{"req_1-A", 3, "req_1-A-retry3"},
		// Characters Step Functions refuses in a name, and overlong ids, are hashed.
		{"req 1/x", 1, ""},
		{strings.Repeat("a", 65), 2, ""},
	} {
		t.Run(tc.id, func(t *testing.T) {
			got := sfnretry.ExecutionName(tc.id, tc.retry)
			if len(got) > 80 || !nameOK(got) {
				t.Fatalf("name %q is not a valid execution name", got)
			}
			if tc.want != "" {
				if got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
				return
			}
			if !strings.HasPrefix(got, "h") || got != sfnretry.ExecutionName(tc.id, tc.retry) || got == sfnretry.ExecutionName(tc.id+"x", tc.retry) {
				t.Errorf("hashed name %q is not stable and distinct", got)
			}
		})
	}
}

func nameOK(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != ""
}
