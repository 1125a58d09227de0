package ewssim

import (
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
	in := mb.items[idx]
	name := elementName(in.Kind)
	w.raw("<")
	w.raw(name)
	w.raw(">")
	w.ref("t:ItemId", tagItem, mb.idx, idx, in.version)
	if !sh.idOnly {
		w.itemBody(mb, in, sh)
	} else if len(sh.extended) > 0 {
		w.extended(in, sh)
	}
	w.raw("</")
	w.raw(name)
	w.raw(">")
}

func (w *xw) itemBody(mb *mailbox, in *item, sh shape) {
	f := mb.folders[in.folder]
	w.ref("t:ParentFolderId", tagFolder, mb.idx, f.idx, f.version)
	w.el("t:ItemClass", in.Kind.Class())
	w.el("t:Subject", in.Subject)
	w.el("t:Sensitivity", "Normal")
	if sh.body {
		w.raw(`<t:Body BodyType="Text">`)
		w.esc(in.Body)
		w.raw(`</t:Body>`)
	}
	received := in.Received
	if received.IsZero() {
		received = in.modified
	}
	w.elTime("t:DateTimeReceived", received)
	w.elInt("t:Size", 512+len(in.Subject)+len(in.Body))
	w.el("t:Importance", "Normal")
	w.elBool("t:IsSubmitted", false)
	w.elBool("t:IsDraft", false)
	w.elBool("t:IsFromMe", false)
	w.elBool("t:IsResend", false)
	w.elBool("t:IsUnmodified", false)
	w.elTime("t:DateTimeSent", received)
	w.elTime("t:DateTimeCreated", received)
	if in.Kind == KindMessage {
		w.el("t:DisplayTo", displayList(in.To))
	}
	w.elBool("t:HasAttachments", false)
	w.extended(in, sh)
	w.elTime("t:LastModifiedTime", in.modified)
	if in.Kind == KindMessage && in.Body != "" {
		w.el("t:Preview", preview(in.Body))
	}
	switch in.Kind {
	case KindMessage:
		w.messageFields(in)
	case KindCalendar:
		w.calendarFields(in)
	case KindContact:
		w.contactFields(in)
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

func (w *xw) messageFields(in *item) {
	if in.From.Email != "" {
		w.mailbox("t:Sender", in.From)
	}
	w.recipients("t:ToRecipients", in.To)
	w.elBool("t:IsReadReceiptRequested", false)
	w.el("t:ConversationTopic", in.Subject)
	if in.From.Email != "" {
		w.mailbox("t:From", in.From)
	}
	w.elBool("t:IsRead", in.IsRead)
}

func (w *xw) calendarFields(in *item) {
	w.elTime("t:Start", in.Start)
	w.elTime("t:End", in.End)
	w.elBool("t:IsAllDayEvent", in.IsAllDay)
	w.el("t:LegacyFreeBusyStatus", "Busy")
	if in.Location != "" {
		w.el("t:Location", in.Location)
	}
	w.elBool("t:IsMeeting", len(in.Attendees) > 0)
	w.elBool("t:IsCancelled", false)
	w.elBool("t:IsRecurring", in.IsRecurring)
	if in.IsRecurring {
		w.el("t:CalendarItemType", "RecurringMaster")
	} else {
		w.el("t:CalendarItemType", "Single")
	}
	w.el("t:MyResponseType", "Organizer")
	if in.Organizer.Email != "" {
		w.mailbox("t:Organizer", in.Organizer)
	}
	if len(in.Attendees) > 0 {
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
	if in.TimeZone != "" {
		w.el("t:TimeZone", in.TimeZone)
	}
}

var phoneKeys = []string{"BusinessPhone", "MobilePhone", "HomePhone"}

func (w *xw) contactFields(in *item) {
	name := in.DisplayName
	if name == "" {
		name = strings.TrimSpace(in.GivenName + " " + in.Surname)
	}
	w.el("t:FileAs", name)
	w.el("t:DisplayName", name)
	if in.GivenName != "" {
		w.el("t:GivenName", in.GivenName)
	}
	if in.Company != "" {
		w.el("t:CompanyName", in.Company)
	}
	if len(in.Emails) > 0 {
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
	if len(in.Phones) > 0 {
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
	if in.Surname != "" {
		w.el("t:Surname", in.Surname)
	}
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

func preview(body string) string {
	if len(body) <= 255 {
		return body
	}
	cut := 255
	for cut > 0 && body[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return body[:cut]
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

func (w *xw) folder(mb *mailbox, f *folder, idOnly bool) {
	name := folderElement(f.class)
	w.raw("<" + name + ">")
	w.ref("t:FolderId", tagFolder, mb.idx, f.idx, f.version)
	if !idOnly {
		if f.hasParent {
			p := mb.folders[f.parent]
			w.ref("t:ParentFolderId", tagFolder, mb.idx, p.idx, p.version)
		}
		if f.class != "" {
			w.el("t:FolderClass", f.class)
		}
		w.el("t:DisplayName", f.name)
		w.elInt("t:TotalCount", len(f.members))
		children := 0
		for _, c := range mb.folders {
			if !c.deleted && c.hasParent && c.parent == f.idx {
				children++
			}
		}
		w.elInt("t:ChildFolderCount", children)
		if f.dist != "" {
			w.el("t:DistinguishedFolderId", f.dist)
		}
		if name == "t:Folder" {
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
