package schedulerfn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

func TestTickUsesTheScheduledTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 41, 30, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		input   string
		want    time.Time
		wantErr string
	}{
		{"scheduled time from EventBridge Scheduler", `{"scheduledTime":"2026-11-23T09:40:00Z"}`, now.Truncate(time.Hour).Add(40 * time.Minute), ""},
		{"manual invoke with empty object", `{}`, now, ""},
		{"manual invoke with null", `null`, now, ""},
		{"not a time", `{"scheduledTime":"yesterday"}`, time.Time{}, "not RFC 3339"},
		{"not an object", `[1,2]`, time.Time{}, "scheduledTime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got time.Time
			called := false
			run := func(_ context.Context, at time.Time) (app.TickSummary, error) {
				called, got = true, at
				return app.TickSummary{Enqueued: 3}, nil
			}
			var logs bytes.Buffer
			sum, err := tick(run, storetest.NewClock(now), slog.New(slog.NewJSONHandler(&logs, nil)))(context.Background(), json.RawMessage(tc.input))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || called {
					t.Fatalf("err %v, called %v: want %q and no tick", err, called, tc.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) || sum.Enqueued != 3 {
				t.Fatalf("ticked at %v (err %v), want %v", got, err, tc.want)
			}
			if !strings.Contains(logs.String(), `"enqueued":3`) {
				t.Fatalf("the summary should be logged: %s", logs.String())
			}
		})
	}
}

func TestTickErrorIsReturnedForARetry(t *testing.T) {
	run := func(context.Context, time.Time) (app.TickSummary, error) {
		return app.TickSummary{FailedJobs: 10}, errors.New("10 jobs not sent")
	}
	var logs bytes.Buffer
	sum, err := tick(run, storetest.NewClock(time.Now()), slog.New(slog.NewJSONHandler(&logs, nil)))(context.Background(), nil)
	if err == nil || sum.FailedJobs != 10 {
		t.Fatalf("want the error returned (EventBridge Scheduler retries), got %v", err)
	}
	if !strings.Contains(logs.String(), "tick failed") {
		t.Fatalf("want the failure logged: %s", logs.String())
	}
}
