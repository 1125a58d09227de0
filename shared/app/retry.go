package app

import "time"

// The calendar retry rule (for failed calendar writes): after a failed
// write at F for an event starting at S, with D = S − F, retry at F + 24 h
// when D > 36 h, else at F + D/2 but no later than F + 18 h; at most three
// retries after the first attempt, each recomputed from its own failure.
//
// The rule as stated is silent on two cases, decided here:
//   - D ≤ 0 (the event has started or passed): no retry. A travel booking
//     written after its start helps nobody, and retrying would only add
//     load on a mailbox that already refused once.
//   - very small D: a retry is never sooner than MinCalendarRetryDelay after
//     the failure (so a flapping mailbox is not hammered), and never at or
//     after the event's start; when both cannot hold, there is no retry.
//
// A throttled failure may also carry the server's back-off; the retry is
// then no sooner than that, under the same "before the start" rule.
const (
	MaxCalendarRetries    = 3
	MinCalendarRetryDelay = time.Minute
	calendarFarThreshold  = 36 * time.Hour
	calendarFarDelay      = 24 * time.Hour
	calendarMaxNearDelay  = 18 * time.Hour
)

// RetryDecision is the outcome of NextCalendarRetry.
type RetryDecision struct {
	Retry  bool
	At     time.Time // when to retry, if Retry
	Reason string    // why not, if !Retry
}

// NextCalendarRetry applies the calendar retry rule. retriesDone counts the
// retries already made (0 after the first attempt fails); backOff is the
// server's requested delay, zero if none.
func NextCalendarRetry(failedAt, start time.Time, retriesDone int, backOff time.Duration) RetryDecision {
	if retriesDone >= MaxCalendarRetries {
		return RetryDecision{Reason: "the three retries after the first attempt are used up"}
	}
	d := start.Sub(failedAt)
	if d <= 0 {
		return RetryDecision{Reason: "the event has already started"}
	}
	var delay time.Duration
	if d > calendarFarThreshold {
		delay = calendarFarDelay
	} else {
		delay = min(d/2, calendarMaxNearDelay)
	}
	delay = max(delay, MinCalendarRetryDelay, backOff)
	at := failedAt.Add(delay)
	if !at.Before(start) {
		return RetryDecision{Reason: "no retry fits before the event starts"}
	}
	return RetryDecision{Retry: true, At: at}
}
