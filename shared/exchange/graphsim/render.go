package graphsim

import (
	"crypto/sha1"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// Entity shapes as Graph writes them. Property names and types follow the
// v1.0 metadata (the conformance test checks every shape against it).

const (
	typeMessage       = "microsoft.graph.message"
	typeEvent         = "microsoft.graph.event"
	typeContact       = "microsoft.graph.contact"
	typeMailFolder    = "microsoft.graph.mailFolder"
	typeContactFolder = "microsoft.graph.contactFolder"
	typeUser          = "microsoft.graph.user"
)

func dto(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// zeroTime is how Outlook writes "never" in responseStatus.time.
const zeroTime = "0001-01-01T00:00:00Z"

func etag(changeKey string) string { return `W/"` + changeKey + `"` }

func recipient(a ewssim.Address) obj {
	return obj{{"emailAddress", obj{{"name", a.Name}, {"address", a.Email}}}}
}

func recipients(as []ewssim.Address) []obj {
	out := make([]obj, 0, len(as))
	for _, a := range as {
		out = append(out, recipient(a))
	}
	return out
}

// messageBody is a message's or event's itemBody: the stored text, or
// the HTML Exchange makes of it (ewssim.HTMLBody, what EWS serves too).
func messageBody(text string, asText bool) obj {
	if asText {
		return itemBody(text)
	}
	return obj{{"contentType", "html"}, {"content", ewssim.HTMLBody(text)}}
}

func itemBody(content string) obj {
	return obj{{"contentType", "text"}, {"content", content}}
}

// messageJSON is a message with all its default properties; the body is
// HTML (Graph's default) unless text is asked for.
func messageJSON(v ewssim.ItemView, textBody bool) obj {
	received := v.Received
	if received.IsZero() {
		received = v.Created
	}
	return obj{
		{"@odata.etag", etag(v.ChangeKey)},
		{"id", v.ImmutableID},
		{"createdDateTime", dto(v.Created)},
		{"lastModifiedDateTime", dto(v.Modified)},
		{"changeKey", v.ChangeKey},
		{"categories", categories(v.Categories)},
		{"receivedDateTime", dto(received)},
		{"sentDateTime", dto(received)},
		{"hasAttachments", v.HasAttachments},
		{"internetMessageId", v.InternetMessageID},
		{"subject", v.Subject},
		{"bodyPreview", ewssim.Preview(v.Body)},
		{"importance", importance(v.Importance)},
		{"parentFolderId", ewssim.RestID(v.FolderID)},
		{"conversationId", v.ConversationID},
		{"isDeliveryReceiptRequested", false},
		{"isReadReceiptRequested", false},
		{"isRead", v.IsRead},
		{"isDraft", v.IsDraft},
		{"webLink", "https://outlook.office365.com/owa/?ItemID=" + v.ImmutableID + "&exvsurl=1&viewmodel=ReadMessageItem"},
		{"inferenceClassification", "focused"},
		{"body", messageBody(v.Body, textBody)},
		{"sender", recipient(v.From)},
		{"from", recipient(v.From)},
		{"toRecipients", recipients(v.To)},
		{"ccRecipients", []obj{}},
		{"bccRecipients", recipients(v.Bcc)},
		{"replyTo", recipients(v.ReplyTo)},
		{"flag", obj{{"flagStatus", flagStatus(v.FlagStatus)}}},
	}
}

// importance is the message's importance as Graph spells it: normal
// unless low or high.
func importance(s string) string {
	switch strings.ToLower(s) {
	case "low", "high":
		return strings.ToLower(s)
	}
	return "normal"
}

// flagStatus is a followupFlagStatus value: notFlagged unless flagged or
// complete.
func flagStatus(s string) string {
	switch strings.ToLower(s) {
	case "flagged", "complete":
		return strings.ToLower(s)
	}
	return "notFlagged"
}

// categories is never null: Graph gives [] for an item without any.
func categories(cs []string) []string {
	if cs == nil {
		return []string{}
	}
	return cs
}

func dateTimeTZ(t time.Time, loc *time.Location, name string) obj {
	return obj{{"dateTime", t.In(loc).Format("2006-01-02T15:04:05.0000000")}, {"timeZone", name}}
}

// eventJSON is an event with its default properties; start and end are
// in UTC unless the request asked for a zone (Prefer: outlook.timezone).
func eventJSON(v ewssim.ItemView, loc *time.Location, zone, txID string) obj {
	typ := "singleInstance"
	if v.IsRecurring {
		typ = "seriesMaster"
	}
	response := "none"
	if strings.EqualFold(v.Organizer.Email, v.Mailbox) {
		response = "organizer"
	}
	attendees := make([]obj, 0, len(v.Attendees))
	for _, a := range v.Attendees {
		attendees = append(attendees, obj{
			{"type", "required"},
			{"status", obj{{"response", "none"}, {"time", zeroTime}}},
			{"emailAddress", obj{{"name", a.Name}, {"address", a.Email}}},
		})
	}
	loc0 := obj{{"displayName", v.Location}, {"locationType", "default"}, {"uniqueIdType", "unknown"}, {"address", obj{}}, {"coordinates", obj{}}}
	locations := []obj{}
	if v.Location != "" {
		loc0 = obj{{"displayName", v.Location}, {"locationType", "default"}, {"uniqueId", v.Location}, {"uniqueIdType", "private"}}
		locations = append(locations, loc0)
	}
	var tx any
	if txID != "" {
		tx = txID
	}
	tz := v.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	return obj{
		{"@odata.etag", etag(v.ChangeKey)},
		{"id", v.ImmutableID},
		{"createdDateTime", dto(v.Created)},
		{"lastModifiedDateTime", dto(v.Modified)},
		{"changeKey", v.ChangeKey},
		{"categories", []string{}},
		{"transactionId", tx},
		{"originalStartTimeZone", tz},
		{"originalEndTimeZone", tz},
		{"iCalUId", "040000008200E00074C5B7101A82E008" + fmt.Sprintf("%X", sha1.Sum([]byte(v.ImmutableID)))},
		{"reminderMinutesBeforeStart", 15},
		{"isReminderOn", true},
		{"hasAttachments", false},
		{"subject", v.Subject},
		{"bodyPreview", ewssim.Preview(v.Body)},
		{"importance", "normal"},
		{"sensitivity", "normal"},
		{"isAllDay", v.IsAllDay},
		{"isCancelled", false},
		{"isOrganizer", response == "organizer"},
		{"responseRequested", true},
		{"seriesMasterId", nil},
		{"showAs", showAsOf(v.Item)},
		{"type", typ},
		{"webLink", "https://outlook.office365.com/owa/?itemid=" + v.ImmutableID + "&exvsurl=1&path=/calendar/item"},
		{"onlineMeetingUrl", nil},
		{"isOnlineMeeting", false},
		{"onlineMeetingProvider", "unknown"},
		{"allowNewTimeProposals", true},
		{"isDraft", false},
		{"hideAttendees", false},
		{"recurrence", recurrenceJSON(v.Item)},
		{"onlineMeeting", nil},
		{"responseStatus", obj{{"response", response}, {"time", zeroTime}}},
		{"body", messageBody(v.Body, false)}, // HTML unless asked for text (eventRender)
		{"start", dateTimeTZ(v.Start, loc, zone)},
		{"end", dateTimeTZ(v.End, loc, zone)},
		{"location", loc0},
		{"locations", locations},
		{"attendees", attendees},
		{"organizer", recipient(v.Organizer)},
	}
}

func contactJSON(v ewssim.ItemView) obj {
	emails := make([]obj, 0, len(v.Emails))
	for _, e := range v.Emails {
		emails = append(emails, obj{{"name", v.DisplayName}, {"address", e}})
	}
	phone := func(i int) string {
		if i < len(v.Phones) {
			return v.Phones[i]
		}
		return ""
	}
	list := func(p string) []string {
		if p == "" {
			return []string{}
		}
		return []string{p}
	}
	var birthday any
	if !v.Birthday.IsZero() {
		birthday = dto(v.Birthday)
	}
	address := func(kind string) obj {
		for _, a := range v.Addresses {
			if strings.EqualFold(a.Kind, kind) {
				return obj{{"street", a.Street}, {"city", a.City}, {"state", a.State}, {"countryOrRegion", a.Country}, {"postalCode", a.PostalCode}}
			}
		}
		return obj{}
	}
	var mobile any
	if m := phone(1); m != "" {
		mobile = m
	}
	return obj{
		{"@odata.etag", etag(v.ChangeKey)},
		{"id", v.ImmutableID},
		{"createdDateTime", dto(v.Created)},
		{"lastModifiedDateTime", dto(v.Modified)},
		{"changeKey", v.ChangeKey},
		{"categories", categories(v.Categories)},
		{"parentFolderId", ewssim.RestID(v.FolderID)},
		{"birthday", birthday},
		{"fileAs", v.DisplayName},
		{"displayName", v.DisplayName},
		{"givenName", v.GivenName},
		{"initials", nil},
		{"middleName", nil},
		{"nickName", nil},
		{"surname", v.Surname},
		{"title", nil},
		{"yomiGivenName", nil},
		{"yomiSurname", nil},
		{"yomiCompanyName", nil},
		{"generation", nil},
		{"imAddresses", []string{}},
		{"jobTitle", orNull(v.JobTitle)},
		{"companyName", orNull(v.Company)},
		{"department", orNull(v.Department)},
		{"officeLocation", orNull(v.Office)},
		{"profession", nil},
		{"businessHomePage", nil},
		{"assistantName", nil},
		{"manager", nil},
		{"homePhones", list(phone(2))},
		{"mobilePhone", mobile},
		{"businessPhones", list(phone(0))},
		{"spouseName", nil},
		{"personalNotes", v.Body},
		{"children", []string{}},
		{"emailAddresses", emails},
		{"homeAddress", address("home")},
		{"businessAddress", address("business")},
		{"otherAddress", address("other")},
	}
}

func mailFolderJSON(f ewssim.FolderView) obj {
	return obj{
		{"id", ewssim.RestID(f.ID)},
		{"displayName", f.Name},
		{"parentFolderId", ewssim.RestID(f.ParentID)},
		{"childFolderCount", f.Children},
		{"unreadItemCount", f.Unread},
		{"totalItemCount", f.Total},
		{"isHidden", false},
	}
}

func contactFolderJSON(f ewssim.FolderView) obj {
	return obj{
		{"id", ewssim.RestID(f.ID)},
		{"displayName", f.Name},
		{"parentFolderId", ewssim.RestID(f.ParentID)},
	}
}

func userJSON(m ewssim.MailboxInfo) obj {
	given, sur, _ := strings.Cut(m.DisplayName, " ")
	return obj{
		{"businessPhones", []string{}},
		{"displayName", m.DisplayName},
		{"givenName", given},
		{"jobTitle", nil},
		{"mail", m.Address},
		{"mobilePhone", nil},
		{"officeLocation", nil},
		{"preferredLanguage", "en-US"},
		{"surname", sur},
		{"userPrincipalName", m.Address},
		{"id", m.UserID},
	}
}

// userExtra are user properties served only when $select names them.
func userExtra(m ewssim.MailboxInfo) obj {
	return obj{
		{"accountEnabled", true},
		{"department", nil},
		{"mailNickname", strings.SplitN(m.Address, "@", 2)[0]},
		{"proxyAddresses", []string{"SMTP:" + m.Address}},
		{"userType", "Member"},
		{"usageLocation", "US"},
	}
}

// --- $select ---

// selection is a parsed $select: nil selects the default properties.
type selection []string

var selectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)

// parseSelect checks $select against the properties the entity has.
func parseSelect(raw, typeName string, known obj) (selection, *apiError) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var sel selection
	for _, p := range strings.Split(raw, ",") {
		p = strings.TrimSpace(p)
		if !selectName.MatchString(p) || !has(known, p) {
			return nil, &apiError{http.StatusBadRequest, "RequestBroker--ParseUri", "Could not find a property named '" + p + "' on type '" + typeName + "'."}
		}
		sel = append(sel, p)
	}
	return sel, nil
}

func has(o obj, k string) bool {
	for _, p := range o {
		if p.k == k {
			return true
		}
	}
	return false
}

// apply keeps the annotations, id and the selected properties of o.
func (sel selection) apply(o obj) obj {
	if sel == nil {
		return o
	}
	out := make(obj, 0, len(sel)+2)
	for _, p := range o {
		if strings.HasPrefix(p.k, "@") || p.k == "id" || contains(sel, p.k) {
			out = append(out, p)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// apiError is an error answer a handler returns.
type apiError struct {
	status  int
	code    string
	message string
}

func (c *call) failWith(e *apiError) { c.fail(e.status, e.code, e.message) }

var errItemNotFound = &apiError{http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store."}

// --- extended properties ---

// Property set GUIDs of the distinguished sets EWS names.
var propertySets = map[string]string{
	"PublicStrings":   "00020329-0000-0000-c000-000000000046",
	"Common":          "00062008-0000-0000-c000-000000000046",
	"Appointment":     "00062002-0000-0000-c000-000000000046",
	"Meeting":         "6ed8da90-450b-101b-98da-00aa003f1305",
	"Address":         "00062004-0000-0000-c000-000000000046",
	"InternetHeaders": "00020386-0000-0000-c000-000000000046",
	"Task":            "00062003-0000-0000-c000-000000000046",
}

// extendedPropertyID writes a property's Graph id: "String {guid} Name
// x", "String {guid} Id 0x8001" or "String 0x0037".
func extendedPropertyID(p ewssim.ExtendedProperty) string {
	typ := p.Type
	if typ == "" {
		typ = "String"
	}
	set := strings.ToLower(strings.Trim(p.SetID, "{}"))
	if set == "" {
		set = propertySets[p.DistinguishedSet]
	}
	switch {
	case set != "" && p.Name != "":
		return typ + " {" + set + "} Name " + p.Name
	case set != "":
		return typ + " {" + set + "} Id " + p.Tag
	}
	return typ + " " + p.Tag
}

var extIDPattern = regexp.MustCompile(`^(\w+) (?:\{([0-9A-Fa-f-]{36})\} (?:Name (.+)|Id (0x[0-9A-Fa-f]{1,4}))|(0x[0-9A-Fa-f]{1,4}))$`)

// parseExtendedPropertyID reads a Graph extended property id. A known
// distinguished set is stored as EWS names it, so EWS finds the property.
func parseExtendedPropertyID(id string) (ewssim.ExtendedProperty, bool) {
	m := extIDPattern.FindStringSubmatch(strings.TrimSpace(id))
	if m == nil {
		return ewssim.ExtendedProperty{}, false
	}
	p := ewssim.ExtendedProperty{Type: m[1], Name: m[3]}
	switch {
	case m[5] != "":
		p.Tag = m[5]
	default:
		p.Tag = m[4]
		guid := strings.ToLower(m[2])
		for name, g := range propertySets {
			if g == guid {
				p.DistinguishedSet = name
			}
		}
		if p.DistinguishedSet == "" {
			p.SetID = guid
		}
	}
	return p, true
}

// sameProperty compares property keys as EWS does.
func sameProperty(a, b ewssim.ExtendedProperty) bool {
	return a.DistinguishedSet == b.DistinguishedSet && strings.EqualFold(a.SetID, b.SetID) &&
		a.Name == b.Name && sameTag(a.Tag, b.Tag)
}

// sameTag compares property tags by value: 0x0070 is 0x70.
func sameTag(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	va, erra := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(a), "0x"), 16, 16)
	vb, errb := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(b), "0x"), 16, 16)
	return erra == nil && errb == nil && va == vb
}

// expansion is what $expand asked for: singleValueExtendedProperties
// ($filter=id eq '...' or ..., nil want for all), and on an event
// exceptionOccurrences (with its own $select).
type expansion struct {
	extended   bool
	want       []ewssim.ExtendedProperty
	exceptions bool
	exSelect   selection
}

// parseExpand parses a comma-separated $expand of
// singleValueExtendedProperties($filter=id eq '...'), the one $expand
// Graph clients use on Outlook items, and exceptionOccurrences($select=...)
// on an event (exceptions only when the item is an event).
func parseExpand(raw string, event bool) (x expansion, e *apiError) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return x, nil
	}
	bad := &apiError{http.StatusBadRequest, "BadRequest", "Parsing OData Select and Expand failed: the $expand option is not supported by the simulator: " + raw}
	for _, part := range splitTopLevel(raw) {
		part = strings.TrimSpace(part)
		if rest, ok := strings.CutPrefix(part, "exceptionOccurrences"); ok && event {
			x.exceptions = true
			if rest == "" {
				continue
			}
			inner, ok := strings.CutPrefix(rest, "($select=")
			if !ok || !strings.HasSuffix(inner, ")") {
				return x, bad
			}
			sel, e := parseSelect(strings.TrimSuffix(inner, ")"), typeEvent, exceptionShape)
			if e != nil {
				return x, e
			}
			x.exSelect = sel
			continue
		}
		rest, ok := strings.CutPrefix(part, "singleValueExtendedProperties")
		if !ok {
			return x, bad
		}
		x.extended = true
		if rest == "" {
			continue
		}
		inner, ok := strings.CutPrefix(rest, "($filter=")
		if !ok || !strings.HasSuffix(inner, ")") {
			return x, bad
		}
		inner = strings.TrimSuffix(inner, ")")
		for _, clause := range orClause.Split(inner, -1) {
			m := idEqClause.FindStringSubmatch(clause)
			if m == nil {
				return x, bad
			}
			p, ok := parseExtendedPropertyID(m[1])
			if !ok {
				return x, &apiError{http.StatusBadRequest, "ErrorInvalidProperty", "The extended property id '" + m[1] + "' is not valid."}
			}
			x.want = append(x.want, p)
		}
	}
	return x, nil
}

// The $filter of an extended property expansion: id eq '...' clauses
// joined by or. Compiled once: every delta page of a sync asks for it
// (compiling them per request was 5% of make bench (g)'s CPU).
var (
	orClause   = regexp.MustCompile(`(?i)\s+or\s+`)
	idEqClause = regexp.MustCompile(`^\s*id\s+eq\s+'([^']*)'\s*$`)
)

// exceptionShape names the properties an exception can be asked for.
var exceptionShape = exceptionJSON("", ewssim.SeriesOccurrence{}, time.UTC, "UTC")

// splitTopLevel splits s at the commas outside parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, from := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[from:i])
				from = i + 1
			}
		}
	}
	return append(out, s[from:])
}

// extendedJSON lists an item's properties matching want (all when nil):
// the extended properties stored with it, and for a message the MAPI
// properties Exchange keeps from its fields (conversation topic,
// sensitivity, In-Reply-To, References).
func extendedJSON(it ewssim.Item, want []ewssim.ExtendedProperty) []obj {
	out := []obj{}
	for _, p := range append(slices.Clone(it.Extended), mapiProperties(it)...) {
		keep := want == nil
		for _, w := range want {
			keep = keep || sameProperty(p, w)
		}
		if keep {
			out = append(out, obj{{"id", extendedPropertyID(p)}, {"value", p.Value}})
		}
	}
	return out
}

// mapiProperties are a message's MAPI properties that Graph reads as
// extended properties, with their tags as Graph echoes them (lower case,
// no leading zeros). A header the message lacks is no property.
func mapiProperties(it ewssim.Item) []ewssim.ExtendedProperty {
	if it.Kind != ewssim.KindMessage {
		return nil
	}
	var out []ewssim.ExtendedProperty
	add := func(typ, tag, v string) {
		if v != "" {
			out = append(out, ewssim.ExtendedProperty{Type: typ, Tag: tag, Value: v})
		}
	}
	add("String", "0x70", ewssim.Topic(it.Subject))
	add("Integer", "0x36", strconv.Itoa(ewssim.SensitivityCode(it.Sensitivity)))
	add("String", "0x1042", it.InReplyTo)
	add("String", "0x1039", it.References)
	return out
}

// orNull is s, or JSON null for an empty string, as Graph gives unset
// string properties.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}
