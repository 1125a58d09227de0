package ewsmailbox

// normalize.go owns the mapping of EWS items to the change feed's
// domain.Item, bounded to the domain's limits.

import (
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// maxClientEventID is the longest client event id the API accepts.
const maxClientEventID = 128

// Normalize maps an EWS item to the change feed's domain.Item. The kind
// follows the item's own element, not its folder: meeting requests in the
// inbox are messages, a contact group in the contacts folder a contact.
func Normalize(it ews.Item) domain.Item {
	out := domain.Item{
		ID:        it.ItemID,
		ChangeKey: it.ChangeKey,
		FolderID:  it.ParentFolderID,
		Subject:   it.Subject,
	}
	switch it.Type {
	case "CalendarItem":
		out.Kind = domain.KindCalendar
		out.Start, out.End = utc(it.Start), utc(it.End)
		out.TimeZone = it.StartTimeZone
		out.Location = it.Location
		out.Organizer = address(it.Organizer)
		if id := value(it, MarkerField); len(id) <= maxClientEventID {
			// Longer is no id Mailbridge wrote (they are at most 128).
			out.ClientEventID = id
		}
		for _, a := range slices.Concat(it.RequiredAttendees, it.OptionalAttendees) {
			if addr := address(&a.Mailbox); addr != nil {
				out.Attendees = append(out.Attendees, *addr)
			}
		}
		switch it.CalendarItemType {
		case "RecurringMaster", "Occurrence", "Exception":
			out.IsRecurring = true
		default:
			out.IsRecurring = it.IsRecurring
		}
		normalizeCalendar(it, &out)
		out.Body, out.BodyType = messageBody(it)
		out.BodyTruncated = it.BodyTruncated && out.Body != ""
	case "Contact", "DistributionList":
		out.Kind = domain.KindContact
		out.DisplayName, out.GivenName, out.Surname = it.DisplayName, it.GivenName, it.Surname
		out.Emails = values(it.EmailAddresses)
		out.Phones = values(it.PhoneNumbers)
		out.CompanyName = strings.TrimSpace(it.CompanyName)
		out.JobTitle = strings.TrimSpace(it.JobTitle)
		out.Department = strings.TrimSpace(it.Department)
		out.OfficeLocation = strings.TrimSpace(it.OfficeLocation)
		out.Categories = categories(it.Categories)
		out.Notes = strings.TrimSpace(it.Body)
		out.Birthday = domain.BirthdayOf(it.Birthday)
		for _, kind := range []string{domain.AddressBusiness, domain.AddressHome, domain.AddressOther} {
			for _, a := range it.PhysicalAddresses {
				if strings.EqualFold(a.Key, kind) {
					out.Addresses = domain.AppendAddress(out.Addresses, domain.PostalAddress{Kind: kind, Street: a.Street, City: a.City,
						State: a.State, PostalCode: a.PostalCode, CountryOrRegion: a.CountryOrRegion})
					break
				}
			}
		}
	default: // Message, MeetingRequest, MeetingResponse, PostItem, ...
		out.Kind = domain.KindMessage
		out.From = address(it.From)
		out.To = addresses(it.To)
		out.Cc = addresses(it.Cc)
		out.Received = utc(it.DateTimeReceived)
		out.Sent = utc(it.DateTimeSent)
		out.Preview = strings.TrimSpace(it.Preview)
		out.IsRead = it.IsRead
		out.Bcc = addresses(it.Bcc)
		out.ReplyTo = addresses(it.ReplyTo)
		out.InternetMessageID = strings.TrimSpace(it.InternetMessageID)
		out.ConversationID = it.ConversationID
		out.Importance = domain.NormalImportance(it.Importance)
		out.IsDraft = it.IsDraft
		out.HasAttachments = it.HasAttachments
		out.Attachments = attachments(it.Attachments)
		out.FlagStatus = domain.NormalFlagStatus(it.FlagStatus)
		out.Categories = categories(it.Categories)
		out.Sensitivity = domain.NormalSensitivity(it.Sensitivity)
		out.ConversationTopic = strings.TrimSpace(it.ConversationTopic)
		out.InReplyTo = strings.TrimSpace(it.InReplyTo)
		out.References = domain.MessageReferences(it.References)
		out.Body, out.BodyType = messageBody(it)
		out.BodyTruncated = it.BodyTruncated && out.Body != ""
	}
	out.Bound()
	return out
}

// messageBody is a message's or calendar item's body as the feed carries
// it: text (or HTML, for a tenant that asked for it) with surrounding
// white space trimmed, and its type; Item.Bound cuts it. A body Exchange
// cut itself (IsTruncated) is marked cut too.
func messageBody(it ews.Item) (string, string) {
	b := strings.TrimSpace(it.Body)
	if b == "" {
		return "", ""
	}
	if strings.EqualFold(it.BodyType, "HTML") {
		return b, domain.BodyFormatHTML
	}
	return b, domain.BodyFormatText
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// address maps a mailbox; nil when it has neither name nor address.
func address(m *ews.Mailbox) *domain.Address {
	if m == nil || (m.Name == "" && m.EmailAddress == "") {
		return nil
	}
	email := m.EmailAddress
	if !strings.EqualFold(m.RoutingType, "EX") {
		email = strings.ToLower(email)
	}
	return &domain.Address{Name: m.Name, Email: email}
}

func addresses(ms []ews.Mailbox) []domain.Address {
	var out []domain.Address
	for i := range ms {
		if a := address(&ms[i]); a != nil {
			out = append(out, *a)
		}
	}
	return out
}

// categories keeps the non-empty category names, in Exchange's order.
func categories(cs []string) []string {
	var out []string
	for _, c := range cs {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// values lists the non-empty values of an indexed property in key order
// as Exchange sent them (EmailAddress1..3, BusinessPhone, MobilePhone, ...).
func values(kv []ews.KeyedValue) []string {
	var out []string
	for _, v := range kv {
		if s := strings.TrimSpace(v.Value); s != "" {
			out = append(out, s)
		}
	}
	return out
}
