package ews

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/testsupport/golden"
)

// captured is one request as the server saw it.
type captured struct {
	header http.Header
	body   []byte
}

// captureServer records every request and answers each with the given
// status and body.
type captureServer struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []captured
	status int
	body   []byte
	header http.Header
}

func newCaptureServer(t *testing.T, status int, body []byte) *captureServer {
	t.Helper()
	cs := &captureServer{status: status, body: body, header: http.Header{}}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		cs.mu.Lock()
		cs.reqs = append(cs.reqs, captured{header: r.Header.Clone(), body: b})
		for k, v := range cs.header {
			w.Header()[k] = v
		}
		status, body := cs.status, cs.body
		cs.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *captureServer) last(t *testing.T) captured {
	t.Helper()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.reqs) == 0 {
		t.Fatal("no request reached the server")
	}
	return cs.reqs[len(cs.reqs)-1]
}

func (cs *captureServer) count() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.reqs)
}

// Hostile values: each would break the envelope if it were not escaped.
const (
	hostileMailbox = `o'brien&"sales"<x>@contoso.com`
	hostileSubject = `</t:Subject><script>alert(1)</script>&amp; ]]> "quoted" 'single'`
	hostileText    = "line1\r\nline2\t<b>&nbsp;</b>\x01\x7f end"
	hostileID      = `AAMk"&<>'==`
)

type requestCase struct {
	name  string
	modes []Mode // nil = all three
	call  func(ctx context.Context, c *Client, t Target) error
}

func requestCases() []requestCase {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	end := start.Add(90 * time.Minute)
	marker := ExtendedProperty{Field: ExtendedField{PropertySetID: "c11ff724-aa03-4555-9952-8fa248a11c3e", PropertyName: "MailbridgeEventId", PropertyType: "String"}, Value: "evt-42 " + hostileSubject}
	subject, location, bodyText := hostileSubject, "", hostileText
	allDay := false
	busy := "Tentative"
	tz := "W. Europe Standard Time"
	req := []Mailbox{{Name: `Lee "the boss" <Chen>`, EmailAddress: "lee&co@contoso.com"}}
	var none []Mailbox
	return []requestCase{
		{name: "SyncFolderHierarchy-initial", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.SyncFolderHierarchy(ctx, t, "")
			return err
		}},
		{name: "SyncFolderHierarchy-hostile-state", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.SyncFolderHierarchy(ctx, t, "</m:SyncState><x>&")
			return err
		}},
		{name: "SyncFolderItems-inbox", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.SyncFolderItems(ctx, t, FolderRef{Distinguished: "inbox"}, "", 512)
			return err
		}},
		{name: "SyncFolderItems-folderid-hostile", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.SyncFolderItems(ctx, t, FolderRef{ID: hostileID, ChangeKey: hostileID}, "H4sI</m:SyncState>&amp;", 1)
			return err
		}},
		{name: "GetItem-message", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetItem(ctx, t, []string{"AAMkA1", hostileID, "AAMkA3"}, ShapeMessage)
			return err
		}},
		{name: "GetItem-message-flag", modes: []Mode{ModeSelf}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetItem(ctx, t, []string{"AAMkA1"}, ShapeMessageFlag)
			return err
		}},
		{name: "GetItem-calendar-series-2016", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetItem(ctx, t, []string{"AAMkA1"}, ShapeCalendarFor(""))
			return err
		}},
		{name: "GetItem-calendar-series-2010", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetItem(ctx, t, []string{"AAMkA1"}, ShapeCalendarFor("Exchange2010_SP2"))
			return err
		}},
		{name: "GetItem-calendar-series-2007", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetItem(ctx, t, []string{"AAMkA1"}, ShapeCalendarFor("Exchange2007_SP1"))
			return err
		}},
		{name: "GetItem-occurrences", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetItem(ctx, t, []string{"AAMkO1", hostileID}, ShapeOccurrence)
			return err
		}},
		{name: "FindItem-calendar-view", modes: []Mode{ModeImpersonation, ModeDelegate}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.CalendarView(ctx, t, FolderRef{Distinguished: "calendar"}, start, start.AddDate(0, 0, 62), 1000, ShapeCalendarViewFor(""))
			return err
		}},
		// One case per pattern (and each range kind among them).
		{name: "CreateItem-series-relative-yearly", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			r := &Recurrence{Pattern: RelativeYearlyRecurrence, DaysOfWeek: []string{"Weekday"}, DayOfWeekIndex: "Last", Month: "March",
				Range: NoEndRecurrence, StartDate: "2026-12-01"}
			_, err := c.CreateItem(ctx, t, FolderRef{Distinguished: "calendar"}, CalendarEvent{Subject: subject, Start: start, End: end, TimeZone: tz, Recurrence: r}, "")
			return err
		}},
		{name: "CreateItem-series-absolute-yearly", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			r := &Recurrence{Pattern: AbsoluteYearlyRecurrence, DayOfMonth: 29, Month: "February", Range: NumberedRecurrence, StartDate: "2026-12-01", NumberOfOccurrences: 5}
			_, err := c.CreateItem(ctx, t, FolderRef{Distinguished: "calendar"}, CalendarEvent{Subject: subject, Start: start, End: end, TimeZone: tz, Recurrence: r}, "")
			return err
		}},
		{name: "CreateItem-series-relative-monthly", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			r := &Recurrence{Pattern: RelativeMonthlyRecurrence, Interval: 2, DaysOfWeek: []string{"Tuesday"}, DayOfWeekIndex: "Second", Range: EndDateRecurrence, StartDate: "2026-12-01", EndDate: "2027-12-31"}
			_, err := c.CreateItem(ctx, t, FolderRef{Distinguished: "calendar"}, CalendarEvent{Subject: subject, Start: start, End: end, TimeZone: tz, Recurrence: r}, "")
			return err
		}},
		{name: "CreateItem-series-absolute-monthly", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			r := &Recurrence{Pattern: AbsoluteMonthlyRecurrence, Interval: 1, DayOfMonth: 31, Range: NoEndRecurrence, StartDate: "2026-12-01"}
			_, err := c.CreateItem(ctx, t, FolderRef{Distinguished: "calendar"}, CalendarEvent{Subject: subject, Start: start, End: end, TimeZone: tz, Recurrence: r}, "")
			return err
		}},
		{name: "CreateItem-series-weekly", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			r := &Recurrence{Pattern: WeeklyRecurrence, Interval: 2, DaysOfWeek: []string{"Monday", "Thursday"}, FirstDayOfWeek: "Monday", Range: NumberedRecurrence, StartDate: "2026-12-01", NumberOfOccurrences: 10}
			_, err := c.CreateItem(ctx, t, FolderRef{Distinguished: "calendar"}, CalendarEvent{Subject: subject, Start: start, End: end, TimeZone: tz, Recurrence: r}, "")
			return err
		}},
		{name: "CreateItem-series-daily", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			r := &Recurrence{Pattern: DailyRecurrence, Interval: 3, Range: EndDateRecurrence, StartDate: "2026-12-01", EndDate: "2026-12-31"}
			_, err := c.CreateItem(ctx, t, FolderRef{Distinguished: "calendar"}, CalendarEvent{Subject: subject, Start: start, End: end, TimeZone: tz, IsAllDay: true, Recurrence: r}, "")
			return err
		}},
		{name: "GetItem-calendar-extended", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			s := ShapeCalendar
			s.Extended = []ExtendedField{marker.Field, {DistinguishedPropertySetID: "PublicStrings", PropertyName: "x&y", PropertyType: "String"}, {PropertyTag: "0x0037", PropertyType: "String"}}
			s.BodyType = "Text"
			s.MaxBodySize = 4096
			_, err := c.GetItem(ctx, t, []string{"AAMkA1"}, s)
			return err
		}},
		{name: "GetItem-contact", modes: []Mode{ModeSelf}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetItem(ctx, t, []string{"AAMkA1"}, ShapeContact)
			return err
		}},
		{name: "GetItem-mime", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetItem(ctx, t, []string{hostileID}, Shape{Base: "IdOnly", IncludeMIME: true})
			return err
		}},
		{name: "GetItem-body-attachments", modes: []Mode{ModeSelf}, call: func(ctx context.Context, c *Client, t Target) error {
			s := ShapeMessage
			s.Fields = append(append([]string(nil), s.Fields...), "item:Body")
			s.BodyType = "HTML"
			_, err := c.GetItem(ctx, t, []string{"AAMkA1"}, s)
			return err
		}},
		{name: "GetAttachment", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetAttachment(ctx, t, hostileID)
			return err
		}},
		{name: "GetItem-idonly", modes: []Mode{ModeSelf}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetItem(ctx, t, []string{"AAMkA1"}, ShapeIDOnly)
			return err
		}},
		{name: "GetFolder-mixed", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetFolder(ctx, t, []FolderRef{{Distinguished: "inbox"}, {ID: hostileID}, {Distinguished: "calendar"}, {Distinguished: "contacts"}, {Distinguished: "sentitems"}})
			return err
		}},
		{name: "FindFolder-deep", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.FindFolder(ctx, t, FolderRef{Distinguished: "msgfolderroot"}, FindFolderOptions{Deep: true, Offset: 10, MaxEntries: 100})
			return err
		}},
		{name: "FindItem-page", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.FindItem(ctx, t, FolderRef{Distinguished: "inbox"}, FindItemOptions{Page: &PageView{Offset: 200, MaxEntries: 100}})
			return err
		}},
		{name: "FindItem-calendarview", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.FindItem(ctx, t, FolderRef{Distinguished: "calendar"}, FindItemOptions{Calendar: &CalendarView{Start: start, End: start.AddDate(0, 1, 0), MaxEntries: 500}})
			return err
		}},
		{name: "FindItem-restriction", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.FindItem(ctx, t, FolderRef{Distinguished: "calendar"}, FindItemOptions{
				Shape: Shape{Base: "IdOnly", Extended: []ExtendedField{marker.Field}}, Page: &PageView{MaxEntries: 2},
				Restriction: &Restriction{Field: marker.Field, Value: hostileSubject},
			})
			return err
		}},
		{name: "CreateItem-meeting", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.CreateItem(ctx, t, FolderRef{Distinguished: "calendar"}, CalendarEvent{
				Subject: hostileSubject, Body: "<p>" + hostileText + "</p>", BodyHTML: true, Start: start, End: end,
				TimeZone: tz, Location: hostileSubject, FreeBusy: "Busy",
				RequiredAttendees: req, OptionalAttendees: []Mailbox{{EmailAddress: "opt@contoso.com"}},
				ExtendedProperties: []ExtendedProperty{marker},
			}, SendToAllAndSaveCopy)
			return err
		}},
		{name: "CreateItem-allday-minimal", modes: []Mode{ModeSelf}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.CreateItem(ctx, t, FolderRef{Distinguished: "calendar"}, CalendarEvent{
				Subject: "Offsite", Start: start.Truncate(24 * time.Hour), End: start.Truncate(24 * time.Hour).Add(24 * time.Hour), IsAllDay: true,
			}, "")
			return err
		}},
		{name: "UpdateItem-all-fields", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.UpdateItem(ctx, t, ItemRef{ID: hostileID, ChangeKey: "DwAAAB"}, CalendarUpdate{
				Subject: &subject, Body: &bodyText, Start: &start, End: &end, TimeZone: &tz, IsAllDay: &allDay,
				Location: &location, FreeBusy: &busy, RequiredAttendees: &req, OptionalAttendees: &none,
				ExtendedProperties: []ExtendedProperty{marker},
			}, SendToChangedAndSaveCopy, NeverOverwrite)
			return err
		}},
		{name: "UpdateItem-time-only", modes: []Mode{ModeSelf}, call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.UpdateItem(ctx, t, ItemRef{ID: "AAMkA1"}, CalendarUpdate{Start: &start, End: &end}, SendOnlyToChanged, AlwaysOverwrite)
			return err
		}},
		{name: "DeleteItem", call: func(ctx context.Context, c *Client, t Target) error {
			return c.DeleteItem(ctx, t, ItemRef{ID: hostileID, ChangeKey: "DwAAAB"}, MoveToDeletedItems, SendToAllAndSaveCopy)
		}},
		{name: "DeleteItem-hard-quiet", modes: []Mode{ModeSelf}, call: func(ctx context.Context, c *Client, t Target) error {
			return c.DeleteItem(ctx, t, ItemRef{ID: "AAMkA1"}, HardDelete, "")
		}},
		{name: "CreateItem-DeclineItem", call: func(ctx context.Context, c *Client, t Target) error {
			return c.RespondToMeeting(ctx, t, ItemRef{ID: hostileID, ChangeKey: "DwAAAB"}, Decline, hostileText, SendAndSaveCopy)
		}},
		{name: "CreateItem-DeclineItem-quiet", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			return c.RespondToMeeting(ctx, t, ItemRef{ID: "AAMkA1"}, Decline, "", SaveOnly)
		}},
		{name: "CreateItem-CancelCalendarItem", modes: []Mode{ModeImpersonation}, call: func(ctx context.Context, c *Client, t Target) error {
			return c.RespondToMeeting(ctx, t, ItemRef{ID: hostileID}, CancelMeeting, hostileSubject, SendAndSaveCopy)
		}},
		{name: "GetUserAvailability", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetUserAvailability(ctx, t, AvailabilityRequest{
				Mailboxes: []string{"room1@contoso.com", hostileMailbox}, Start: start, End: start.AddDate(0, 0, 42), IntervalMinutes: 15, Detailed: true,
			})
			return err
		}},
		{name: "ResolveNames", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.ResolveNames(ctx, t, `"Smith, J" <j&s@contoso.com>`)
			return err
		}},
		{name: "GetRoomLists", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetRoomLists(ctx, t)
			return err
		}},
		{name: "GetRooms", call: func(ctx context.Context, c *Client, t Target) error {
			_, err := c.GetRooms(ctx, t, `rooms&"halls"<b1>@contoso.com`)
			return err
		}},
	}
}

// validatorPath finds ../shared/ews/validate-soap beside the repository
// (EWS_VALIDATOR overrides) and fails the test, never skips, when it or
// xmllint is missing.
func validatorPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("EWS_VALIDATOR")
	if p == "" {
		p = filepath.Join("..", "..", "..", "..", "shared", "ews", "validate-soap")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("EWS schema validator not found at %s: %v (set EWS_VALIDATOR to ../shared/ews/validate-soap; it needs python3 and xmllint: apt-get install -y libxml2-utils)", abs, err)
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatalf("xmllint is missing; install it with: apt-get install -y libxml2-utils")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 is missing; the validator %s needs it", abs)
	}
	return abs
}

// soapHeader is an envelope's header, as marshalEnvelope writes it.
var soapHeader = regexp.MustCompile(`(?s)<soap:Header>.*?</soap:Header>`)

var validatorSummary = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`)

// validateDirs runs the validator on each dir concurrently (it starts one
// xmllint per element, so this is the slow part) and returns the number of
// elements checked.
func validateDirs(t *testing.T, validator string, dirs []string) int {
	t.Helper()
	type result struct {
		out    []byte
		err    error
		passed int
		failed int
	}
	results := make([]result, len(dirs))
	// A stuck validator fails the test instead of hanging go test.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i, d := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.CommandContext(ctx, "python3", validator, d).CombinedOutput()
			r := result{out: out, err: err}
			if m := validatorSummary.FindSubmatch(out); m != nil {
				fmt.Sscan(string(m[1]), &r.passed)
				fmt.Sscan(string(m[2]), &r.failed)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	checked := 0
	for i, r := range results {
		if strings.Contains(string(r.out), "xmllint") && r.passed == 0 && r.failed == 0 {
			t.Fatalf("validator could not run xmllint (apt-get install -y libxml2-utils): %s", r.out)
		}
		if r.err != nil || r.failed > 0 {
			t.Errorf("schema validation of %s failed (%v):\n%s", dirs[i], r.err, r.out)
		}
		checked += r.passed + r.failed
	}
	return checked
}

// TestRequestsValidateAgainstSchema builds every request the client can
// send, for every operation and addressing mode, with hostile values, and
// checks each against the official EWS schema. It also pins them as
// golden files (testdata/requests) and checks the addressing headers.
func TestRequestsValidateAgainstSchema(t *testing.T) {
	// The validator starts one xmllint per element (~0.15 s of CPU each);
	// let the rest of the package run meanwhile.
	t.Parallel()
	validator := validatorPath(t)
	fault := readFixture(t, "responses/fault-ErrorServerBusy.xml")
	srv := newCaptureServer(t, http.StatusInternalServerError, fault)
	c, err := New(Config{URL: srv.URL + "/EWS/Exchange.asmx", Auth: BasicAuth("svc", "pw"), URLGuard: loopbackGuard})
	if err != nil {
		t.Fatal(err)
	}
	targets := map[Mode]Target{
		ModeImpersonation: {Mailbox: hostileMailbox, Mode: ModeImpersonation},
		ModeDelegate:      {Mailbox: hostileMailbox, Mode: ModeDelegate},
		ModeSelf:          {Mode: ModeSelf},
	}
	tmp := t.TempDir()
	dirs := []string{filepath.Join(tmp, "a"), filepath.Join(tmp, "b")}
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	envelopes := 0
	// Validating an element costs one xmllint run over the whole schema,
	// and most envelopes share their header byte for byte: each distinct
	// header is validated once, the others are written without it.
	headers := map[string]bool{}
	for _, rc := range requestCases() {
		modes := rc.modes
		if modes == nil {
			modes = []Mode{ModeImpersonation, ModeDelegate, ModeSelf}
		}
		for _, m := range modes {
			name := rc.name + "-" + string(m)
			t.Run(name, func(t *testing.T) {
				before := srv.count()
				err := rc.call(context.Background(), c, targets[m])
				if srv.count() != before+1 {
					t.Fatalf("expected exactly one request, got %d (err %v)", srv.count()-before, err)
				}
				// The canned answer is an ErrorServerBusy fault: every
				// operation must surface it as throttling with its delay.
				if Classify(err) != ClassThrottled || RetryAfter(err) != 297749*time.Millisecond {
					t.Errorf("error %v: class %s, retry after %s", err, Classify(err), RetryAfter(err))
				}
				req := srv.last(t)
				checkAddressing(t, m, req)
				file := name + ".xml"
				toValidate := req.body
				if h := soapHeader.Find(req.body); headers[string(h)] {
					toValidate = soapHeader.ReplaceAll(req.body, nil)
				} else {
					headers[string(h)] = true
				}
				if err := os.WriteFile(filepath.Join(dirs[envelopes%2], file), toValidate, 0o644); err != nil {
					t.Fatal(err)
				}
				envelopes++
				golden.Check(t, filepath.Join("testdata", "requests", file), req.body)
			})
		}
	}
	checked := validateDirs(t, validator, dirs)
	t.Logf("schema-validated %d request envelopes (%d elements)", envelopes, checked)
	fmt.Printf("ews: %d request envelopes (%d elements) validated against the EWS schema\n", envelopes, checked)
	if envelopes < 47 {
		t.Errorf("only %d envelopes built; a case went missing", envelopes)
	}
}

func checkAddressing(t *testing.T, m Mode, req captured) {
	t.Helper()
	body := string(req.body)
	anchor := req.header.Get("X-AnchorMailbox")
	impersonates := strings.Contains(body, "<t:ExchangeImpersonation>")
	names := strings.Contains(body, "<t:Mailbox>\n") || strings.Contains(body, "<t:Mailbox>")
	switch m {
	case ModeImpersonation:
		if anchor != hostileMailbox || !impersonates {
			t.Errorf("impersonation: X-AnchorMailbox=%q, ExchangeImpersonation=%v", anchor, impersonates)
		}
	case ModeDelegate:
		if anchor != hostileMailbox || impersonates {
			t.Errorf("delegate: X-AnchorMailbox=%q, ExchangeImpersonation=%v", anchor, impersonates)
		}
		if strings.Contains(body, "<t:DistinguishedFolderId") && !names {
			t.Errorf("delegate: distinguished folder without a Mailbox")
		}
	case ModeSelf:
		if anchor != "" || impersonates {
			t.Errorf("self: X-AnchorMailbox=%q, ExchangeImpersonation=%v", anchor, impersonates)
		}
	}
	if !strings.Contains(body, `<t:RequestServerVersion Version="Exchange2016">`) {
		t.Error("RequestServerVersion header missing")
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "</t:Subject><") {
		t.Error("a hostile value reached the envelope unescaped")
	}
}
