package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
)

// waitFor polls cond (a goroutine does the work) until it holds; the
// bound only keeps a bug from hanging the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCalendarRetrySurvivesARestart: the local run serves calendar writes
// as the deployment does, and a retry it scheduled outlives the process:
// a write that Exchange refused (503) is retried at the time the calendar
// retry rule gives from the event's start; the process stops; when it
// starts again after that time, the retry is made at once and the event
// is in the calendar, once.
func TestCalendarRetrySurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer
	s, err := openStack(ctx, testConfig(dir), &out)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.close() }()
	mb := s.demo.dataset.Mailboxes[0]
	calendarItems := func() int {
		refs, err := s.demo.sim.ListItems(mb, "calendar")
		if err != nil {
			t.Fatal(err)
		}
		return len(refs)
	}
	before := calendarItems()
	s.demo.sim.InjectFault(ewssim.Fault{Op: "FindItem", Mailbox: mb, Kind: ewssim.FaultHTTP503, RetryAfter: 20 * time.Second, Count: 1})

	start := time.Now().UTC().Add(30 * time.Hour).Truncate(time.Second)
	body := fmt.Sprintf(`{"clientEventId":"trip-1","subject":"Flight to Oslo","start":%q,"end":%q}`,
		start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339))
	resp, err := http.Post(s.apiURL+"/tenants/demo/mailboxes/"+mb+"/events", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST event: %d %s", resp.StatusCode, answer)
	}

	// The first attempt meets the 503 and stores retry 1: half the 30 h
	// left before the start.
	var retry domain.CalendarRetry
	waitFor(t, "retry 1 to be stored", func() bool {
		p, _, err := s.store.PendingCalendarRetries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 1 && p[0].RetriesDone == 1 {
			retry = p[0]
			return true
		}
		return false
	})
	if d := time.Until(retry.RetryAt); d < 14*time.Hour || d > 16*time.Hour {
		t.Fatalf("retry 1 at %v, %v from now; want about 15 h (half the time to the start)", retry.RetryAt, d)
	}
	s.close()

	// The process stays down past the retry's time: move it into the past.
	st, err := boltstore.Open(filepath.Join(dir, "mailbridge.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	overdue := retry
	overdue.RetryAt = time.Now().UTC().Add(-time.Minute)
	if err := st.AdvanceCalendarRetry(ctx, retry, &overdue); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out.Reset()
	if s, err = openStack(ctx, testConfig(dir), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "resumed 1 pending calendar writes") {
		t.Errorf("the restart did not say it resumed the retry:\n%s", out.String())
	}
	waitFor(t, "the retry to be made and removed", func() bool {
		p, _, err := s.store.PendingCalendarRetries(ctx)
		return err == nil && len(p) == 0
	})
	if got := calendarItems(); got != before+1 {
		t.Errorf("calendar holds %d items after the retry, want %d (the event, once)", got, before+1)
	}
	if f := s.calendar.Finished(); len(f) != 1 || f[0].Outcome != app.OutcomeWritten {
		t.Errorf("finished %+v, want the retry written", f)
	}
}
