package graphmailbox

import (
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// The normalizers map Graph resources to the change feed's domain.Item
// with the same fields, forms and bounds as the EWS adapter's, so a feed
// consumer cannot tell the protocols apart: addresses lower-cased (but
// Exchange X.500 addresses as given), times in UTC, texts and lists cut
// to the domain's bounds.

// NormalizeMessage maps a Graph message.
func NormalizeMessage(m graph.Message, folderID string) domain.Item {
	read := m.IsRead
	out := domain.Item{
		ID: m.ID, ChangeKey: changeKey(m.ChangeKey, m.ETag), Kind: domain.KindMessage, FolderID: folderID,
		Subject:           m.Subject,
		From:              address(m.From),
		To:                addresses(m.ToRecipients),
		Cc:                addresses(m.CcRecipients),
		Received:          utc(m.ReceivedDateTime),
		Sent:              utc(m.SentDateTime),
		Preview:           strings.TrimSpace(m.BodyPreview),
		IsRead:            &read,
		Bcc:               addresses(m.BccRecipients),
		ReplyTo:           addresses(m.ReplyTo),
		InternetMessageID: strings.TrimSpace(m.InternetMessageID),
		ConversationID:    m.ConversationID,
		Importance:        domain.NormalImportance(m.Importance),
		IsDraft:           m.IsDraft,
		HasAttachments:    m.HasAttachments,
		FlagStatus:        flagStatus(m.Flag),
		Categories:        categories(m.Categories),
	}
	// v1.0's message has no conversation topic, sensitivity, In-Reply-To
	// or References: the delta pages carry them as extended properties
	// (graph.DefaultMessageExpand).
	if v, ok := m.ExtendedProperty(graph.PropConversationTopic); ok {
		out.ConversationTopic = strings.TrimSpace(v)
	}
	if v, ok := m.ExtendedProperty(graph.PropSensitivity); ok {
		out.Sensitivity = sensitivityOf(v)
	}
	if v, ok := m.ExtendedProperty(graph.PropInReplyTo); ok {
		out.InReplyTo = strings.TrimSpace(v)
	}
	if v, ok := m.ExtendedProperty(graph.PropReferences); ok {
		out.References = domain.MessageReferences(v)
	}
	out.Body, out.BodyType = itemBody(m.Body)
	out.Bound()
	return out
}

// itemBody is a message's or event's body as the feed carries it, trimmed,
// and its type; Item.Bound cuts it.
func itemBody(b *graph.ItemBody) (string, string) {
	if b == nil {
		return "", ""
	}
	text := strings.TrimSpace(b.Content)
	switch {
	case text == "":
		return "", ""
	case strings.EqualFold(b.ContentType, "html"):
		return text, domain.BodyFormatHTML
	}
	return text, domain.BodyFormatText
}

// sensitivityOf maps PR_SENSITIVITY (0 normal, 1 personal, 2 private, 3
// confidential); "" for another value.
func sensitivityOf(v string) string {
	switch strings.TrimSpace(v) {
	case "0":
		return domain.SensitivityNormal
	case "1":
		return domain.SensitivityPersonal
	case "2":
		return domain.SensitivityPrivate
	case "3":
		return domain.SensitivityConfidential
	}
	return ""
}

// NormalizeContact maps a Graph contact. Phones come in EWS's key order:
// business, mobile, home.
func NormalizeContact(c graph.Contact, folderID string) domain.Item {
	out := domain.Item{
		ID: c.ID, ChangeKey: changeKey(c.ChangeKey, c.ETag), Kind: domain.KindContact, FolderID: folderID,
		DisplayName: c.DisplayName, GivenName: c.GivenName, Surname: c.Surname,
	}
	for _, e := range c.EmailAddresses {
		if s := strings.TrimSpace(e.Address); s != "" {
			out.Emails = append(out.Emails, s)
		}
	}
	for _, p := range slices.Concat(c.BusinessPhones, []string{c.MobilePhone}, c.HomePhones) {
		if s := strings.TrimSpace(p); s != "" {
			out.Phones = append(out.Phones, s)
		}
	}
	out.CompanyName = strings.TrimSpace(c.CompanyName)
	out.JobTitle = strings.TrimSpace(c.JobTitle)
	out.Department = strings.TrimSpace(c.Department)
	out.OfficeLocation = strings.TrimSpace(c.OfficeLocation)
	out.Categories = categories(c.Categories)
	out.Notes = strings.TrimSpace(c.PersonalNotes)
	out.Birthday = domain.BirthdayOf(c.Birthday)
	for _, a := range []struct {
		kind string
		addr *graph.PhysicalAddress
	}{{domain.AddressBusiness, c.BusinessAddress}, {domain.AddressHome, c.HomeAddress}, {domain.AddressOther, c.OtherAddress}} {
		if a.addr != nil {
			out.Addresses = domain.AppendAddress(out.Addresses, domain.PostalAddress{Kind: a.kind, Street: a.addr.Street, City: a.addr.City,
				State: a.addr.State, PostalCode: a.addr.PostalCode, CountryOrRegion: a.addr.CountryOrRegion})
		}
	}
	out.Bound()
	return out
}

func flagStatus(f *graph.FollowupFlag) string {
	if f == nil {
		return ""
	}
	return domain.NormalFlagStatus(f.FlagStatus)
}

// categories keeps the non-empty category names, in Graph's order.
func categories(cs []string) []string {
	var out []string
	for _, c := range cs {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// changeKey is Graph's changeKey, or the one inside the weak ETag
// (W/"<changeKey>") when the answer left the property out.
func changeKey(ck, etag string) string {
	if ck != "" {
		return ck
	}
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(etag, "W/"), `"`), `"`)
}

// eventTime reads a dateTimeTimeZone as an instant in UTC. The adapter
// asks for UTC (Graph's default); another zone is read as the Windows or
// IANA zone it names, an unknown one as UTC.
func eventTime(d *graph.DateTimeTimeZone) time.Time {
	if d == nil || d.DateTime == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, d.DateTime); err == nil {
		return t.UTC()
	}
	loc, ok := zoneLocation(d.TimeZone)
	if !ok {
		loc = time.UTC
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", d.DateTime, loc)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// windowsZone is the event's zone as Graph names it: the Windows id the
// event was created with, or an IANA name (Item.Bound names it both ways,
// as for EWS). A custom zone ("tzone://Microsoft/Custom") is left out.
func windowsZone(z string) string {
	switch strings.ToLower(z) {
	case "", "tzone://microsoft/custom":
		return ""
	case "tzone://microsoft/utc", "etc/utc", "utc":
		return "UTC"
	}
	return z
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// address maps a recipient; nil when it has neither name nor address.
func address(r *graph.Recipient) *domain.Address {
	if r == nil || (r.EmailAddress.Name == "" && r.EmailAddress.Address == "") {
		return nil
	}
	email := r.EmailAddress.Address
	// An Exchange X.500 address (a recipient without SMTP address) is
	// kept as given, as EWS keeps routing type EX.
	if !strings.HasPrefix(email, "/") {
		email = strings.ToLower(email)
	}
	return &domain.Address{Name: r.EmailAddress.Name, Email: email}
}

func addresses(rs []graph.Recipient) []domain.Address {
	var out []domain.Address
	for i := range rs {
		if a := address(&rs[i]); a != nil {
			out = append(out, *a)
		}
	}
	return out
}
