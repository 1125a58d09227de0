package ews

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var testNow = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func newTestClient(t *testing.T, url string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{URL: url, Auth: BasicAuth("svc@contoso.com", "S3cret-pw!"), Clock: fixedClock{testNow}, URLGuard: loopbackGuard}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	imp   = Target{Mailbox: "anna@contoso.com", Mode: ModeImpersonation}
	inbox = FolderRef{Distinguished: "inbox"}
)

func syncInbox(c *Client) error {
	_, err := c.SyncFolderItems(context.Background(), imp, inbox, "", 100)
	return err
}

// TestErrorClassification serves each kind of failure Exchange produces
// and checks what a caller sees: layer, code, class and back-off.
func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		file      string // response body fixture; "" = body below
		body      string
		header    map[string]string
		call      func(*Client) error
		layer     Layer
		code      string
		class     Class
		backOff   time.Duration
		errSubstr string
	}{
		{name: "ErrorServerBusy fault", status: 500, file: "responses/fault-ErrorServerBusy.xml",
			layer: LayerSOAPFault, code: "ErrorServerBusy", class: ClassThrottled, backOff: 297749 * time.Millisecond},
		{name: "ErrorServerBusy message", status: 200, file: "responses/message-ErrorServerBusy.xml",
			layer: LayerResponse, code: "ErrorServerBusy", class: ClassThrottled, backOff: 5 * time.Second},
		{name: "ErrorImpersonateUserDenied fault", status: 500, file: "responses/fault-ErrorImpersonateUserDenied.xml",
			layer: LayerSOAPFault, code: "ErrorImpersonateUserDenied", class: ClassOutOfScope},
		{name: "ErrorImpersonateUserDenied message", status: 200, file: "responses/message-ErrorImpersonateUserDenied.xml",
			call: func(c *Client) error {
				res, err := c.GetFolder(context.Background(), imp, []FolderRef{inbox})
				if err != nil {
					return err
				}
				return res[0].Err
			},
			layer: LayerResponse, code: "ErrorImpersonateUserDenied", class: ClassOutOfScope},
		{name: "ErrorImpersonationDenied", status: 500, file: "responses/fault-ErrorImpersonationDenied.xml",
			layer: LayerSOAPFault, code: "ErrorImpersonationDenied", class: ClassOutOfScope},
		{name: "ErrorAccessDenied", status: 200, file: "responses/message-ErrorAccessDenied.xml",
			layer: LayerResponse, code: "ErrorAccessDenied", class: ClassAccessDenied},
		{name: "ErrorFolderNotFound (delegate without folder permission)", status: 200, file: "responses/message-ErrorFolderNotFound.xml",
			layer: LayerResponse, code: "ErrorFolderNotFound", class: ClassAccessDenied},
		{name: "ErrorNonExistentMailbox fault", status: 500, file: "responses/fault-ErrorNonExistentMailbox.xml",
			layer: LayerSOAPFault, code: "ErrorNonExistentMailbox", class: ClassMailboxNotFound},
		{name: "ErrorNonExistentMailbox message", status: 200, file: "responses/message-ErrorNonExistentMailbox.xml",
			layer: LayerResponse, code: "ErrorNonExistentMailbox", class: ClassMailboxNotFound},
		{name: "ErrorMailboxMoveInProgress", status: 200, file: "responses/message-ErrorMailboxMoveInProgress.xml",
			layer: LayerResponse, code: "ErrorMailboxMoveInProgress", class: ClassTransient},
		{name: "ErrorMailboxStoreUnavailable message", status: 200, file: "responses/message-ErrorMailboxStoreUnavailable.xml",
			layer: LayerResponse, code: "ErrorMailboxStoreUnavailable", class: ClassTransient},
		{name: "ErrorMailboxStoreUnavailable fault", status: 500, file: "responses/fault-ErrorMailboxStoreUnavailable.xml",
			layer: LayerSOAPFault, code: "ErrorMailboxStoreUnavailable", class: ClassTransient},
		{name: "ErrorExceededConnectionCount fault", status: 500, file: "responses/fault-ErrorExceededConnectionCount.xml",
			layer: LayerSOAPFault, code: "ErrorExceededConnectionCount", class: ClassThrottled},
		{name: "ErrorExceededConnectionCount message", status: 200, file: "responses/message-ErrorExceededConnectionCount.xml",
			layer: LayerResponse, code: "ErrorExceededConnectionCount", class: ClassThrottled},
		{name: "ErrorTooManyObjectsOpened", status: 200, file: "responses/message-ErrorTooManyObjectsOpened.xml",
			layer: LayerResponse, code: "ErrorTooManyObjectsOpened", class: ClassTransient},
		{name: "ErrorInvalidSyncStateData", status: 200, file: "responses/message-ErrorInvalidSyncStateData.xml",
			layer: LayerResponse, code: "ErrorInvalidSyncStateData", class: ClassSyncStateInvalid},
		{name: "ErrorInvalidSyncStateData (msdocs)", status: 200, file: "msdocs/syncfolderitems-operation.03.SyncFolderItemsResponse.ErrorInvalidSyncStateData.xml",
			layer: LayerResponse, code: "ErrorInvalidSyncStateData", class: ClassSyncStateInvalid},
		{name: "ErrorItemNotFound in a batch", status: 200, file: "responses/getitem-mixed-ErrorItemNotFound.xml",
			call: func(c *Client) error {
				res, err := c.GetItem(context.Background(), imp, []string{"a", "b", "c"}, ShapeMessage)
				if err != nil {
					return err
				}
				return res[1].Err
			},
			layer: LayerResponse, code: "ErrorItemNotFound", class: ClassItemNotFound},
		{name: "ErrorIrresolvableConflict", status: 200, file: "responses/message-ErrorIrresolvableConflict.xml",
			call: func(c *Client) error {
				s := "x"
				_, err := c.UpdateItem(context.Background(), imp, ItemRef{ID: "a", ChangeKey: "old"}, CalendarUpdate{Subject: &s}, "", NeverOverwrite)
				return err
			},
			layer: LayerResponse, code: "ErrorIrresolvableConflict", class: ClassConflict},
		{name: "ErrorSchemaValidation", status: 500, file: "responses/fault-ErrorSchemaValidation.xml",
			layer: LayerSOAPFault, code: "ErrorSchemaValidation", class: ClassPermanent},
		{name: "HTTP 401", status: 401, body: "", header: map[string]string{"WWW-Authenticate": `Bearer client_id="00000002-0000-0ff1-ce00-000000000000"`, "X-Ms-Diagnostics": `2000008;reason="The token has expired.";error_category="invalid_token"`},
			layer: LayerTransport, class: ClassAuth, errSubstr: "The token has expired"},
		{name: "HTTP 403", status: 403, body: "",
			layer: LayerTransport, class: ClassAuth, errSubstr: "HTTP 403"},
		{name: "HTTP 429 Retry-After seconds", status: 429, body: "", header: map[string]string{"Retry-After": "30"},
			layer: LayerTransport, class: ClassThrottled, backOff: 30 * time.Second},
		{name: "HTTP 503 Retry-After date", status: 503, body: "", header: map[string]string{"Retry-After": testNow.Add(2 * time.Minute).Format(http.TimeFormat)},
			layer: LayerTransport, class: ClassThrottled, backOff: 2 * time.Minute},
		{name: "HTTP 503 without Retry-After", status: 503, body: "Service Unavailable",
			layer: LayerTransport, class: ClassThrottled},
		{name: "HTTP 502 HTML page", status: 502, file: "broken/html-error.html",
			layer: LayerTransport, class: ClassTransient, errSubstr: "HTTP 502"},
		{name: "HTTP 500 without a fault", status: 500, file: "broken/html-no-doctype.html",
			layer: LayerTransport, class: ClassTransient, errSubstr: "HTTP 500"},
		{name: "HTTP 200 HTML sign-in page", status: 200, file: "broken/html-no-doctype.html",
			layer: LayerTransport, class: ClassPermanent, errSubstr: "an HTML page, not SOAP"},
		{name: "HTTP 200 truncated body", status: 200, file: "broken/truncated.xml",
			layer: LayerTransport, class: ClassTransient, errSubstr: "ended before"},
		{name: "HTTP 200 not XML", status: 200, file: "broken/not-xml.txt",
			layer: LayerTransport, class: ClassPermanent, errSubstr: "malformed response"},
		{name: "HTTP 404", status: 404, body: "Not Found",
			layer: LayerTransport, class: ClassPermanent, errSubstr: "HTTP 404"},
		// What answered instead of EWS is named: the page's title, the
		// start of a text; an empty body is its own, temporary, failure.
		{name: "HTTP 502 names the proxy's page", status: 502, file: "broken/html-error.html",
			layer: LayerTransport, class: ClassTransient, errSubstr: "an HTML page titled"},
		{name: "HTTP 200 empty body", status: 200, body: "",
			layer: LayerTransport, class: ClassTransient, errSubstr: "empty response body"},
		{name: "HTTP 200 JSON", status: 200, body: `{"error":"not found"}`,
			layer: LayerTransport, class: ClassPermanent, errSubstr: `starting "{\"error\":\"not found\"}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.file != "" {
				body = readFixture(t, tt.file)
			}
			srv := newCaptureServer(t, tt.status, body)
			for k, v := range tt.header {
				srv.header.Set(k, v)
			}
			c := newTestClient(t, srv.URL, nil)
			call := tt.call
			if call == nil {
				call = syncInbox
			}
			err := call(c)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *ews.Error", err, err)
			}
			if e.Layer != tt.layer || e.ResponseCode != tt.code || e.HTTPStatus != tt.status {
				t.Errorf("layer/code/status = %s/%s/%d, want %s/%s/%d", e.Layer, e.ResponseCode, e.HTTPStatus, tt.layer, tt.code, tt.status)
			}
			if c := Classify(err); c != tt.class {
				t.Errorf("Classify = %s, want %s (err %v)", c, tt.class, err)
			}
			if d := RetryAfter(err); d != tt.backOff {
				t.Errorf("RetryAfter = %s, want %s", d, tt.backOff)
			}
			if e.Op == "" {
				t.Error("error does not name its operation")
			}
			if tt.errSubstr != "" && !strings.Contains(err.Error(), tt.errSubstr) {
				t.Errorf("error %q does not mention %q", err, tt.errSubstr)
			}
			if strings.Contains(err.Error(), "S3cret-pw!") {
				t.Errorf("password in error: %v", err)
			}
		})
	}
}

func TestSyncFolderItemsDecodesPage(t *testing.T) {
	srv := newCaptureServer(t, 200, readFixture(t, "responses/syncfolderitems-all-kinds.xml"))
	c := newTestClient(t, srv.URL, nil)
	res, err := c.SyncFolderItems(context.Background(), imp, inbox, "prev", 6)
	if err != nil {
		t.Fatal(err)
	}
	if res.IncludesLastItemInRange || !strings.HasPrefix(res.SyncState, "H4sI") || len(res.Changes) != 6 {
		t.Fatalf("result = %+v", res)
	}
	want := []ItemChange{
		{Kind: ChangeCreate, Type: "Message", ItemID: "AAMkADk0AAA1", ChangeKey: "CQAAABYAAAA1", ItemClass: "IPM.Note"},
		{Kind: ChangeCreate, Type: "CalendarItem", ItemID: "AAMkADk0AAA2", ChangeKey: "DwAAABYAAAA2", ItemClass: "IPM.Appointment"},
		{Kind: ChangeCreate, Type: "Contact", ItemID: "AAMkADk0AAA3", ChangeKey: "EQAAABYAAAA3", ItemClass: "IPM.Contact"},
		{Kind: ChangeUpdate, Type: "MeetingRequest", ItemID: "AAMkADk0AAA4", ChangeKey: "CwAAABYAAAA4", ItemClass: "IPM.Schedule.Meeting.Request"},
		{Kind: ChangeDelete, ItemID: "AAMkADk0AAA5", ChangeKey: "CQAAABYAAAA5"},
	}
	for i, w := range want {
		if g := res.Changes[i]; g.Kind != w.Kind || g.Type != w.Type || g.ItemID != w.ItemID || g.ChangeKey != w.ChangeKey || g.ItemClass != w.ItemClass || g.IsRead != nil {
			t.Errorf("change %d = %+v, want %+v", i, g, w)
		}
	}
	if rf := res.Changes[5]; rf.Kind != ChangeReadFlagChange || rf.IsRead == nil || !*rf.IsRead {
		t.Errorf("read flag change = %+v", rf)
	}
}

func TestGetItemPerItemResults(t *testing.T) {
	srv := newCaptureServer(t, 200, readFixture(t, "responses/getitem-mixed-ErrorItemNotFound.xml"))
	c := newTestClient(t, srv.URL, nil)
	res, err := c.GetItem(context.Background(), imp, []string{"id1", "gone", "id3"}, ShapeCalendar)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Err != nil || res[1].Err == nil || res[2].Err != nil || res[1].Item != nil {
		t.Fatalf("results = %+v", res)
	}
	if res[1].ID != "gone" || res[1].Err.ResponseCode != "ErrorItemNotFound" {
		t.Errorf("missing item result = %+v", res[1])
	}
	msg := res[0].Item
	if msg.Subject != "Quarterly numbers & forecast" || msg.From == nil || msg.From.EmailAddress != "dana@contoso.com" ||
		len(msg.To) != 1 || msg.IsRead == nil || *msg.IsRead || msg.Preview == "" || !msg.DateTimeReceived.Equal(time.Date(2026, 11, 20, 8, 15, 2, 0, time.UTC)) {
		t.Errorf("message = %+v", msg)
	}
	cal := res[2].Item
	if cal.Type != "CalendarItem" || cal.Location != "Room 4 <North>" || cal.StartTimeZone != "W. Europe Standard Time" ||
		!cal.Start.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) || cal.Organizer == nil ||
		len(cal.RequiredAttendees) != 1 || cal.RequiredAttendees[0].ResponseType != "Accept" {
		t.Errorf("calendar item = %+v", cal)
	}
	if len(cal.ExtendedProperties) != 1 || cal.ExtendedProperties[0].Value != "evt-42" || cal.ExtendedProperties[0].Field.PropertyName != "MailbridgeEventId" {
		t.Errorf("extended properties = %+v", cal.ExtendedProperties)
	}
}

func TestOtherOperationsDecode(t *testing.T) {
	ctx := context.Background()
	t.Run("SyncFolderHierarchy", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/how-to-synchronize-folders-by-using-ews-in-exchange.04.SyncFolderHierarchyResponse.xml"))
		res, err := newTestClient(t, srv.URL, nil).SyncFolderHierarchy(ctx, imp, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Changes) != 3 || res.Changes[0].Kind != ChangeUpdate || res.Changes[2].Kind != ChangeDelete || !res.IncludesLastFolderInRange {
			t.Fatalf("result = %+v", res)
		}
		if f := res.Changes[1].Folder; f.DisplayName == "" || f.ID == "" {
			t.Errorf("created folder = %+v", f)
		}
	})
	t.Run("GetFolder keeps request order", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/getfolder-operation.02.GetFolderResponse.xml"))
		res, err := newTestClient(t, srv.URL, nil).GetFolder(ctx, imp, []FolderRef{inbox})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0].Folder == nil || res[0].Ref != inbox {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("FindItem paging", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/how-to-perform-paged-searches-by-using-ews-in-exchange.02.FindItemResponse.xml"))
		res, err := newTestClient(t, srv.URL, nil).FindItem(ctx, imp, inbox, FindItemOptions{Page: &PageView{MaxEntries: 6}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) == 0 || res.IncludesLastItemInRange || res.NextOffset == 0 || res.TotalItemsInView == 0 {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("FindFolder", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/findfolder-operation.02.FindFolderResponse.xml"))
		res, err := newTestClient(t, srv.URL, nil).FindFolder(ctx, imp, FolderRef{Distinguished: "msgfolderroot"}, FindFolderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Folders) == 0 || res.Folders[0].ID == "" {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("CreateItem returns the new id", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/createitem-operation-calendar-item.02.CreateItemResponse.xml"))
		ref, err := newTestClient(t, srv.URL, nil).CreateItem(ctx, imp, FolderRef{Distinguished: "calendar"},
			CalendarEvent{Subject: "x", Start: testNow, End: testNow.Add(time.Hour)}, SendToNone)
		if err != nil {
			t.Fatal(err)
		}
		if ref.ID == "" || ref.ChangeKey == "" {
			t.Fatalf("ref = %+v", ref)
		}
	})
	t.Run("DeleteItem ErrorItemNotFound", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/deleteitem-operation.03.DeleteItemResponse.ErrorItemNotFound.xml"))
		err := newTestClient(t, srv.URL, nil).DeleteItem(ctx, imp, ItemRef{ID: "x"}, "", "")
		if Classify(err) != ClassItemNotFound {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("GetUserAvailability per mailbox", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "responses/getuseravailability-mixed.xml"))
		res, err := newTestClient(t, srv.URL, nil).GetUserAvailability(ctx, Target{Mode: ModeSelf}, AvailabilityRequest{
			Mailboxes: []string{"room@contoso.com", "ghost@contoso.com"}, Start: testNow, End: testNow.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 2 || res[0].Err != nil || len(res[0].Events) != 1 || res[0].Events[0].BusyType != "Busy" ||
			!res[0].Events[0].Start.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("first = %+v", res[0])
		}
		if res[1].Mailbox != "ghost@contoso.com" || Classify(res[1].Err) != ClassMailboxNotFound {
			t.Errorf("second = %+v", res[1])
		}
	})
	t.Run("ResolveNames", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/resolvenames-operation.02.ResolveNamesResponse.xml"))
		res, err := newTestClient(t, srv.URL, nil).ResolveNames(ctx, Target{Mode: ModeSelf}, "john")
		if err != nil {
			t.Fatal(err)
		}
		if len(res) == 0 || res[0].Mailbox.EmailAddress == "" {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("ResolveNames no results is empty", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/resolvenames-operation.03.ResolveNamesResponse.ErrorNameResolutionNoResults.xml"))
		res, err := newTestClient(t, srv.URL, nil).ResolveNames(ctx, Target{Mode: ModeSelf}, "nobody")
		if err != nil || len(res) != 0 {
			t.Fatalf("res=%v err=%v", res, err)
		}
	})
}

// TestInvalidArgumentsSendNothing: bad input gets a clear error before
// any request leaves.
func TestInvalidArgumentsSendNothing(t *testing.T) {
	srv := newCaptureServer(t, 200, nil)
	c := newTestClient(t, srv.URL, nil)
	ctx := context.Background()
	start := testNow
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"maxChanges 0", func() error { _, err := c.SyncFolderItems(ctx, imp, inbox, "", 0); return err }, "between 1 and 512"},
		{"maxChanges 513", func() error { _, err := c.SyncFolderItems(ctx, imp, inbox, "", 513); return err }, "between 1 and 512"},
		{"unknown mode", func() error {
			_, err := c.SyncFolderHierarchy(ctx, Target{Mailbox: "a@b.c", Mode: "fullaccess"}, "")
			return err
		}, "unknown mode"},
		{"impersonation without mailbox", func() error { _, err := c.SyncFolderHierarchy(ctx, Target{Mode: ModeImpersonation}, ""); return err }, "needs a mailbox"},
		{"unknown distinguished folder", func() error {
			_, err := c.SyncFolderItems(ctx, imp, FolderRef{Distinguished: "inbx"}, "", 5)
			return err
		}, "unknown distinguished folder"},
		{"folder with id and name", func() error {
			_, err := c.SyncFolderItems(ctx, imp, FolderRef{ID: "x", Distinguished: "inbox"}, "", 5)
			return err
		}, "both"},
		{"GetItem 101 ids", func() error { _, err := c.GetItem(ctx, imp, make([]string, 101), ShapeIDOnly); return err }, "1 to 100"},
		{"GetItem empty id", func() error { _, err := c.GetItem(ctx, imp, []string{""}, ShapeIDOnly); return err }, "empty"},
		{"calendar view over two years", func() error {
			_, err := c.FindItem(ctx, imp, inbox, FindItemOptions{Calendar: &CalendarView{Start: start, End: start.AddDate(2, 0, 1)}})
			return err
		}, "two years"},
		{"calendar view backwards", func() error {
			_, err := c.FindItem(ctx, imp, inbox, FindItemOptions{Calendar: &CalendarView{Start: start, End: start}})
			return err
		}, "after start"},
		{"both views", func() error {
			_, err := c.FindItem(ctx, imp, inbox, FindItemOptions{Page: &PageView{MaxEntries: 1}, Calendar: &CalendarView{Start: start, End: start.Add(time.Hour)}})
			return err
		}, "not both"},
		{"availability 101 mailboxes", func() error {
			mbs := make([]string, 101)
			for i := range mbs {
				mbs[i] = "a@b.c"
			}
			_, err := c.GetUserAvailability(ctx, imp, AvailabilityRequest{Mailboxes: mbs, Start: start, End: start.Add(time.Hour)})
			return err
		}, "1 to 100"},
		{"availability 43 days", func() error {
			_, err := c.GetUserAvailability(ctx, imp, AvailabilityRequest{Mailboxes: []string{"a@b.c"}, Start: start, End: start.AddDate(0, 0, 43)})
			return err
		}, "42 days"},
		{"create without times", func() error {
			_, err := c.CreateItem(ctx, imp, FolderRef{Distinguished: "calendar"}, CalendarEvent{Subject: "x"}, "")
			return err
		}, "start before its end"},
		{"create with update-only send mode", func() error {
			_, err := c.CreateItem(ctx, imp, FolderRef{Distinguished: "calendar"}, CalendarEvent{Start: start, End: start.Add(time.Hour)}, SendOnlyToChanged)
			return err
		}, "send mode"},
		{"bad extended property", func() error {
			_, err := c.CreateItem(ctx, imp, FolderRef{Distinguished: "calendar"}, CalendarEvent{Start: start, End: start.Add(time.Hour),
				ExtendedProperties: []ExtendedProperty{{Field: ExtendedField{PropertyName: "x", PropertyType: "String"}}}}, "")
			return err
		}, "extended property"},
		{"NeverOverwrite without change key", func() error {
			s := "x"
			_, err := c.UpdateItem(ctx, imp, ItemRef{ID: "a"}, CalendarUpdate{Subject: &s}, "", NeverOverwrite)
			return err
		}, "ChangeKey"},
		{"empty update", func() error {
			_, err := c.UpdateItem(ctx, imp, ItemRef{ID: "a"}, CalendarUpdate{}, "", "")
			return err
		}, "nothing to update"},
		{"delete mode", func() error { return c.DeleteItem(ctx, imp, ItemRef{ID: "a"}, "Shred", "") }, "delete mode"},
		{"empty name query", func() error { _, err := c.ResolveNames(ctx, imp, "  "); return err }, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidArgument mentioning %q", err, tt.want)
			}
			if Classify(err) != ClassPermanent {
				t.Errorf("Classify = %s", Classify(err))
			}
		})
	}
	if n := srv.count(); n != 0 {
		t.Errorf("%d requests were sent for invalid input", n)
	}
	// The limits are inclusive: exactly two years (leap day included) and
	// exactly 42 days are sent.
	_, err := c.FindItem(ctx, imp, inbox, FindItemOptions{Calendar: &CalendarView{Start: start, End: start.AddDate(2, 0, 0)}})
	if errors.Is(err, ErrInvalidArgument) {
		t.Errorf("two-year calendar view refused: %v", err)
	}
	_, err = c.GetUserAvailability(ctx, imp, AvailabilityRequest{Mailboxes: []string{"a@b.c"}, Start: start, End: start.AddDate(0, 0, 42)})
	if errors.Is(err, ErrInvalidArgument) {
		t.Errorf("42-day availability refused: %v", err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("%d requests sent for the two valid calls, want 2", n)
	}
}

func TestResponseSizeLimit(t *testing.T) {
	big := append([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`), make([]byte, 64<<10)...)
	for name, chunked := range map[string]bool{"content-length": false, "chunked": true} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if chunked {
					w.(http.Flusher).Flush() // no Content-Length
				}
				_, _ = w.Write(big)
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.MaxResponseBytes = 16 << 10 })
			err := syncInbox(c)
			if !errors.Is(err, ErrResponseTooLarge) || Classify(err) != ClassPermanent {
				t.Fatalf("err = %v (class %s), want ErrResponseTooLarge", err, Classify(err))
			}
		})
	}
}

// stalledServer never answers. Its handlers return when the test ends:
// the server cannot see a client give up on a request whose body the
// handler never read, so waiting for r.Context() alone would block Close.
func stalledServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: cleanups are LIFO
	return srv
}

func TestDeadlinesAndNetworkErrors(t *testing.T) {
	t.Run("context deadline", func(t *testing.T) {
		srv := stalledServer(t)
		c := newTestClient(t, srv.URL, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.SyncFolderItems(ctx, imp, inbox, "", 10)
		if !errors.Is(err, context.DeadlineExceeded) || Classify(err) != ClassTransient {
			t.Fatalf("err = %v, class %s", err, Classify(err))
		}
	})
	t.Run("Config.Timeout", func(t *testing.T) {
		srv := stalledServer(t)
		c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })
		if err := syncInbox(c); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		err = syncInbox(newTestClient(t, "http://"+addr+"/EWS/Exchange.asmx", nil))
		var e *Error
		if !errors.As(err, &e) || e.Layer != LayerTransport || Classify(err) != ClassTransient {
			t.Fatalf("err = %v, class %s", err, Classify(err))
		}
	})
	t.Run("connection cut mid-body", func(t *testing.T) {
		full := readFixture(t, "responses/syncfolderitems-all-kinds.xml")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			_, _ = w.Write(full[:300])
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}))
		defer srv.Close()
		err := syncInbox(newTestClient(t, srv.URL, nil))
		if Classify(err) != ClassTransient {
			t.Fatalf("err = %v, class %s", err, Classify(err))
		}
	})
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var hits int
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	defer srv.Close()
	err := syncInbox(newTestClient(t, srv.URL, nil))
	var e *Error
	if !errors.As(err, &e) || e.HTTPStatus != http.StatusFound || hits != 0 {
		t.Fatalf("err = %v, redirect target hit %d times", err, hits)
	}
}

func TestTLSVerification(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(readFixture(t, "responses/syncfolderitems-all-kinds.xml"))
	}))
	defer srv.Close()
	t.Run("unknown CA is refused", func(t *testing.T) {
		err := syncInbox(newTestClient(t, srv.URL, nil))
		var ue x509.UnknownAuthorityError
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v, want a certificate error", err)
		}
	})
	t.Run("private CA via RootCAs", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		if err := syncInbox(newTestClient(t, srv.URL, func(c *Config) { c.RootCAs = pool })); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("InsecureSkipVerify client rejected", func(t *testing.T) {
		hc := srv.Client()
		hc.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true
		_, err := New(Config{URL: srv.URL, Auth: BasicAuth("a", "b"), HTTPClient: hc, URLGuard: loopbackGuard})
		if err == nil || !strings.Contains(err.Error(), "skips TLS verification") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", Config{Auth: BasicAuth("a", "b"), URLGuard: &urlguard.Policy{}}, "absolute http(s) URL"},
		{"ftp URL", Config{URL: "ftp://x/ews", Auth: BasicAuth("a", "b"), URLGuard: &urlguard.Policy{}}, "absolute http(s) URL"},
		{"credentials in URL", Config{URL: "https://svc:hunter2@x/ews", Auth: BasicAuth("a", "b"), URLGuard: &urlguard.Policy{}}, "must not contain credentials"},
		{"no auth", Config{URL: "https://x/ews", URLGuard: &urlguard.Policy{}}, "Auth is required"},
		{"unknown version", Config{URL: "https://x/ews", Auth: BasicAuth("a", "b"), Version: "Exchange2019", URLGuard: &urlguard.Policy{}}, "unknown Exchange version"},
		{"no URL guard", Config{URL: "https://x/ews", Auth: BasicAuth("a", "b")}, "URLGuard is required"},
		{"a round tripper the guard cannot check", Config{URL: "https://x/ews", Auth: BasicAuth("a", "b"), URLGuard: &urlguard.Policy{},
			HTTPClient: &http.Client{Transport: roundTripFunc(http.DefaultTransport.RoundTrip)}}, "only an *http.Transport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("password in error: %v", err)
			}
		})
	}
}

func TestRequestServerVersionConfigurable(t *testing.T) {
	srv := newCaptureServer(t, 200, readFixture(t, "responses/syncfolderitems-all-kinds.xml"))
	c := newTestClient(t, srv.URL, func(c *Config) { c.Version = "Exchange2013_SP1" })
	if err := syncInbox(c); err != nil {
		t.Fatal(err)
	}
	if body := string(srv.last(t).body); !strings.Contains(body, `Version="Exchange2013_SP1"`) {
		t.Errorf("version not sent: %s", body)
	}
}

func TestClassifyNil(t *testing.T) {
	var res GetItemResult // Err is a nil *Error
	if c := Classify(res.Err); c != ClassNone {
		t.Errorf("Classify(nil *Error) = %s", c)
	}
	if d := RetryAfter(res.Err); d != 0 {
		t.Errorf("RetryAfter(nil *Error) = %s", d)
	}
	if c := Classify(nil); c != ClassNone {
		t.Errorf("Classify(nil) = %s", c)
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"120", 2 * time.Minute}, {"999999", 24 * time.Hour}, {"99999999999", 24 * time.Hour},
		{testNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{testNow.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, testNow); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestConcurrentCalls: one Client serves many goroutines (the sync worker
// shares it across a tenant's mailboxes); traces get distinct numbers.
func TestConcurrentCalls(t *testing.T) {
	srv := newCaptureServer(t, 200, readFixture(t, "responses/syncfolderitems-all-kinds.xml"))
	dir := t.TempDir()
	secretscan.WatchDir(t, secretscan.Traces, dir) // the package scan reads the trace files
	tr, err := NewTracer(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, srv.URL, func(c *Config) { c.Trace = tr })
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := c.SyncFolderItems(context.Background(), Target{Mailbox: fmt.Sprintf("user%d@contoso.com", i), Mode: ModeDelegate}, inbox, "", 10)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	metas, _ := filepath.Glob(filepath.Join(dir, "*.meta.txt"))
	if len(metas) != n || srv.count() != n {
		t.Errorf("%d trace records and %d requests for %d calls", len(metas), srv.count(), n)
	}
}
