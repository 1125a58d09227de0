package schedulerfn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// tickEvent is the schedule's input. template.yaml sets it to
// {"scheduledTime": "<aws.scheduler.scheduled-time>"}, so a retried
// invocation ticks for the minute it was scheduled for, computes the same
// due tenants and sends the same deduplication ids. Without it (a manual
// invoke) the tick is for the current minute.
type tickEvent struct {
	ScheduledTime string `json:"scheduledTime"`
}

type tickFunc func(ctx context.Context, now time.Time) (app.TickSummary, error)

func handler(s *app.Scheduler, clock domain.Clock, log *slog.Logger) func(context.Context, json.RawMessage) (app.TickSummary, error) {
	return tick(s.Tick, clock, log)
}

func tick(run tickFunc, clock domain.Clock, log *slog.Logger) func(context.Context, json.RawMessage) (app.TickSummary, error) {
	return func(ctx context.Context, raw json.RawMessage) (app.TickSummary, error) {
		now, err := tickTime(raw, clock)
		if err != nil {
			log.Error("bad schedule input", "err", err)
			return app.TickSummary{}, err
		}
		began := clock.Now()
		sum, err := run(ctx, now)
		attrs := []any{"slot", sum.Slot, "tenantsDue", sum.TenantsDue, "mailboxes", sum.Mailboxes,
			"enqueued", sum.Enqueued, "adminRetries", sum.AdminRetries, "failedJobs", sum.FailedJobs,
			"tenantsWithError", sum.TenantsWithError, "ms", clock.Now().Sub(began).Milliseconds()}
		if err != nil {
			// Returning the error makes EventBridge Scheduler retry the
			// tick; the deduplication ids make that safe.
			log.Error("tick failed", append(attrs, "err", err)...)
			return sum, err
		}
		if len(sum.DamagedTenants) > 0 {
			log.Error("tenants skipped: their stored record is damaged", "tenants", sum.DamagedTenants)
		}
		if sum.Damaged > 0 {
			log.Error("mailboxes skipped: their stored record is damaged; remove each and add it again",
				"damaged", sum.Damaged, "mailboxes", sum.DamagedMailboxes)
		}
		log.Info("tick", attrs...)
		return sum, nil
	}
}

func tickTime(raw json.RawMessage, clock domain.Clock) (time.Time, error) {
	var ev tickEvent
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &ev); err != nil {
			return time.Time{}, fmt.Errorf("schedule input is not {\"scheduledTime\": ...}: %w", err)
		}
	}
	if ev.ScheduledTime == "" {
		return clock.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, ev.ScheduledTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("scheduledTime %q is not RFC 3339: %w", ev.ScheduledTime, err)
	}
	return t, nil
}
