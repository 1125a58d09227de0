package ewsmailbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mailbridge/mailbridge/shared/testsupport/golden"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
)

func ptr[T any](v T) *T { return &v }

func TestNormalizeGolden(t *testing.T) {
	pst := time.FixedZone("PST", -8*3600)
	items := []struct {
		name string
		in   ews.Item
	}{
		{"message", ews.Item{
			Type: "Message", ItemID: "AAMkM1", ChangeKey: "CQAAA1", ParentFolderID: "AAMkInbox", ItemClass: "IPM.Note",
			Subject: "Budget Q3", Preview: "  Please see the notes below.  ",
			From:             &ews.Mailbox{Name: "Ada Park", EmailAddress: "Ada.Park@Contoso.com", RoutingType: "SMTP"},
			To:               []ews.Mailbox{{Name: "Ben", EmailAddress: "ben@contoso.com"}, {EmailAddress: ""}},
			Cc:               []ews.Mailbox{{Name: "Legacy", EmailAddress: "/o=Contoso/ou=Exchange/cn=Recipients/cn=legacy", RoutingType: "EX"}},
			DateTimeReceived: time.Date(2026, 1, 5, 9, 30, 0, 0, pst), DateTimeSent: time.Date(2026, 1, 5, 9, 29, 0, 0, pst),
			IsRead: ptr(false), Body: "\r\n  Hi Ben,\r\nthe budget is attached.\r\n", BodyType: "Text",
			Sensitivity: "Confidential", ConversationTopic: " Budget Q3 ", InReplyTo: "<a1@contoso.com>",
			References:        "<root@contoso.com>\r\n <a1@contoso.com>",
			InternetMessageID: " <e5919a09c8fc4d64b6ffd3542e194fc3@BY2SR01MB609.contoso.com> ",
			ConversationID:    "AAQkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAQACAi+NTh0F5Eg5YDwpJsXPE=",
			Importance:        "High", Categories: []string{"Red category", " ", "Clients"}, HasAttachments: true, FlagStatus: "Flagged",
			ReplyTo: []ews.Mailbox{{Name: "Desk", EmailAddress: "Desk@Contoso.com"}},
		}},
		{"contact with work details", ews.Item{
			Type: "Contact", ItemID: "AAMkP2", ChangeKey: "EQAAA2", DisplayName: "Tanja Plate",
			CompanyName: "Northwind Traders", JobTitle: " Project Manager ", Department: "PMO", OfficeLocation: "Whittier 2",
			// Other before Business, an unknown key and an empty Home entry:
			// the feed lists business, then other; nothing else.
			PhysicalAddresses: []ews.PhysicalAddress{{Key: "Other", City: "Lisbon"}, {Key: "Mars", City: "Olympus"}, {Key: "Home", Street: " "},
				{Key: "Business", Street: "12345 67th Ave", City: "Whittier", State: "CA", CountryOrRegion: "USA"}},
			Birthday: time.Date(1980, 5, 10, 4, 59, 0, 0, pst), Body: "  Prefers e-mail.  ", BodyType: "Text",
			Categories: []string{"Clients"},
		}},
		{"draft with bcc", ews.Item{
			Type: "Message", ItemID: "AAMkM3", ChangeKey: "CQAAA3", ItemClass: "IPM.Note", Subject: "Offer",
			IsDraft: true, Importance: "Low", To: []ews.Mailbox{{EmailAddress: "client@fabrikam.com"}},
			Bcc:  []ews.Mailbox{{Name: "CRM", EmailAddress: "CRM@Contoso.com"}},
			Body: "<html><body><p>" + strings.Repeat("Offer ", 300) + "</p></body></html>", BodyType: "HTML", Sensitivity: "secret",
		}},
		{"meeting request in the inbox", ews.Item{
			Type: "MeetingRequest", ItemID: "AAMkM2", ChangeKey: "CQAAA2", ItemClass: "IPM.Schedule.Meeting.Request",
			Subject: "Design review", From: &ews.Mailbox{Name: "Chloe", EmailAddress: "chloe@contoso.com"},
		}},
		{"recurring occurrence", ews.Item{
			Type: "CalendarItem", ItemID: "AAMkC1", ChangeKey: "DwAAA1", ParentFolderID: "AAMkCal", Subject: "Standup",
			Start: time.Date(2026, 1, 6, 9, 0, 0, 0, pst), End: time.Date(2026, 1, 6, 9, 15, 0, 0, pst),
			StartTimeZone: "Pacific Standard Time", Location: "Aurora",
			Organizer:         &ews.Mailbox{Name: "Dan", EmailAddress: "dan@contoso.com"},
			RequiredAttendees: []ews.Attendee{{Mailbox: ews.Mailbox{Name: "Eva", EmailAddress: "eva@contoso.com"}, ResponseType: "Accept"}},
			OptionalAttendees: []ews.Attendee{{Mailbox: ews.Mailbox{Name: "Room Aurora", EmailAddress: "aurora@contoso.com"}}},
			CalendarItemType:  "Occurrence",
		}},
		{"single meeting", ews.Item{
			Type: "CalendarItem", ItemID: "AAMkC2", ChangeKey: "DwAAA2", Subject: "1:1",
			Start: time.Date(2026, 2, 1, 14, 0, 0, 0, time.UTC), End: time.Date(2026, 2, 1, 14, 30, 0, 0, time.UTC),
			CalendarItemType: "Single",
		}},
		{"contact", ews.Item{
			Type: "Contact", ItemID: "AAMkP1", ChangeKey: "EQAAA1", ParentFolderID: "AAMkContacts",
			DisplayName: "Farid Okafor", GivenName: "Farid", Surname: "Okafor",
			EmailAddresses: []ews.KeyedValue{{Key: "EmailAddress1", Value: "farid@contoso.com"}, {Key: "EmailAddress2", Value: " "}},
			PhoneNumbers:   []ews.KeyedValue{{Key: "BusinessPhone", Value: "+1 425 555 0100"}, {Key: "MobilePhone", Value: "+1 425 555 0199"}},
		}},
	}
	got := map[string]any{}
	for _, it := range items {
		got[it.name] = ewsmailbox.Normalize(it.in)
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	golden.Check(t, filepath.Join("testdata", "normalized.golden.json"), b)
	if bytes.Contains(b, []byte("Olympus")) {
		t.Errorf("an unknown address kind reached the normalized item")
	}
	// The message's text body is trimmed, its thread headers split; the
	// draft's HTML body is cut to the bound and marked, its unknown
	// sensitivity dropped.
	msg := got["message"].(domain.Item)
	if msg.Body != "Hi Ben,\r\nthe budget is attached." || msg.BodyType != "text" || msg.BodyTruncated || msg.Sensitivity != "confidential" ||
		msg.ConversationTopic != "Budget Q3" || len(msg.References) != 2 || msg.References[1] != "<a1@contoso.com>" || msg.Truncated {
		t.Errorf("message %+v", msg)
	}
	draft := got["draft with bcc"].(domain.Item)
	if len(draft.Body) != domain.MaxItemBody || draft.BodyType != "html" || !draft.BodyTruncated || draft.Truncated || draft.Sensitivity != "" {
		t.Errorf("draft body %d bytes, type %q, cut %v, truncated %v, sensitivity %q", len(draft.Body), draft.BodyType, draft.BodyTruncated, draft.Truncated, draft.Sensitivity)
	}
}

// One oversized item must not block a mailbox: texts and lists are cut to
// the domain's bounds (on a rune boundary) and the item says so.
func TestNormalizeBoundsHugeItems(t *testing.T) {
	many := func(n int) []ews.Attendee {
		out := make([]ews.Attendee, n)
		for i := range out {
			out[i].Mailbox = ews.Mailbox{Name: fmt.Sprintf("Guest %d", i), EmailAddress: fmt.Sprintf("guest%d@example.com", i)}
		}
		return out
	}
	long := strings.Repeat("é", domain.MaxItemText) // two bytes a rune
	tests := []struct {
		name      string
		in        ews.Item
		truncated bool
		check     func(t *testing.T, it domain.Item)
	}{
		{"ordinary meeting is untouched", ews.Item{Type: "CalendarItem", Subject: "Sync", RequiredAttendees: many(3)}, false,
			func(t *testing.T, it domain.Item) {
				if len(it.Attendees) != 3 || it.Subject != "Sync" {
					t.Fatalf("changed: %+v", it)
				}
			}},
		{"town hall with 5,000 attendees", ews.Item{Type: "CalendarItem", Subject: "All hands", RequiredAttendees: many(4000), OptionalAttendees: many(1000)}, true,
			func(t *testing.T, it domain.Item) {
				if len(it.Attendees) != domain.MaxItemRecipients || it.Attendees[0].Email != "guest0@example.com" {
					t.Fatalf("attendees: %d, first %+v", len(it.Attendees), it.Attendees[0])
				}
			}},
		{"contact with 4 KB names", ews.Item{Type: "Contact", DisplayName: "Ann", GivenName: long, Surname: long}, true,
			func(t *testing.T, it domain.Item) {
				for _, name := range []string{it.GivenName, it.Surname} {
					if len(name) > domain.MaxItemText || !utf8.ValidString(name) || !strings.HasPrefix(long, name) {
						t.Fatalf("name cut badly: %d bytes, valid %v", len(name), utf8.ValidString(name))
					}
				}
			}},
		{"importance and flag outside the schema's enums are dropped", ews.Item{Type: "Message", Importance: "Urgent<script>", FlagStatus: "Maybe"}, false,
			func(t *testing.T, it domain.Item) {
				if it.Importance != "" || it.FlagStatus != "" {
					t.Fatalf("importance %q, flag %q passed on", it.Importance, it.FlagStatus)
				}
			}},
		{"oversized internet message id and 100 categories", ews.Item{Type: "Message", InternetMessageID: strings.Repeat("<x", domain.MaxItemID), Categories: strings.Fields(strings.Repeat("c ", 100))}, true,
			func(t *testing.T, it domain.Item) {
				if len(it.InternetMessageID) != domain.MaxItemID || len(it.Categories) != domain.MaxItemValues {
					t.Fatalf("id %d bytes, %d categories", len(it.InternetMessageID), len(it.Categories))
				}
			}},
		{"subject of 4 KB of two-byte runes", ews.Item{Type: "Message", Subject: long}, true,
			func(t *testing.T, it domain.Item) {
				if len(it.Subject) > domain.MaxItemText || !utf8.ValidString(it.Subject) || !strings.HasPrefix(long, it.Subject) {
					t.Fatalf("subject cut badly: %d bytes, valid %v", len(it.Subject), utf8.ValidString(it.Subject))
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := ewsmailbox.Normalize(tc.in)
			if it.Truncated != tc.truncated {
				t.Fatalf("Truncated = %v, want %v", it.Truncated, tc.truncated)
			}
			tc.check(t, it)
			b, _ := json.Marshal(it)
			if len(b) > 100_000 {
				t.Fatalf("normalized item is %d bytes", len(b))
			}
		})
	}
}
