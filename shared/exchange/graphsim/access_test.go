package graphsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	ewsToken := e.tokenFor("https://outlook.office365.com/.default")
	tests := []struct {
		name   string
		token  string
		status int
		msg    string
	}{
		{"no token", "", 401, "Access token is empty."},
		{"garbage", "not-a-token", 401, "IDX14100"},
		{"EWS audience", ewsToken, 401, "Invalid audience"},
		{"Graph token", e.token, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.doToken(tc.token, "GET", "/users/"+alice, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if tc.status == 401 {
				if r.errorCode() != "InvalidAuthenticationToken" || !strings.Contains(string(r.raw), tc.msg) {
					t.Errorf("error %s", r.raw)
				}
			}
		})
	}
	// The reverse holds too: EWS refuses a Graph token.
	req, _ := http.NewRequest("POST", e.srv.URL+ewssim.EWSPath, strings.NewReader("<x/>"))
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("EWS with a Graph token: %d, want 401", resp.StatusCode)
	}
	if st := e.graph.Stats(); st.AuthFailures != 3 {
		t.Errorf("AuthFailures %d, want 3", st.AuthFailures)
	}
}

func TestAccessScope(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	e.graph.DenyPermission(clientID, graphsim.PermCalendarsReadWrite)
	event := map[string]any{"subject": "x", "start": map[string]string{"dateTime": "2026-03-02T09:00:00", "timeZone": "UTC"}, "end": map[string]string{"dateTime": "2026-03-02T10:00:00", "timeZone": "UTC"}}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code, message      string
	}{
		{"user by upn", "GET", "/users/" + alice + "?$select=displayName,mail", nil, 200, "", ""},
		{"unknown user", "GET", "/users/nobody@contoso.com", nil, 404, "Request_ResourceNotFound", ""},
		{"unknown mailbox", "GET", "/users/nobody@contoso.com/mailFolders/delta", nil, 404, "ErrorInvalidUser", "The requested user 'nobody@contoso.com' is invalid."},
		{"out of scope", "GET", "/users/" + carol + "/mailFolders/inbox/messages/delta", nil, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."},
		{"in scope", "GET", "/users/" + bob + "/mailFolders/inbox", nil, 200, "", ""},
		{"bad $select", "GET", "/users/" + bob + "/mailFolders/inbox/messages/delta?$select=subjekt", nil, 400, "RequestBroker--ParseUri", ""},
		{"read without Calendars.ReadWrite", "GET", "/users/" + alice + "/events", nil, 200, "", ""},
		{"write without Calendars.ReadWrite", "POST", "/users/" + alice + "/events", event, 403, "ErrorAccessDenied", ""},
		{"calendar is not a mail folder", "GET", "/users/" + alice + "/mailFolders/calendar", nil, 404, "ErrorItemNotFound", ""},
		{"unknown segment", "GET", "/users/" + alice + "/todo/lists", nil, 400, "BadRequest", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body)
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
			if tc.message != "" && r.body["error"].(map[string]any)["message"] != tc.message {
				t.Errorf("message %s", r.raw)
			}
		})
	}
	sched := e.do("POST", "/users/"+alice+"/calendar/getSchedule", map[string]any{
		"schedules": []string{carol},
		"startTime": map[string]string{"dateTime": "2026-03-02T00:00:00", "timeZone": "UTC"},
		"endTime":   map[string]string{"dateTime": "2026-03-03T00:00:00", "timeZone": "UTC"},
	})
	if v := sched.values(); sched.status != 200 || v[0]["error"].(map[string]any)["responseCode"] != "ErrorAccessDenied" {
		t.Errorf("getSchedule of an out-of-scope mailbox: %s", sched.raw)
	}
	r := e.do("GET", "/users/"+alice+"?$select=displayName,mail", nil)
	if len(r.body) != 4 || r.body["mail"] != alice || r.body["id"] == "" {
		t.Errorf("user with $select: %s", r.raw)
	}
	byID := e.do("GET", "/users/"+r.body["id"].(string), nil)
	if byID.body["userPrincipalName"] != alice {
		t.Errorf("user by id: %s", byID.raw)
	}
}

// TestThrottling drives the handler directly inside a synctest bubble:
// the latency holds each request's slot in fake time, so all requests are
// in flight together and the counts are exact.
func TestThrottling(t *testing.T) {
	tests := []struct {
		name            string
		opts            graphsim.Options
		concurrent      int
		wantOK, want429 int
		why             string
	}{
		{"concurrency cap", graphsim.Options{Latency: time.Second}, 7, 4, 3, "MailboxConcurrency"},
		{"custom cap", graphsim.Options{Latency: time.Second, MaxConcurrency: 2}, 5, 2, 3, "MailboxConcurrency"},
		{"quota", graphsim.Options{Quota: 3, MaxConcurrency: -1}, 5, 3, 2, "MailboxRequests"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			h := e.graph.Handler()
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				codes := map[int]int{}
				var wg sync.WaitGroup
				for range tc.concurrent {
					wg.Go(func() {
						req := httptest.NewRequestWithContext(context.Background(), "GET", "/v1.0/users/"+alice+"/mailFolders/inbox", nil)
						req.Header.Set("Authorization", "Bearer "+e.token)
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						mu.Lock()
						codes[rec.Code]++
						mu.Unlock()
						if rec.Code == 429 && (rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), tc.why) || !strings.Contains(rec.Body.String(), "ApplicationThrottled")) {
							t.Errorf("429 answer: %v %s", rec.Header(), rec.Body)
						}
					})
				}
				wg.Wait()
				if codes[200] != tc.wantOK || codes[429] != tc.want429 {
					t.Fatalf("statuses %v, want %d OK and %d throttled", codes, tc.wantOK, tc.want429)
				}
			})
			st := e.graph.Stats()
			if st.Throttled != int64(tc.want429) || st.Calls["mailFolders.get"] != int64(tc.wantOK) {
				t.Errorf("stats %+v", st)
			}
			if max := tc.opts.MaxConcurrency; max > 0 && st.PeakInFlight[alice] > max || max == 0 && st.PeakInFlight[alice] > graphsim.DefaultMaxConcurrency {
				t.Errorf("peak in flight %d beyond the cap", st.PeakInFlight[alice])
			}
			// Budgets are per mailbox: bob is untouched.
			if r := e.do("GET", "/users/"+bob+"/mailFolders/inbox", nil); r.status != 200 {
				t.Errorf("another mailbox: %d", r.status)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	e.graph.InjectFault(ewssim.Fault{Op: "mailFolders.get", Kind: ewssim.FaultHTTP503, RetryAfter: 3 * time.Second, Count: 1})
	e.graph.InjectFault(ewssim.Fault{Op: "mailFolders.get", Mailbox: bob, Kind: ewssim.FaultHTTP429, RetryAfter: 2 * time.Second, Count: 1})
	tests := []struct {
		mailbox    string
		status     int
		retryAfter string
	}{
		{alice, 503, "3"},
		{bob, 429, "2"},
		{alice, 200, ""},
		{bob, 200, ""},
	}
	for _, tc := range tests {
		r := e.do("GET", "/users/"+tc.mailbox+"/mailFolders/inbox", nil)
		if r.status != tc.status || r.header.Get("Retry-After") != tc.retryAfter {
			t.Errorf("%s: %d Retry-After %q, want %d %q", tc.mailbox, r.status, r.header.Get("Retry-After"), tc.status, tc.retryAfter)
		}
	}
	if st := e.graph.Stats(); st.FaultsInjected != 2 {
		t.Errorf("FaultsInjected %d", st.FaultsInjected)
	}
}

// TestStart serves EWS, Graph and the authority on one TLS host.
func TestStart(t *testing.T) {
	sim := ewssim.New(ewssim.Options{})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 2, ItemsPerMailbox: 20, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := graphsim.New(sim, graphsim.Options{}).Start(true)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.GraphURL, "https://127.0.0.1:") || srv.EWSURL != srv.URL+ewssim.EWSPath {
		t.Fatalf("URLs %s %s", srv.GraphURL, srv.EWSURL)
	}
	cl := srv.Client()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {ds.Account.ClientID}, "client_secret": {ds.Account.ClientSecret}, "scope": {ewssim.GraphScope}}
	resp, err := cl.PostForm(srv.Authority(ds.Account.Tenant)+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest("GET", srv.GraphURL+"/users/"+ds.Mailboxes[1]+"/mailFolders/inbox", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var folder map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&folder)
	if resp.StatusCode != 200 || folder["displayName"] != "Inbox" || !strings.HasPrefix(folder["@odata.context"].(string), "https://") {
		t.Errorf("GET inbox over TLS: %d %v", resp.StatusCode, folder)
	}
}

// TestTransportFaultsHitTheBatchAsAWhole: a fault that breaks the HTTP
// exchange (an HTML page, a cut-off body) answers the $batch request
// itself; one that answers as Graph would (503) answers the request
// inside it, beside the others.
func TestTransportFaultsHitTheBatchAsAWhole(t *testing.T) {
	batch := map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "GET", "url": "/users/" + alice + "/mailFolders/inbox"},
		{"id": "2", "method": "GET", "url": "/users/" + alice + "/mailFolders/sentitems"},
	}}
	raw := func(e *env) (int, string, []byte) {
		b, _ := json.Marshal(batch)
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1.0/$batch", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), body
	}
	t.Run("an HTML page answers the batch", func(t *testing.T) {
		e := newEnv(t, graphsim.Options{})
		e.graph.InjectFault(ewssim.Fault{Kind: ewssim.FaultRaw, Status: 502, ContentType: "text/html", Body: "<html>bad gateway</html>", Count: 1})
		if status, ct, body := raw(e); status != 502 || ct != "text/html" || string(body) != "<html>bad gateway</html>" {
			t.Fatalf("batch answered %d %s %q", status, ct, body)
		}
		if status, _, body := raw(e); status != 200 || !json.Valid(body) {
			t.Fatalf("after the fault: %d %q", status, body)
		}
	})
	t.Run("a cut-off body cuts the batch's answer", func(t *testing.T) {
		e := newEnv(t, graphsim.Options{})
		e.graph.InjectFault(ewssim.Fault{Op: "batch", Kind: ewssim.FaultTruncated, Count: 1})
		if status, _, body := raw(e); status != 200 || len(body) == 0 || json.Valid(body) {
			t.Fatalf("batch answered %d with %d bytes (valid JSON: %v)", status, len(body), json.Valid(body))
		}
	})
	t.Run("a 503 answers one request inside the batch", func(t *testing.T) {
		e := newEnv(t, graphsim.Options{})
		e.graph.InjectFault(ewssim.Fault{Kind: ewssim.FaultHTTP503, RetryAfter: 3 * time.Second, Count: 1})
		status, _, body := raw(e)
		var out struct {
			Responses []struct {
				Status int `json:"status"`
			} `json:"responses"`
		}
		if err := json.Unmarshal(body, &out); status != 200 || err != nil || len(out.Responses) != 2 {
			t.Fatalf("batch answered %d %q (%v)", status, body, err)
		}
		statuses := []int{out.Responses[0].Status, out.Responses[1].Status}
		slices.Sort(statuses)
		if !slices.Equal(statuses, []int{200, 503}) {
			t.Fatalf("inner statuses %v, want one 503 beside a 200", statuses)
		}
	})
}
