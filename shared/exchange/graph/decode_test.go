package graph

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/testsupport/golden"
)

// decodeFile runs the operation a response file belongs to against a fake
// transport answering it, and returns what the client made of it.
func decodeFile(t *testing.T, name string, status int, body []byte) (any, error) {
	t.Helper()
	rec := &recorder{answers: []canned{answer(status, body)}}
	c := newTestClient(t, rec)
	link := DeltaOptions{Link: testBase + "/users/u/delta?$skiptoken=x"}
	switch {
	case strings.HasPrefix(name, "messages-delta"), strings.HasPrefix(name, "broken"):
		return c.MessagesDelta(bg, "u", "f", MessagesDeltaOptions{})
	case strings.HasPrefix(name, "events-delta"):
		return c.EventsDelta(bg, "u", EventsDeltaOptions{DeltaOptions: link})
	case strings.HasPrefix(name, "mailfolders-delta"):
		return c.MailFoldersDelta(bg, "u", DeltaOptions{})
	case strings.HasPrefix(name, "contacts-delta"):
		return c.ContactsDelta(bg, "u", "f", DeltaOptions{})
	case strings.HasPrefix(name, "contact-get"):
		return c.GetContact(bg, "u", "c", GetOptions{})
	case strings.HasPrefix(name, "message-get"):
		return c.GetMessage(bg, "u", "AAMkADhMGAAA=", GetOptions{})
	case strings.HasPrefix(name, "getschedule"):
		s, err := c.GetSchedule(bg, "u", ScheduleRequest{Schedules: []string{"a@x", "b@x", "c@x"}})
		type withErr struct {
			ScheduleInformation
			Err   string `json:"err,omitempty"`
			Class Class  `json:"class,omitempty"`
		}
		var out []withErr
		for _, si := range s {
			w := withErr{ScheduleInformation: si}
			if e := ScheduleErr(si); e != nil {
				w.Err, w.Class = e.Error(), Classify(e)
			}
			out = append(out, w)
		}
		return out, err
	case strings.HasPrefix(name, "places-roomlists"):
		return c.ListRoomLists(bg)
	case strings.HasPrefix(name, "places-rooms"):
		return c.ListRooms(bg, "")
	case strings.HasPrefix(name, "event-created"):
		return c.CreateEvent(bg, "u", &Event{Subject: "x"})
	case strings.HasPrefix(name, "batch"):
		rs, err := c.Batch(bg, "u", []BatchRequest{
			{Method: "GET", URL: "/me/memberOf"}, {Method: "GET", URL: "/me/planner/tasks"},
			{Method: "GET", URL: "/users/u/messages"}, {Method: "POST", URL: "/x", Body: []byte(`{}`)},
		})
		type view struct {
			ID         string
			Status     int
			Err        string        `json:",omitempty"`
			Class      Class         `json:",omitempty"`
			Layer      Layer         `json:",omitempty"`
			RetryAfter time.Duration `json:",omitempty"`
			BodyBytes  int
		}
		var out []view
		for _, r := range rs {
			v := view{ID: r.ID, Status: r.Status, BodyBytes: len(r.Body)}
			if r.Err != nil {
				v.Err, v.Class, v.Layer, v.RetryAfter = r.Err.Error(), Classify(r.Err), r.Err.Layer, RetryAfter(r.Err)
			}
			out = append(out, v)
		}
		return out, err
	}
	t.Fatalf("no decoder for %s", name)
	return nil, nil
}

func TestDecodeResponsesGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/responses/*.json")
	if len(files) < 9 {
		t.Fatalf("only %d response fixtures", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			status := 200
			if strings.HasPrefix(name, "event-created") {
				status = 201
			}
			v, err := decodeFile(t, name, status, readFile(t, "responses/"+name))
			if err != nil {
				t.Fatal(err)
			}
			golden.JSON(t, filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".json")+".json"), v)
		})
	}
}

func TestDecodeDeltaPages(t *testing.T) {
	rec := &recorder{answers: []canned{answer(200, readFile(t, "responses/messages-delta-next-round.json"))}}
	c := newTestClient(t, rec)
	p, err := c.MessagesDelta(bg, "u", "f", MessagesDeltaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Done() || p.NextLink != "" || len(p.Items) != 1 || len(p.Removed) != 1 ||
		p.Removed[0] != (Removed{ID: "AAMkADk0MGFkODE3LWE4MmYtNDRhOS0Dh_6qB-pB2Sa2pUum19a6YAAKnLuxoAAA=", Reason: "deleted"}) ||
		!p.Items[0].IsRead || p.Items[0].Sender.EmailAddress.Address != "danas@contoso.com" {
		t.Fatalf("page = %+v", p)
	}
}

// TestDecodeBroken: bodies a 200 must not be accepted with, each a typed
// error with the right class.
func TestDecodeBroken(t *testing.T) {
	tests := []struct {
		file  string
		cause error
		class Class
		layer Layer
	}{
		{"isread-as-string.json", ErrMalformedResponse, ClassPermanent, LayerProtocol},
		{"truncated.json", ErrTruncated, ClassTransient, LayerTransport},
		{"empty.json", ErrEmptyBody, ClassTransient, LayerTransport},
		{"foreign-nextlink.json", ErrForeignLink, ClassPermanent, LayerProtocol},
		{"http-nextlink.json", ErrForeignLink, ClassPermanent, LayerProtocol},
		{"no-links.json", ErrMalformedResponse, ClassPermanent, LayerProtocol},
		{"no-value.json", ErrMalformedResponse, ClassPermanent, LayerProtocol},
		{"item-without-id.json", ErrMalformedResponse, ClassPermanent, LayerProtocol},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := decodeFile(t, "broken", 200, readFile(t, "broken/"+tc.file))
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.cause) || Classify(err) != tc.class || e.Layer != tc.layer {
				t.Fatalf("err = %v (class %s, want %v, %s, %s)", err, Classify(err), tc.cause, tc.class, tc.layer)
			}
			if e.RequestID != "req-200" || e.ClientRequestID == "" {
				t.Errorf("request ids not reported: %+v", e)
			}
		})
	}
}

// TestErrorAnswers: error statuses and bodies map to layer, code, class,
// request-id and Retry-After.
func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		file      string
		header    []string
		layer     Layer
		code      string
		class     Class
		retry     time.Duration
		requestID string
		cause     error
	}{
		{name: "429 with Retry-After seconds", status: 429, file: "429-too-many-requests.json", header: []string{"Retry-After", "10"},
			layer: LayerProtocol, code: "TooManyRequests", class: ClassThrottled, retry: 10 * time.Second, requestID: "req-429"},
		{name: "429 with Retry-After date", status: 429, file: "429-too-many-requests.json",
			header: []string{"Retry-After", testNow.Add(90 * time.Second).Format(http1123)},
			layer:  LayerProtocol, code: "TooManyRequests", class: ClassThrottled, retry: 90 * time.Second, requestID: "req-429"},
		{name: "429 with absurd Retry-After is capped", status: 429, file: "429-too-many-requests.json", header: []string{"Retry-After", "999999999"},
			layer: LayerProtocol, code: "TooManyRequests", class: ClassThrottled, retry: MaxRetryAfter, requestID: "req-429"},
		{name: "410 stale delta link", status: 410, file: "410-sync-state-not-found.json",
			layer: LayerProtocol, code: "SyncStateNotFound", class: ClassSyncStateInvalid, requestID: "req-410"},
		{name: "404 item", status: 404, file: "404-item-not-found.json", layer: LayerProtocol, code: "ErrorItemNotFound", class: ClassNotFound, requestID: "req-404"},
		{name: "404 mailbox not enabled", status: 404, file: "404-mailbox-not-enabled.json", layer: LayerProtocol, code: "MailboxNotEnabledForRESTAPI", class: ClassMailboxNotFound, requestID: "req-404"},
		{name: "404 invalid user", status: 404, file: "404-invalid-user.json", layer: LayerProtocol, code: "ErrorInvalidUser", class: ClassMailboxNotFound, requestID: "req-404"},
		{name: "403 access denied", status: 403, file: "403-access-denied.json", layer: LayerProtocol, code: "ErrorAccessDenied", class: ClassAccessDenied, requestID: "req-403"},
		{name: "401 token", status: 401, file: "401-invalid-token.json", layer: LayerProtocol, code: "InvalidAuthenticationToken", class: ClassAuth, requestID: "req-401"},
		{name: "400 invalid", status: 400, file: "400-invalid-request.json", layer: LayerProtocol, code: "invalidRequest", class: ClassInvalid, requestID: "req-400"},
		{name: "409 conflict", status: 409, file: "409-conflict.json", layer: LayerProtocol, code: "ErrorIrresolvableConflict", class: ClassConflict, requestID: "req-409"},
		{name: "412 without body", status: 412, layer: LayerTransport, class: ClassConflict, requestID: "req-412"},
		{name: "503 with Retry-After", status: 503, header: []string{"Retry-After", "30"}, layer: LayerTransport, class: ClassThrottled, retry: 30 * time.Second, requestID: "req-503"},
		{name: "502 proxy HTML", status: 502, file: "proxy-502.html", header: []string{"Content-Type", "text/html"},
			layer: LayerTransport, class: ClassTransient, requestID: "req-502", cause: ErrNotJSON},
		{name: "200 HTML login page", status: 200, file: "login-page.html", header: []string{"Content-Type", "text/html; charset=utf-8"},
			layer: LayerTransport, class: ClassTransient, requestID: "req-200", cause: ErrNotJSON},
		{name: "200 HTML labelled JSON", status: 200, file: "login-page.html",
			layer: LayerTransport, class: ClassTransient, requestID: "req-200", cause: ErrNotJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.file != "" {
				body = readFile(t, "errors/"+tc.file)
			}
			rec := &recorder{answers: []canned{answer(tc.status, body, tc.header...)}}
			c := newTestClient(t, rec)
			_, err := c.MessagesDelta(bg, "u", "f", MessagesDeltaOptions{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, not an *Error", err)
			}
			if e.Layer != tc.layer || e.Code != tc.code || Classify(err) != tc.class || RetryAfter(err) != tc.retry ||
				e.RequestID != tc.requestID || e.HTTPStatus != tc.status {
				t.Errorf("got layer %s code %q class %s retry %s request-id %q status %d; err = %v",
					e.Layer, e.Code, Classify(err), RetryAfter(err), e.RequestID, e.HTTPStatus, err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, want cause %v", err, tc.cause)
			}
			if strings.Contains(err.Error(), "<html") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error text not bounded to one clean line: %q", err)
			}
		})
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestBodyLimits(t *testing.T) {
	big := []byte(`{"value":[],"@odata.deltaLink":"` + testBase + `/x","pad":"` + strings.Repeat("a", 2048) + `"}`)
	tests := []struct {
		name   string
		answer canned
		cause  error
		class  Class
	}{
		{"over the limit by Content-Length", answer(200, big), ErrResponseTooLarge, ClassPermanent},
		{"over the limit without Content-Length", func() canned { a := answer(200, big); a.header["X-Chunked"] = "1"; return a }(), ErrResponseTooLarge, ClassPermanent},
		{"cut off mid-body", answer(200, []byte(`{"value":[`)), ErrTruncated, ClassTransient},
		// Text that grows when lower-cased ahead of the page's title once
		// made the description index past the body (a panic).
		{"an HTML page after text that grows when lowered", answer(200, []byte(strings.Repeat("İ", 300)+"<html><title>Sign in</title></html>")), ErrHTMLPage, ClassTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				resp := tc.answer.response(r)
				if tc.answer.header["X-Chunked"] != "" {
					resp.ContentLength = -1
				}
				return resp, nil
			})
			c := newTestClient(t, rt, func(c *Config) { c.MaxResponseBytes = 1024 })
			_, err := c.MailFoldersDelta(bg, "u", DeltaOptions{})
			if !errors.Is(err, tc.cause) || Classify(err) != tc.class {
				t.Fatalf("err = %v (class %s)", err, Classify(err))
			}
		})
	}
}
