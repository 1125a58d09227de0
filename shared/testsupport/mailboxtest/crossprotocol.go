package mailboxtest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// RichMessages are messages with every property the feed carries for
// mail (categories, importance, draft, attachments, reply-to, Bcc, thread
// headers, sensitivity, a body over the feed's bound),
// added by CompareProtocols to both protocols' mailboxes.
var RichMessages = []struct {
	Folder string
	Item   ewssim.Item
}{
	{"inbox", ewssim.Item{Kind: ewssim.KindMessage, Subject: "RE: Renewal for Fabrikam", Body: "Attached is the signed renewal.",
		From: ewssim.Address{Name: "Kim Larsen", Email: "Kim.Larsen@Fabrikam.com"}, To: []ewssim.Address{{Email: "sales@contoso.com"}},
		ReplyTo:           []ewssim.Address{{Name: "Fabrikam Legal", Email: "legal@fabrikam.com"}},
		InternetMessageID: "<CH1SR01MB0017E3@CH1SR01MB001.namprd01.prod.outlook.com>",
		Importance:        "High", Categories: []string{"Clients", "Renewals"}, HasAttachments: true, FlagStatus: "Flagged",
		Received: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		Attachments: []ewssim.Attachment{{Name: "Renewal 2026 (signed).pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.7 signed")},
			{Name: "image001.png", ContentType: "image/png", ContentID: "image001.png@01DA", IsInline: true, Content: []byte{0x89, 'P', 'N', 'G'}},
			{Name: "FW: terms", IsItem: true, Content: []byte("Subject: terms\r\n\r\nterms")}}}},
	{"sentitems", ewssim.Item{Kind: ewssim.KindMessage, Subject: "Offer", IsDraft: true, Body: "Our offer, as discussed.",
		From: ewssim.Address{Name: "Sales", Email: "sales@contoso.com"}, To: []ewssim.Address{{Email: "buyer@fabrikam.com"}},
		Bcc: []ewssim.Address{{Name: "CRM", Email: "CRM@Contoso.com"}}, Importance: "Low", IsRead: true,
		Received: time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)}},
	{"inbox", ewssim.Item{Kind: ewssim.KindMessage, Subject: "RE: RE: Board pack <draft> & notes", Sensitivity: "Confidential",
		Body: "Board members only.\r\n\r\n" + strings.Repeat("Revenue & margin by region <see table>; \"final\" numbers follow.\r\n", 40),
		From: ewssim.Address{Name: "CFO", Email: "cfo@contoso.com"}, To: []ewssim.Address{{Email: "board@contoso.com"}},
		InReplyTo:  "<b2@contoso.com>",
		References: "<b0@contoso.com> <b1@contoso.com>\r\n <b2@contoso.com>",
		Received:   time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC)}},
}

// AddSeries adds to the mailbox a weekly series (Monday and Thursday
// 09:00 Berlin, 20 occurrences from the week after now, so it crosses a
// DST change) with its second occurrence moved (new times, subject and
// location) and its third deleted, as a client leaves a series after
// editing it; shown tentative. It returns the master's simulator id.
func AddSeries(t testing.TB, sim *ewssim.Sim, mailbox string, now time.Time) string {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day := now.In(berlin).AddDate(0, 0, 7)
	for day.Weekday() != time.Monday {
		day = day.AddDate(0, 0, 1)
	}
	start := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, berlin)
	ref, err := sim.AddItem(mailbox, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Account review", Location: "Room 4",
		Start: start, End: start.Add(45 * time.Minute), TimeZone: "W. Europe Standard Time", FreeBusy: "Tentative",
		Organizer: ewssim.Address{Name: "Sales", Email: mailbox}, Attendees: []ewssim.Address{{Name: "Kim Larsen", Email: "kim.larsen@fabrikam.com"}},
		IsRecurring: true, Recurrence: &ewssim.Recurrence{Pattern: "WeeklyRecurrence", Interval: 1, DaysOfWeek: []string{"Monday", "Thursday"},
			Range: "NumberedRecurrence", StartDate: start.Format(time.DateOnly), Count: 20}})
	if err != nil {
		t.Fatal(err)
	}
	second, third := start.AddDate(0, 0, 3), start.AddDate(0, 0, 7)
	moved := second.AddDate(0, 0, 1).Add(5 * time.Hour)
	if err := sim.SetOccurrence(ref.ID, second, ewssim.Exception{Start: moved, End: moved.Add(time.Hour), Subject: "Account review (moved)", Location: "Room 7"}); err != nil {
		t.Fatal(err)
	}
	if err := sim.DeleteOccurrence(ref.ID, third); err != nil {
		t.Fatal(err)
	}
	return ref.ID
}

// ItemProperties are the feed item's properties that CompareProtocols
// requires some item of the mailbox to carry.
var ItemProperties = []string{
	"subject", "from", "to", "received", "sent", "preview", "isRead",
	"internetMessageId", "conversationId", "importance", "flagStatus", "isDraft", "hasAttachments", "attachments", "replyTo", "bcc", "categories",
	"conversationTopic", "inReplyTo", "references", "sensitivity", "body", "bodyType", "bodyTruncated",
	"start", "end", "timeZone", "location", "organizer", "attendees", "isRecurring",
	"displayName", "givenName", "surname", "emails", "companyName", "jobTitle", "department", "officeLocation",
	"addresses", "birthday", "notes",
}

// CalendarProperties are the calendar fields of issue 13 (series, free/busy,
// responses, reminder). CompareProtocols compares them once some EWS
// calendar item carries a calendarItemType (both adapters map them), and
// then requires some item to carry each of these too: AddSeries gives a
// series with a moved and a deleted occurrence, so recurrence,
// modifiedOccurrences and deletedOccurrences are compared, not vacuous.
var CalendarProperties = []string{
	"calendarItemType", "showAs", "responseRequested", "myResponse", "reminderMinutesBeforeStart",
	"recurrence", "modifiedOccurrences", "deletedOccurrences",
}

// EventBodyProperties are what CompareProtocols requires some calendar
// item (not only some message) to carry: an event's body, its type and
// the mark of a body cut to the feed's bound.
var EventBodyProperties = []string{"body", "bodyType", "bodyTruncated"}

// ewsCalendarPending reports whether the EWS item is a calendar item from
// an EWS adapter that does not map the calendar fields yet; then g's are
// cleared so the fields both adapters map are still compared.
func ewsCalendarPending(e domain.Item, g *domain.Item) bool {
	if e.Kind != domain.KindCalendar || e.CalendarItemType != "" {
		return false
	}
	g.CalendarItemType, g.Recurrence, g.ModifiedOccurrences, g.DeletedOccurrences = "", nil, nil, nil
	g.OriginalStart, g.SeriesMasterID, g.IsCancelled, g.OnlineMeetingURL = time.Time{}, "", false, ""
	g.EndTimeZone, g.WindowsEndTimeZone, g.ShowAs, g.ResponseRequested, g.MyResponse, g.ReminderMinutes = "", "", "", nil, "", nil
	for i := range g.Attendees {
		g.Attendees[i].Type, g.Attendees[i].Response = "", ""
	}
	return true
}

// CompareProtocols syncs the same generated mailbox (plus RichMessages
// and AddSeries' series)
// over EWS and over Graph with the real use case and requires every item
// in the two feeds to be equal but for the protocol's ids: a consumer
// cannot tell which protocol read its mailbox. It returns the number of
// items compared.
func CompareProtocols(t *testing.T, o Options) int {
	t.Helper()
	o.defaults()
	ewsEnv, graphEnv := EWS(t, o), Graph(t, o)
	m := ewsEnv.Mailboxes[0]
	for _, r := range RichMessages {
		for _, env := range []Env{ewsEnv, graphEnv} {
			if _, err := env.Sim.AddItem(m, r.Folder, r.Item); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, env := range []Env{ewsEnv, graphEnv} {
		AddSeries(t, env.Sim, m, o.Now)
	}
	eh, gh := NewHarness(t, ewsEnv), NewHarness(t, graphEnv)
	eh.MustSync(m)
	gh.MustSync(m)
	byGraphID := map[string]domain.Item{}
	for _, c := range gh.Feed(m) {
		if c.Item != nil {
			byGraphID[c.ItemID] = *c.Item
		}
	}
	n, pending, calendarMapped, series := 0, 0, 0, 0
	seen := map[string]bool{}      // the properties some compared item carries
	seenEvent := map[string]bool{} // ... some compared calendar item
	for _, c := range eh.Feed(m) {
		if c.Item == nil {
			continue
		}
		gid, err := graphEnv.ItemID(c.ItemID)
		if err != nil {
			t.Fatalf("%s: %v", c.ItemID, err)
		}
		g, ok := byGraphID[gid]
		if !ok {
			t.Errorf("%s %q is in the EWS feed, not in the Graph feed", c.Item.Kind, c.Item.Subject)
			continue
		}
		e := *c.Item
		if ewsCalendarPending(e, &g) {
			pending++
		} else if e.Kind == domain.KindCalendar {
			calendarMapped++
		}
		e.ID, e.ChangeKey, e.FolderID = "", "", ""
		g.ID, g.ChangeKey, g.FolderID = "", "", ""
		// Attachment ids are each protocol's, as item ids are.
		e.Attachments, g.Attachments = withoutIDs(e.Attachments), withoutIDs(g.Attachments)
		// So are an exception's.
		e.ModifiedOccurrences, g.ModifiedOccurrences = withoutOccurrenceIDs(e.ModifiedOccurrences), withoutOccurrenceIDs(g.ModifiedOccurrences)
		if e.Recurrence != nil {
			series++
		}
		eb, _ := json.Marshal(e)
		gb, _ := json.Marshal(g)
		if string(eb) != string(gb) {
			t.Errorf("%s %q differs:\nEWS:   %s\nGraph: %s", e.Kind, e.Subject, eb, gb)
		}
		var keys map[string]any
		_ = json.Unmarshal(eb, &keys)
		for k := range keys {
			seen[k] = true
			seenEvent[k] = seenEvent[k] || e.Kind == domain.KindCalendar
		}
		n++
	}
	// A property no item carries would compare equal vacuously.
	props := ItemProperties
	if calendarMapped > 0 {
		props = append(slices.Clone(props), CalendarProperties...)
		if pending > 0 {
			t.Errorf("%d EWS calendar items without a calendarItemType beside %d with one", pending, calendarMapped)
		}
	}
	for _, k := range props {
		if !seen[k] {
			t.Errorf("no compared item carries %q: the simulator does not produce it", k)
		}
	}
	if series == 0 {
		t.Error("no series compared")
	}
	for _, k := range EventBodyProperties {
		if !seenEvent[k] {
			t.Errorf("no compared calendar item carries %q", k)
		}
	}
	if n != len(byGraphID) {
		t.Errorf("compared %d items; the Graph feed has %d", n, len(byGraphID))
	}
	return n
}

func withoutIDs(as []domain.Attachment) []domain.Attachment {
	out := make([]domain.Attachment, len(as))
	for i, a := range as {
		a.ID = ""
		out[i] = a
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func withoutOccurrenceIDs(os []domain.Occurrence) []domain.Occurrence {
	out := make([]domain.Occurrence, len(os))
	for i, o := range os {
		if o.ItemID != "" {
			o.ItemID = "(id)" // each protocol's; an exception without one differs
		}
		out[i] = o
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
