package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestMailboxConcurrencyCap: 10 calls for one mailbox never have more than
// 4 in flight, while a call for another mailbox is not held up by them.
// The handler blocks until released, so the peak is exact, not timed.
func TestMailboxConcurrencyCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		inFlight := map[string]int{}
		peak := map[string]int{}
		release := make(chan struct{})
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			box := strings.Split(r.URL.Path, "/")[3]
			mu.Lock()
			inFlight[box]++
			peak[box] = max(peak[box], inFlight[box])
			mu.Unlock()
			if box == "busy" {
				<-release
			}
			mu.Lock()
			inFlight[box]--
			mu.Unlock()
			return answer(200, []byte(`{"id":"inbox"}`)).response(r), nil
		})
		c := newTestClient(t, rt)
		var wg sync.WaitGroup
		errs := make(chan error, 11)
		for range 10 {
			wg.Go(func() { errs <- c.ProbeMailbox(bg, "busy") })
		}
		synctest.Wait() // 4 calls block in the handler, 6 wait for a slot
		mu.Lock()
		if inFlight["busy"] != DefaultMailboxConcurrency {
			t.Errorf("in flight for the busy mailbox: %d, want %d", inFlight["busy"], DefaultMailboxConcurrency)
		}
		mu.Unlock()
		// Another mailbox proceeds while the busy one is full.
		if err := c.ProbeMailbox(bg, "other"); err != nil {
			t.Fatal(err)
		}
		// A waiting call gives up with its context.
		ctx, cancel := context.WithCancel(bg)
		waitErr := make(chan error, 1)
		go func() { waitErr <- c.ProbeMailbox(ctx, "BUSY") }() // same mailbox, other case
		synctest.Wait()
		cancel()
		if err := <-waitErr; !errors.Is(err, context.Canceled) || Classify(err) != ClassTransient {
			t.Errorf("cancelled wait: %v", err)
		}
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if peak["busy"] != DefaultMailboxConcurrency || peak["other"] != 1 {
			t.Errorf("peaks = %v", peak)
		}
		c.limiter.mu.Lock()
		defer c.limiter.mu.Unlock()
		if len(c.limiter.slots) != 0 {
			t.Errorf("limiter keeps %d idle mailboxes", len(c.limiter.slots))
		}
	})
}

func TestMailboxConcurrencyConfigurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		n, peak := 0, 0
		release := make(chan struct{})
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			n++
			peak = max(peak, n)
			mu.Unlock()
			<-release
			mu.Lock()
			n--
			mu.Unlock()
			return answer(200, []byte(`{"id":"x"}`)).response(r), nil
		})
		c := newTestClient(t, rt, func(c *Config) { c.MailboxConcurrency = 2 })
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() { _ = c.ProbeMailbox(bg, "m") })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		if peak != 2 {
			t.Errorf("peak %d, want 2", peak)
		}
	})
}

// TestBatchCountsItsSubRequests: Outlook counts each sub-request of a
// $batch against the mailbox's 4 concurrent requests, so batches sent
// beside single calls to the same mailbox never make more than 4 in
// flight as Outlook counts them, and two batches gathering slots do not
// wait for each other for ever.
func TestBatchCountsItsSubRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		inFlight, peak := 0, 0
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			weight, body := 1, []byte(`{"id":"inbox"}`)
			if strings.HasSuffix(r.URL.Path, "/$batch") {
				var in struct {
					Requests []struct {
						ID string `json:"id"`
					} `json:"requests"`
				}
				if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
					return nil, err
				}
				weight = min(len(in.Requests), 4)
				var resps []string
				for _, q := range in.Requests {
					resps = append(resps, `{"id":"`+q.ID+`","status":200,"body":{}}`)
				}
				body = []byte(`{"responses":[` + strings.Join(resps, ",") + `]}`)
			}
			mu.Lock()
			inFlight += weight
			peak = max(peak, inFlight)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond) // the bubble's clock: held while others queue
			mu.Lock()
			inFlight -= weight
			mu.Unlock()
			return answer(200, body).response(r), nil
		})
		c := newTestClient(t, rt)
		batch := func(n int) []BatchRequest {
			reqs := make([]BatchRequest, n)
			for i := range reqs {
				reqs[i] = BatchRequest{Method: "GET", URL: ItemPath("users", "m", "events", strconv.Itoa(i))}
			}
			return reqs
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 12 {
			switch i % 4 {
			case 0:
				wg.Go(func() { _, err := c.Batch(bg, "m", batch(3)); errs <- err })
			case 1:
				wg.Go(func() { _, err := c.Batch(bg, "m", batch(20)); errs <- err })
			default:
				wg.Go(func() { errs <- c.ProbeMailbox(bg, "m") })
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if peak != DefaultMailboxConcurrency {
			t.Errorf("peak in flight as Outlook counts them: %d, want %d", peak, DefaultMailboxConcurrency)
		}
	})
}
