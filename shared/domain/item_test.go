package domain

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestBoundWorstCase fills every field of a message and of a contact far
// beyond its bound with the character JSON escapes longest ('<' becomes
// \u003c), and requires the bounded item, encoded as the stores encode
// it, to stay well under DynamoDB's 400 KB item limit, marked Truncated.
func TestBoundWorstCase(t *testing.T) {
	huge := strings.Repeat("<", 3*MaxItemText)
	addrs := func() []Address {
		out := make([]Address, 2*MaxItemRecipients)
		for i := range out {
			out[i] = Address{Name: huge, Email: huge}
		}
		return out
	}
	list := func() []string {
		out := make([]string, 2*MaxItemValues)
		for i := range out {
			out[i] = huge
		}
		return out
	}
	from := Address{Name: huge, Email: huge}
	refs := make([]string, 4*MaxItemReferences)
	for i := range refs {
		refs[i] = huge
	}
	attachments := make([]Attachment, 2*MaxItemAttachments)
	for i := range attachments {
		attachments[i] = Attachment{ID: strings.Repeat("A", MaxAttachmentID), Name: huge, ContentType: huge, Size: 1 << 40, IsInline: true, Kind: AttachmentItem}
	}
	for _, it := range []Item{
		{Kind: KindMessage, Subject: huge, Preview: huge, From: &from, To: addrs(), Cc: addrs(), Bcc: addrs(), ReplyTo: addrs(),
			InternetMessageID: huge, ConversationID: huge, Categories: list(), HasAttachments: true, Attachments: attachments,
			ConversationTopic: huge, InReplyTo: huge, References: refs, Body: huge, BodyType: BodyFormatHTML},
		{Kind: KindCalendar, Subject: huge, Location: huge, Organizer: &from, Attendees: addrs(), CalendarItemType: CalendarSeriesMaster,
			Recurrence:          &Recurrence{Pattern: RecurrencePattern{Type: PatternWeekly, Interval: 1, DaysOfWeek: []string{"monday", huge}}, Range: RecurrenceRange{Type: RangeNoEnd, StartDate: "2026-03-02"}},
			ModifiedOccurrences: occurrences(huge), DeletedOccurrences: make([]DeletedOccurrence, 3*MaxItemOccurrences),
			OnlineMeetingURL: huge},
		{Kind: KindContact, DisplayName: huge, GivenName: huge, Surname: huge, CompanyName: huge, JobTitle: huge, Department: huge,
			OfficeLocation: huge, Notes: huge + huge, Emails: list(), Phones: list(), Categories: list(),
			Addresses: []PostalAddress{{Kind: "business", Street: huge, City: huge, State: huge, PostalCode: huge, CountryOrRegion: huge},
				{Kind: "home", Street: huge, City: huge, State: huge, PostalCode: huge, CountryOrRegion: huge},
				{Kind: "other", Street: huge, City: huge, State: huge, PostalCode: huge, CountryOrRegion: huge}}},
	} {
		t.Run(string(it.Kind), func(t *testing.T) {
			it.Bound()
			b, err := json.Marshal(Change{Kind: ChangeCreate, Item: &it})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Printf("feed item size: worst case %s %d B after bounds\n", it.Kind, len(b))
			if !it.Truncated || len(b) > 350_000 {
				t.Errorf("bounded %s: %d bytes, truncated %v", it.Kind, len(b), it.Truncated)
			}
		})
	}
}

func occurrences(text string) []Occurrence {
	out := make([]Occurrence, 3*MaxItemOccurrences)
	for i := range out {
		out[i] = Occurrence{ItemID: "AAMkOccurrence", Subject: text, Location: text}
	}
	return out
}

// TestBoundAddressBudget: the address lists share one budget, spent in
// the order to, cc, bcc, reply-to; an ordinary message is untouched.
func TestBoundAddressBudget(t *testing.T) {
	many := func(n int, name string) []Address {
		out := make([]Address, n)
		for i := range out {
			out[i] = Address{Name: name, Email: fmt.Sprintf("user%03d@contoso.com", i)}
		}
		return out
	}
	ordinary := Item{Kind: KindMessage, To: many(20, "Ann"), Cc: many(5, "Ben"), Bcc: many(1, "CRM"), ReplyTo: many(1, "Desk")}
	ordinary.Bound()
	if ordinary.Truncated || len(ordinary.To) != 20 || len(ordinary.Bcc) != 1 || len(ordinary.ReplyTo) != 1 {
		t.Errorf("ordinary message changed: %+v", ordinary)
	}
	long := strings.Repeat("n", 400)
	big := Item{Kind: KindMessage, To: many(100, long), Cc: many(200, long), Bcc: many(3, "CRM")}
	big.Bound()
	if !big.Truncated || len(big.To) != 100 || len(big.Cc) == 0 || len(big.Cc) >= 200 || big.Bcc != nil {
		t.Errorf("to %d, cc %d, bcc %d, truncated %v", len(big.To), len(big.Cc), len(big.Bcc), big.Truncated)
	}
}
