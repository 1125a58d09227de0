package ewssim

import (
	"html"
	"strconv"
	"strings"
)

// Rendering follows the element order of types.xsd (ItemType, then the
// MessageType / CalendarItemType / ContactItemType extension). Callers
// hold the mailbox's read lock.

func elementName(k ItemKind) string {
	switch k {
	case KindCalendar:
		return "t:CalendarItem"
	case KindContact:
		return "t:Contact"
	}
	return "t:Message"
}

func (w *xw) item(mb *mailbox, idx uint32, sh shape) {
	w.itemAs(mb, idx, mb.items[idx], nil, sh)
}

// occurrenceItem writes one occurrence of the series at idx: the master's
// fields with the occurrence's id, times and type (and an exception's own
// subject and location).
func (w *xw) occurrenceItem(mb *mailbox, idx uint32, o instance, sh shape) {
	in := mb.items[idx]
	v := *in
	cal := *in.itemCalendar // v's own: the master's group is not changed
	v.itemCalendar = &cal
	v.Start, v.End = o.start, o.end
	if x := o.exception; x != nil {
		v.Subject, v.Location = x.Subject, x.Location
	}
	w.itemAs(mb, idx, &v, &o, sh)
}

func (w *xw) itemAs(mb *mailbox, idx uint32, in *item, occ *instance, sh shape) {
	name := elementName(in.Kind)
	w.raw("<")
	w.raw(name)
	w.raw(">")
	if sh.mime {
		w.mimeContent(mb, in)
	}
	if occ != nil {
		w.id("t:ItemId", occurrenceID(mb.idx, idx, occ.index), occurrenceKey(mb.items[idx], *occ))
	} else {
		w.ref("t:ItemId", tagItem, mb.idx, idx, in.version)
	}
	if !sh.idOnly {
		w.itemBody(mb, idx, in, occ, sh)
	} else if len(sh.extended) > 0 {
		w.extended(in, sh)
	}
	w.raw("</")
	w.raw(name)
	w.raw(">")
}

func (w *xw) itemBody(mb *mailbox, idx uint32, in *item, occ *instance, sh shape) {
	f := mb.folders[in.folder]
	if sh.want("item:ParentFolderId") {
		w.ref("t:ParentFolderId", tagFolder, mb.idx, f.idx, f.version)
	}
	if sh.want("item:ItemClass") {
		w.el("t:ItemClass", in.Kind.Class())
	}
	if sh.want("item:Subject") {
		w.el("t:Subject", in.Subject)
	}
	if sh.want("item:Sensitivity") {
		w.el("t:Sensitivity", sensitivity(in.Sensitivity))
	}
	if sh.body {
		if sh.bodyHTML {
			w.raw(`<t:Body BodyType="HTML">`)
			w.esc(HTMLBody(in.Body))
		} else {
			w.raw(`<t:Body BodyType="Text">`)
			w.esc(in.Body)
		}
		w.raw(`</t:Body>`)
	}
	if len(in.Attachments) > 0 && sh.want("item:Attachments") {
		w.attachmentList(mb, in)
	}
	received := in.Received
	if received.IsZero() {
		received = in.modified
	}
	if sh.want("item:DateTimeReceived") {
		w.elTime("t:DateTimeReceived", received)
	}
	if sh.want("item:Size") {
		w.elInt("t:Size", 512+len(in.Subject)+len(in.Body))
	}
	if len(in.Categories) > 0 && sh.want("item:Categories") {
		w.raw("<t:Categories>")
		for _, c := range in.Categories {
			w.el("t:String", c)
		}
		w.raw("</t:Categories>")
	}
	if sh.want("item:Importance") {
		w.el("t:Importance", importance(in.Importance))
	}
	if in.InReplyTo != "" && sh.want("item:InReplyTo") {
		w.el("t:InReplyTo", in.InReplyTo)
	}
	if sh.fields == nil {
		w.elBool("t:IsSubmitted", false)
	}
	if sh.want("item:IsDraft") {
		w.elBool("t:IsDraft", in.IsDraft)
	}
	if sh.fields == nil {
		w.elBool("t:IsFromMe", false)
		w.elBool("t:IsResend", false)
		w.elBool("t:IsUnmodified", false)
	}
	if sh.want("item:DateTimeSent") {
		w.elTime("t:DateTimeSent", received)
	}
	if sh.want("item:DateTimeCreated") {
		w.elTime("t:DateTimeCreated", received)
	}
	if in.Kind == KindCalendar {
		// Exchange's default reminder: set, 15 minutes before the start.
		if sh.want("item:ReminderIsSet") {
			w.elBool("t:ReminderIsSet", true)
		}
		if sh.want("item:ReminderMinutesBeforeStart") {
			w.el("t:ReminderMinutesBeforeStart", "15")
		}
	}
	if in.Kind == KindMessage && sh.want("item:DisplayTo") {
		w.el("t:DisplayTo", displayList(in.To))
	}
	if sh.want("item:HasAttachments") {
		w.elBool("t:HasAttachments", in.HasAttachments)
	}
	w.extended(in, sh)
	if sh.want("item:LastModifiedTime") {
		w.elTime("t:LastModifiedTime", in.modified)
	}
	if in.ConversationID != "" && sh.want("item:ConversationId") {
		w.raw(`<t:ConversationId Id="`)
		w.esc(in.ConversationID)
		w.raw(`"/>`)
	}
	if sh.fields != nil && sh.want("item:Flag") {
		// Only when asked by name: Exchange's Default shape has no Flag.
		w.raw("<t:Flag>")
		w.el("t:FlagStatus", flagStatus(in.FlagStatus))
		w.raw("</t:Flag>")
	}
	if in.Kind == KindMessage && in.Body != "" && sh.want("item:Preview") {
		w.el("t:Preview", Preview(in.Body))
	}
	switch in.Kind {
	case KindMessage:
		w.messageFields(in, sh)
	case KindCalendar:
		w.calendarFields(mb, idx, in, occ, sh)
	case KindContact:
		w.contactFields(in, sh)
	}
}

func (w *xw) extended(in *item, sh shape) {
	for _, want := range sh.extended {
		for _, p := range in.Extended {
			if !p.sameKey(want) {
				continue
			}
			w.raw("<t:ExtendedProperty><t:ExtendedFieldURI")
			if p.DistinguishedSet != "" {
				w.attr("DistinguishedPropertySetId", p.DistinguishedSet)
			}
			if p.SetID != "" {
				w.attr("PropertySetId", p.SetID)
			}
			if p.Tag != "" {
				w.attr("PropertyTag", p.Tag)
			}
			if p.Name != "" {
				if _, err := strconv.Atoi(p.Name); err == nil && want.Name == p.Name {
					w.attr("PropertyId", p.Name)
				} else {
					w.attr("PropertyName", p.Name)
				}
			}
			typ := p.Type
			if typ == "" {
				typ = "String"
			}
			w.attr("PropertyType", typ)
			w.raw("/>")
			w.el("t:Value", p.Value)
			w.raw("</t:ExtendedProperty>")
		}
	}
}

func (w *xw) mailbox(name string, a Address) {
	w.raw("<")
	w.raw(name)
	w.raw("><t:Mailbox>")
	if a.Name != "" {
		w.el("t:Name", a.Name)
	}
	if a.Email != "" {
		w.el("t:EmailAddress", a.Email)
		w.el("t:RoutingType", "SMTP")
	}
	w.el("t:MailboxType", "Mailbox")
	w.raw("</t:Mailbox></")
	w.raw(name)
	w.raw(">")
}

func (w *xw) recipients(name string, as []Address) {
	if len(as) == 0 {
		return
	}
	w.raw("<" + name + ">")
	for _, a := range as {
		w.raw("<t:Mailbox>")
		if a.Name != "" {
			w.el("t:Name", a.Name)
		}
		w.el("t:EmailAddress", a.Email)
		w.el("t:RoutingType", "SMTP")
		w.raw("</t:Mailbox>")
	}
	w.raw("</" + name + ">")
}

func (w *xw) messageFields(in *item, sh shape) {
	if in.From.Email != "" && sh.want("message:Sender") {
		w.mailbox("t:Sender", in.From)
	}
	if sh.want("message:ToRecipients") {
		w.recipients("t:ToRecipients", in.To)
	}
	if sh.want("message:BccRecipients") {
		w.recipients("t:BccRecipients", in.Bcc)
	}
	if sh.want("message:IsReadReceiptRequested") {
		w.elBool("t:IsReadReceiptRequested", false)
	}
	if sh.want("message:ConversationTopic") {
		w.el("t:ConversationTopic", Topic(in.Subject))
	}
	if in.From.Email != "" && sh.want("message:From") {
		w.mailbox("t:From", in.From)
	}
	if in.InternetMessageID != "" && sh.want("message:InternetMessageId") {
		w.el("t:InternetMessageId", in.InternetMessageID)
	}
	if sh.want("message:IsRead") {
		w.elBool("t:IsRead", in.IsRead)
	}
	if in.References != "" && sh.want("message:References") {
		w.el("t:References", in.References)
	}
	if sh.want("message:ReplyTo") {
		w.recipients("t:ReplyTo", in.ReplyTo)
	}
}

// calendarFields follows CalendarItemType's sequence in types.xsd. occ
// is the occurrence being written, nil for the item itself.
func (w *xw) calendarFields(mb *mailbox, idx uint32, in *item, occ *instance, sh shape) {
	if sh.want("calendar:UID") {
		// Stable per item, like the iCalendar UID Exchange keeps.
		w.raw("<t:UID>")
		w.b = appendID(w.b, 'U', mb.idx, in.created)
		w.raw("</t:UID>")
	}
	if sh.want("calendar:Start") {
		w.elTime("t:Start", in.Start)
	}
	if sh.want("calendar:End") {
		w.elTime("t:End", in.End)
	}
	if occ != nil && sh.want("calendar:OriginalStart") {
		w.elTime("t:OriginalStart", occ.original)
	}
	if sh.want("calendar:IsAllDayEvent") {
		w.elBool("t:IsAllDayEvent", in.IsAllDay)
	}
	if sh.want("calendar:LegacyFreeBusyStatus") {
		w.el("t:LegacyFreeBusyStatus", in.freeBusy())
	}
	if in.Location != "" && sh.want("calendar:Location") {
		w.el("t:Location", in.Location)
	}
	if sh.want("calendar:IsMeeting") {
		w.elBool("t:IsMeeting", len(in.Attendees) > 0)
	}
	if sh.want("calendar:IsCancelled") {
		w.elBool("t:IsCancelled", false)
	}
	if sh.want("calendar:IsRecurring") {
		// Exchange sets IsRecurring on occurrences and exceptions, not on
		// the master.
		w.elBool("t:IsRecurring", occ != nil || (in.IsRecurring && in.Recurrence == nil))
	}
	if sh.want("calendar:IsResponseRequested") {
		w.elBool("t:IsResponseRequested", len(in.Attendees) > 0)
	}
	if sh.want("calendar:CalendarItemType") {
		switch {
		case occ != nil && occ.exception != nil:
			w.el("t:CalendarItemType", "Exception")
		case occ != nil:
			w.el("t:CalendarItemType", "Occurrence")
		case in.IsRecurring || in.Recurrence != nil:
			w.el("t:CalendarItemType", "RecurringMaster")
		default:
			w.el("t:CalendarItemType", "Single")
		}
	}
	if sh.want("calendar:MyResponseType") {
		// The organizer's copy says Organizer; an attendee's (a room's
		// copy of a meeting booked in it) has not answered.
		if in.Organizer.Email == "" || strings.EqualFold(in.Organizer.Email, mb.addr) {
			w.el("t:MyResponseType", "Organizer")
		} else {
			w.el("t:MyResponseType", "NoResponseReceived")
		}
	}
	if in.Organizer.Email != "" && sh.want("calendar:Organizer") {
		w.mailbox("t:Organizer", in.Organizer)
	}
	if len(in.Attendees) > 0 && sh.want("calendar:RequiredAttendees") {
		w.raw("<t:RequiredAttendees>")
		for _, a := range in.Attendees {
			w.raw("<t:Attendee><t:Mailbox>")
			if a.Name != "" {
				w.el("t:Name", a.Name)
			}
			w.el("t:EmailAddress", a.Email)
			w.el("t:RoutingType", "SMTP")
			w.raw("</t:Mailbox><t:ResponseType>Unknown</t:ResponseType></t:Attendee>")
		}
		w.raw("</t:RequiredAttendees>")
	}
	if in.TimeZone != "" && sh.want("calendar:TimeZone") {
		w.el("t:TimeZone", in.TimeZone)
	}
	if occ == nil && in.Recurrence != nil {
		w.seriesFields(mb, idx, in, sh)
	}
	if in.TimeZone != "" && sh.want("calendar:StartTimeZone") {
		w.raw("<t:StartTimeZone")
		w.attr("Id", in.TimeZone)
		w.raw("/>")
	}
	if in.TimeZone != "" && sh.want("calendar:EndTimeZone") {
		w.raw("<t:EndTimeZone")
		w.attr("Id", in.TimeZone)
		w.raw("/>")
	}
	if in.TimeZone != "" && sh.want("calendar:StartTimeZoneId") {
		w.el("t:StartTimeZoneId", in.TimeZone)
	}
	if in.TimeZone != "" && sh.want("calendar:EndTimeZoneId") {
		w.el("t:EndTimeZoneId", in.TimeZone)
	}
}

var phoneKeys = []string{"BusinessPhone", "MobilePhone", "HomePhone"}

func (w *xw) contactFields(in *item, sh shape) {
	name := in.DisplayName
	if name == "" {
		name = strings.TrimSpace(in.GivenName + " " + in.Surname)
	}
	if sh.want("contacts:FileAs") {
		w.el("t:FileAs", name)
	}
	if sh.want("contacts:DisplayName") {
		w.el("t:DisplayName", name)
	}
	if in.GivenName != "" && sh.want("contacts:GivenName") {
		w.el("t:GivenName", in.GivenName)
	}
	if in.Company != "" && sh.want("contacts:CompanyName") {
		w.el("t:CompanyName", in.Company)
	}
	if len(in.Emails) > 0 && sh.want("contacts:EmailAddresses") {
		w.raw("<t:EmailAddresses>")
		for i, e := range in.Emails {
			if i == 3 {
				break
			}
			w.raw(`<t:Entry Key="EmailAddress` + strconv.Itoa(i+1) + `">`)
			w.esc(e)
			w.raw("</t:Entry>")
		}
		w.raw("</t:EmailAddresses>")
	}
	if len(in.Addresses) > 0 && sh.want("contacts:PhysicalAddresses") {
		w.raw("<t:PhysicalAddresses>")
		for _, a := range in.Addresses {
			w.raw(`<t:Entry Key="` + addressKey(a.Kind) + `">`)
			for _, p := range []struct{ name, v string }{{"t:Street", a.Street}, {"t:City", a.City}, {"t:State", a.State}, {"t:CountryOrRegion", a.Country}, {"t:PostalCode", a.PostalCode}} {
				if p.v != "" {
					w.el(p.name, p.v)
				}
			}
			w.raw("</t:Entry>")
		}
		w.raw("</t:PhysicalAddresses>")
	}
	if len(in.Phones) > 0 && sh.want("contacts:PhoneNumbers") {
		w.raw("<t:PhoneNumbers>")
		for i, p := range in.Phones {
			if i == len(phoneKeys) {
				break
			}
			w.raw(`<t:Entry Key="` + phoneKeys[i] + `">`)
			w.esc(p)
			w.raw("</t:Entry>")
		}
		w.raw("</t:PhoneNumbers>")
	}
	if !in.Birthday.IsZero() && sh.want("contacts:Birthday") {
		w.elTime("t:Birthday", in.Birthday)
	}
	if in.Department != "" && sh.want("contacts:Department") {
		w.el("t:Department", in.Department)
	}
	if in.JobTitle != "" && sh.want("contacts:JobTitle") {
		w.el("t:JobTitle", in.JobTitle)
	}
	if in.Office != "" && sh.want("contacts:OfficeLocation") {
		w.el("t:OfficeLocation", in.Office)
	}
	if in.Surname != "" && sh.want("contacts:Surname") {
		w.el("t:Surname", in.Surname)
	}
}

// addressKey is a PhysicalAddressKeyType value: Business, Home or Other.
func addressKey(kind string) string {
	switch strings.ToLower(kind) {
	case "business":
		return "Business"
	case "home":
		return "Home"
	}
	return "Other"
}

// flagStatus is a FlagStatusType value: NotFlagged unless Flagged or
// Complete.
func flagStatus(s string) string {
	switch strings.ToLower(s) {
	case "flagged":
		return "Flagged"
	case "complete":
		return "Complete"
	}
	return "NotFlagged"
}

// importance is the item's importance as EWS spells it: Normal unless
// Low or High.
func importance(s string) string {
	switch strings.ToLower(s) {
	case "low":
		return "Low"
	case "high":
		return "High"
	}
	return "Normal"
}

func displayList(as []Address) string {
	switch len(as) {
	case 0:
		return ""
	case 1:
		if as[0].Name != "" {
			return as[0].Name
		}
		return as[0].Email
	}
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Name
		if names[i] == "" {
			names[i] = a.Email
		}
	}
	return strings.Join(names, "; ")
}

// Preview is a body's preview as Exchange keeps it for both protocols
// (EWS item:Preview, Graph bodyPreview): white space collapsed, at most
// 255 characters.
func Preview(body string) string {
	body = strings.Join(strings.Fields(body), " ")
	if r := []rune(body); len(r) > 255 {
		return string(r[:255])
	}
	return body
}

// folderElement is the ArrayOfFoldersType element for a folder class.
func folderElement(class string) string {
	switch {
	case strings.HasPrefix(class, "IPF.Appointment"):
		return "t:CalendarFolder"
	case strings.HasPrefix(class, "IPF.Contact"):
		return "t:ContactsFolder"
	case strings.HasPrefix(class, "IPF.Task"):
		return "t:TasksFolder"
	}
	return "t:Folder"
}

func (w *xw) folder(mb *mailbox, f *folder, sh shape) {
	name := folderElement(f.class)
	w.raw("<" + name + ">")
	w.ref("t:FolderId", tagFolder, mb.idx, f.idx, f.version)
	if !sh.idOnly {
		if f.hasParent && sh.want("folder:ParentFolderId") {
			p := mb.folders[f.parent]
			w.ref("t:ParentFolderId", tagFolder, mb.idx, p.idx, p.version)
		}
		if f.class != "" && sh.want("folder:FolderClass") {
			w.el("t:FolderClass", f.class)
		}
		if sh.want("folder:DisplayName") {
			w.el("t:DisplayName", f.name)
		}
		if sh.want("folder:TotalCount") {
			w.elInt("t:TotalCount", len(f.members))
		}
		if sh.want("folder:ChildFolderCount") {
			children := 0
			for _, c := range mb.folders {
				if !c.deleted && c.hasParent && c.parent == f.idx {
					children++
				}
			}
			w.elInt("t:ChildFolderCount", children)
		}
		if f.dist != "" && sh.want("folder:DistinguishedFolderId") {
			w.el("t:DistinguishedFolderId", f.dist)
		}
		if name == "t:Folder" && sh.want("folder:UnreadCount") {
			unread := 0
			for _, idx := range f.members {
				if in := mb.items[idx]; in.Kind == KindMessage && !in.IsRead {
					unread++
				}
			}
			w.elInt("t:UnreadCount", unread)
		}
	}
	w.raw("</" + name + ">")
}

// sensitivity is the item's sensitivity as EWS spells it: Normal unless
// Personal, Private or Confidential.
func sensitivity(s string) string {
	switch strings.ToLower(s) {
	case "personal":
		return "Personal"
	case "private":
		return "Private"
	case "confidential":
		return "Confidential"
	}
	return "Normal"
}

// SensitivityCode is the sensitivity's MAPI value (PR_SENSITIVITY:
// 0 normal, 1 personal, 2 private, 3 confidential), what Graph's
// extended property gives.
func SensitivityCode(s string) int {
	switch sensitivity(s) {
	case "Personal":
		return 1
	case "Private":
		return 2
	case "Confidential":
		return 3
	}
	return 0
}

// HTMLBody is a text body as Exchange converts it to HTML when a client
// asks for HTML: the text escaped, lines as <br>, in a minimal document.
// Both simulators' protocols serve it, so both give the same HTML.
func HTMLBody(text string) string {
	var b strings.Builder
	b.WriteString("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body><div>")
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if i > 0 {
			b.WriteString("<br>")
		}
		b.WriteString(html.EscapeString(line))
	}
	b.WriteString("</div></body></html>")
	return b.String()
}
