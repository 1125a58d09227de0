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
	"github.com/mailbridge/mailbridge/shared/testsupport/openapicheck"
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
	resp, err := openapicheck.Client(t).Post(s.apiURL+"/tenants/demo/mailboxes/"+mb+"/events", "application/json", strings.NewReader(body))
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

// TestLocalRunOrdersAndTracksWrites: on the local run, a create, an update
// and a delete of one client event sent back to back over HTTP (their
// first attempts run at once, side by side) end in the last request's
// state, the event is not in the calendar; GET .../events/{id} tracks
// every request to its outcome; a create sent again with its
// Idempotency-Key replays the first answer and writes nothing more.
func TestLocalRunOrdersAndTracksWrites(t *testing.T) {
	ctx := context.Background()
	s, err := openStack(ctx, testConfig(t.TempDir()), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	mb := s.demo.dataset.Mailboxes[0]
	before, err := s.demo.sim.ListItems(mb, "calendar")
	if err != nil {
		t.Fatal(err)
	}
	events := s.apiURL + "/tenants/demo/mailboxes/" + mb + "/events"
	send := func(method, url, body, key string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := openapicheck.Client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	start := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Second)
	put := func(subject string) string {
		return fmt.Sprintf(`{"clientEventId":"trip-9","subject":%q,"start":%q,"end":%q}`, subject, start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339))
	}
	code, first := send("POST", events, put("v1"), "book-9")
	if code != http.StatusAccepted {
		t.Fatalf("create: %d %s", code, first)
	}
	if code, b := send("POST", events, put("v2"), ""); code != http.StatusAccepted {
		t.Fatalf("update: %d %s", code, b)
	}
	if code, b := send("DELETE", events+"/trip-9", "", ""); code != http.StatusAccepted {
		t.Fatalf("delete: %d %s", code, b)
	}
	if code, again := send("POST", events, put("v1"), "book-9"); code != http.StatusAccepted || again != first {
		t.Fatalf("create sent again with its key: %d %s, want the first answer %s", code, again, first)
	}

	var last string
	waitFor(t, "every request to reach its outcome", func() bool {
		code, body := send("GET", events+"/trip-9", "", "")
		last = body
		return code == http.StatusOK && strings.Count(body, `"state":"pending"`) == 0 && strings.Contains(body, `"state":"written"`)
	})
	if !strings.Contains(last, `"operation":"delete"`) || strings.Count(last, `"requestId"`) != 4 {
		t.Errorf("tracked %s: want the delete last and three requests in the history", last)
	}
	after, err := s.demo.sim.ListItems(mb, "calendar")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("calendar holds %d items, had %d: the deleted event exists", len(after), len(before))
	}
}
