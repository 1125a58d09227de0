package ewssim

import (
	"encoding/xml"
	"slices"
	"strings"
	"time"
)

type emailXML struct {
	Name         string `xml:"Name"`
	EmailAddress string `xml:"EmailAddress"`
}

type attendeesXML struct {
	Attendees []struct {
		Mailbox emailXML `xml:"Mailbox"`
	} `xml:"Attendee"`
}

func (a *attendeesXML) addresses() []Address {
	if a == nil {
		return nil
	}
	out := make([]Address, 0, len(a.Attendees))
	for _, at := range a.Attendees {
		out = append(out, Address{Name: at.Mailbox.Name, Email: at.Mailbox.EmailAddress})
	}
	return out
}

type extPropXML struct {
	ExtendedFieldURI pathXML `xml:"ExtendedFieldURI"`
	Value            string  `xml:"Value"`
}

// calendarItemXML is the part of CalendarItemType the simulator stores.
type calendarItemXML struct {
	Subject  *string        `xml:"Subject"`
	Body     *string        `xml:"Body"`
	Extended []extPropXML   `xml:"ExtendedProperty"`
	Start    *string        `xml:"Start"`
	End      *string        `xml:"End"`
	AllDay   *bool          `xml:"IsAllDayEvent"`
	FreeBusy *string        `xml:"LegacyFreeBusyStatus"`
	Location *string        `xml:"Location"`
	IsRead   *bool          `xml:"IsRead"`
	Required *attendeesXML  `xml:"RequiredAttendees"`
	Optional *attendeesXML  `xml:"OptionalAttendees"`
	Recur    *recurrenceXML `xml:"Recurrence"`
	StartTZ  *struct {
		ID string `xml:"Id,attr"`
	} `xml:"StartTimeZone"`
	MeetingTZ *struct {
		Name string `xml:"TimeZoneName,attr"`
	} `xml:"MeetingTimeZone"`
	messageFieldsXML // Importance, Categories, Flag (update_fields.go)
}

// apply copies the fields present in x into it.
func (x *calendarItemXML) apply(it *Item) *ewsError {
	if x.Subject != nil {
		it.Subject = *x.Subject
	}
	if x.Body != nil {
		it.Body = *x.Body
	}
	for _, p := range x.Extended {
		setExtended(it, p)
	}
	for _, f := range []struct {
		s   *string
		dst *time.Time
	}{{x.Start, &it.Start}, {x.End, &it.End}} {
		if f.s == nil {
			continue
		}
		t, err := parseDateTime(*f.s)
		if err != nil {
			return errSchema("Start and End must be xs:dateTime values")
		}
		*f.dst = t
	}
	if x.AllDay != nil {
		it.IsAllDay = *x.AllDay
	}
	if x.FreeBusy != nil {
		fb := strings.TrimSpace(*x.FreeBusy)
		if !slices.Contains(FreeBusyStatuses, fb) {
			return errSchema("LegacyFreeBusyStatus " + quote(fb) + " is not a LegacyFreeBusyType")
		}
		it.FreeBusy = fb
	}
	if x.Location != nil {
		it.Location = *x.Location
	}
	if x.IsRead != nil {
		it.IsRead = *x.IsRead
	}
	// The simulator keeps one attendee list: RequiredAttendees replaces
	// it, OptionalAttendees adds to it.
	if x.Required != nil {
		it.Attendees = x.Required.addresses()
	}
	if x.Optional != nil {
		it.Attendees = append(it.Attendees, x.Optional.addresses()...)
	}
	if x.Recur != nil {
		r, e := x.Recur.recurrence()
		if e != nil {
			return e
		}
		it.Recurrence, it.IsRecurring = r, true
	}
	if e := x.messageFieldsXML.apply(it); e != nil {
		return e
	}
	if x.StartTZ != nil && x.StartTZ.ID != "" {
		it.TimeZone = x.StartTZ.ID
	} else if x.MeetingTZ != nil && x.MeetingTZ.Name != "" {
		it.TimeZone = x.MeetingTZ.Name
	}
	return nil
}

func setExtended(it *Item, p extPropXML) {
	want := p.ExtendedFieldURI.extended()
	want.Value = p.Value
	for i := range it.Extended {
		if it.Extended[i].sameKey(want) {
			it.Extended[i].Value = p.Value
			return
		}
	}
	it.Extended = append(it.Extended, want)
}

func deleteExtended(it *Item, key ExtendedProperty) {
	out := it.Extended[:0]
	for _, p := range it.Extended {
		if !p.sameKey(key) {
			out = append(out, p)
		}
	}
	it.Extended = out
}

func checkTimes(it *Item) *ewsError {
	if it.Start.IsZero() || it.End.IsZero() {
		return errInvalidRequest("a calendar item needs Start and End")
	}
	if it.End.Before(it.Start) {
		return errEndBeforeStart
	}
	return nil
}

// --- CreateItem ---

type createItemReq struct {
	SendMeetingInvitations string      `xml:"SendMeetingInvitations,attr"`
	MessageDisposition     string      `xml:"MessageDisposition,attr"`
	SavedItemFolderID      *folderRefs `xml:"SavedItemFolderId"`
	Items                  struct {
		Items []struct {
			XMLName xml.Name
			calendarItemXML
			// response objects (DeclineItem, CancelCalendarItem)
			ReferenceItemID *itemRefXML `xml:"ReferenceItemId"`
			NewBodyContent  *string     `xml:"NewBodyContent"`
			Inner           []byte      `xml:",innerxml"` // a Message's (attachments.go)
		} `xml:",any"`
	} `xml:"Items"`
}

// keepsRawXML: a message's Inner (parseEnvelope reads it with encoding/xml).
func (*createItemReq) keepsRawXML() {}

func (r *createItemReq) validate() *ewsError {
	if len(r.Items.Items) == 0 {
		return errSchema("Items must hold at least one item")
	}
	if r.SavedItemFolderID != nil && len(r.SavedItemFolderID.Refs) != 1 {
		return errSchema("SavedItemFolderId must hold one folder id")
	}
	return nil
}

func (r *createItemReq) targetMailbox(s *Sim) string {
	if r.SavedItemFolderID == nil {
		// A response object acts in the mailbox of the item it answers.
		if len(r.Items.Items) > 0 && r.Items.Items[0].ReferenceItemID != nil {
			if m, _, ok := decodeID(tagItem, r.Items.Items[0].ReferenceItemID.ID); ok {
				return s.mailboxName(m)
			}
		}
		return ""
	}
	return r.SavedItemFolderID.targetMailbox(s)
}

func (r *createItemReq) run(c *call) {
	const op = "CreateItem"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	ref := folderRef{XMLName: xml.Name{Local: "DistinguishedFolderId"}, ID: "calendar"}
	if r.SavedItemFolderID != nil {
		ref = r.SavedItemFolderID.Refs[0]
	}
	if len(r.Items.Items) > 0 && responseObjects[r.Items.Items[0].XMLName.Local] {
		for _, x := range r.Items.Items {
			e := r.respond(c, x.XMLName.Local, x.ReferenceItemID, x.Body, x.NewBodyContent)
			if e != nil {
				w.itemsError(op, e)
				continue
			}
			w.msgStart(op, nil)
			w.raw("<m:Items/>")
			w.msgEnd(op)
		}
		return
	}
	mb, f, e := c.resolveFolder(ref)
	for _, x := range r.Items.Items {
		if e != nil {
			w.itemsError(op, e)
			continue
		}
		if x.XMLName.Local == "Message" {
			r.createMessage(c, x.Inner)
			continue
		}
		if x.XMLName.Local != "CalendarItem" {
			w.itemsError(op, errInvalidRequest("the simulator creates calendar items only, not "+x.XMLName.Local))
			continue
		}
		if !strings.HasPrefix(f.class, "IPF.Appointment") {
			w.itemsError(op, errNotCalendar)
			continue
		}
		it := Item{Kind: KindCalendar, Organizer: Address{Name: mb.name, Email: mb.addr}}
		if err := x.apply(&it); err != nil {
			w.itemsError(op, err)
			continue
		}
		if err := checkTimes(&it); err != nil {
			w.itemsError(op, err)
			continue
		}
		if it.Recurrence != nil {
			if err := startSeries(&it); err != nil {
				w.itemsError(op, err)
				continue
			}
		}
		c.saveCreated(op, "t:CalendarItem", mb, f, it)
	}
}

// saveCreated stores a created item in folder f, unless f was deleted
// since it was resolved, and answers with the new item's id inside
// element (t:Message, t:CalendarItem).
func (c *call) saveCreated(op, element string, mb *mailbox, f *folder, it Item) {
	w := c.w
	mb.mu.Lock()
	if _, ok := mb.folder(f.idx); !ok {
		mb.mu.Unlock()
		w.itemsError(op, errFolderNotFound)
		return
	}
	in := mb.addItemLocked(f, it, c.now)
	idx := uint32(len(mb.items) - 1)
	id, ck := itemID(mb.idx, idx), changeKey(idx, in.version)
	mb.mu.Unlock()
	w.msgStart(op, nil)
	w.raw("<m:Items><")
	w.raw(element)
	w.raw(">")
	w.id("t:ItemId", id, ck)
	w.raw("</")
	w.raw(element)
	w.raw("></m:Items>")
	w.msgEnd(op)
}

// --- UpdateItem ---

type itemChangeXML struct {
	ItemID           itemRefXML  `xml:"ItemId"`
	OccurrenceItemID *itemRefXML `xml:"OccurrenceItemId"`
	Updates          struct {
		Updates []struct {
			XMLName          xml.Name
			FieldURI         *pathXML         `xml:"FieldURI"`
			ExtendedFieldURI *pathXML         `xml:"ExtendedFieldURI"`
			CalendarItem     *calendarItemXML `xml:"CalendarItem"`
			Message          *calendarItemXML `xml:"Message"`
		} `xml:",any"`
	} `xml:"Updates"`
}

type updateItemReq struct {
	ConflictResolution string          `xml:"ConflictResolution,attr"`
	ItemChanges        []itemChangeXML `xml:"ItemChanges>ItemChange"`
}

func (r *updateItemReq) validate() *ewsError {
	switch r.ConflictResolution {
	case "NeverOverwrite", "AutoResolve", "AlwaysOverwrite":
	default:
		return errSchema("ConflictResolution must be NeverOverwrite, AutoResolve or AlwaysOverwrite")
	}
	if len(r.ItemChanges) == 0 {
		return errSchema("ItemChanges must hold at least one ItemChange")
	}
	return nil
}

func (r *updateItemReq) targetMailbox(s *Sim) string {
	if m, ok := itemMailbox(r.ItemChanges[0].ref().id()); ok {
		return s.mailboxName(m)
	}
	return ""
}

// ref is the change's item: its ItemId or OccurrenceItemId.
func (ch itemChangeXML) ref() itemRefXML {
	if ch.OccurrenceItemID != nil {
		r := *ch.OccurrenceItemID
		r.XMLName.Local = "OccurrenceItemId"
		return r
	}
	return ch.ItemID
}

// fieldClear lists the FieldURIs UpdateItem supports and how
// DeleteItemField clears each (nil: the field cannot be deleted). Set and
// Append take the new value from the item element in the update.
var fieldClear = map[string]func(*Item){
	"item:Subject":               func(it *Item) { it.Subject = "" },
	"item:Body":                  func(it *Item) { it.Body = "" },
	"calendar:Start":             nil,
	"calendar:End":               nil,
	"calendar:IsAllDayEvent":     func(it *Item) { it.IsAllDay = false },
	"calendar:Location":          func(it *Item) { it.Location = "" },
	"calendar:RequiredAttendees": func(it *Item) { it.Attendees = nil },
	"calendar:OptionalAttendees": func(it *Item) {},
	"calendar:Recurrence": func(it *Item) {
		it.IsRecurring, it.Recurrence, it.Exceptions, it.DeletedOccurrences = false, nil, nil, nil
	},
	"calendar:StartTimeZone":        func(it *Item) { it.TimeZone = "" },
	"calendar:EndTimeZone":          func(it *Item) {},
	"calendar:MeetingTimeZone":      func(it *Item) { it.TimeZone = "" },
	"message:IsRead":                func(it *Item) { it.IsRead = false },
	"calendar:LegacyFreeBusyStatus": func(it *Item) { it.FreeBusy = "" },
}

func (r *updateItemReq) run(c *call) {
	const op = "UpdateItem"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	for _, ch := range r.ItemChanges {
		if mb, idx, index, e, ok := c.resolveOccurrence(ch.ref().id()); ok {
			var id, ck string
			if e == nil {
				id, ck, e = r.changeOccurrence(c, mb, idx, index, ch)
			}
			if e != nil {
				w.itemsError(op, e)
				continue
			}
			w.msgStart(op, nil)
			w.raw("<m:Items><t:CalendarItem>")
			w.id("t:ItemId", id, ck)
			w.raw("</t:CalendarItem></m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>")
			w.msgEnd(op)
			continue
		}
		mb, idx, e := c.resolveItem(ch.ItemID.ID)
		if e != nil {
			w.itemsError(op, e)
			continue
		}
		id, ck, kind, e := r.change(c, mb, idx, ch)
		if e != nil {
			w.itemsError(op, e)
			continue
		}
		w.msgStart(op, nil)
		w.raw("<m:Items><" + elementName(kind) + ">")
		w.id("t:ItemId", id, ck)
		w.raw("</" + elementName(kind) + "></m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>")
		w.msgEnd(op)
	}
}

func (r *updateItemReq) change(c *call, mb *mailbox, idx uint32, ch itemChangeXML) (string, string, ItemKind, *ewsError) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	in, ok := mb.item(idx)
	if !ok {
		return "", "", 0, errItemNotFound
	}
	current := changeKey(idx, in.version)
	if ch.ItemID.ChangeKey != "" && ch.ItemID.ChangeKey != current && r.ConflictResolution == "NeverOverwrite" {
		return "", "", 0, errConflict
	}
	it := in.content()
	it.Attendees = append([]Address(nil), it.Attendees...)
	it.Extended = append([]ExtendedProperty(nil), it.Extended...)
	onlyRead := true
	for _, u := range ch.Updates.Updates {
		src := u.CalendarItem
		if src == nil {
			src = u.Message
		}
		switch {
		case u.ExtendedFieldURI != nil:
			onlyRead = false
			if u.XMLName.Local == "DeleteItemField" {
				deleteExtended(&it, u.ExtendedFieldURI.extended())
				continue
			}
			if src == nil || len(src.Extended) == 0 {
				return "", "", 0, errInvalidProperty("SetItemField with an ExtendedFieldURI needs an item holding that ExtendedProperty")
			}
			for _, p := range src.Extended {
				setExtended(&it, p)
			}
		case u.FieldURI != nil:
			field := u.FieldURI.FieldURI
			clear, known := fieldClear[field]
			if !known {
				return "", "", 0, errInvalidProperty(field + " is not supported by the simulator")
			}
			if field != "message:IsRead" {
				onlyRead = false
			}
			switch u.XMLName.Local {
			case "DeleteItemField":
				if clear == nil {
					return "", "", 0, errInvalidProperty(field + " cannot be deleted")
				}
				clear(&it)
			case "SetItemField", "AppendToItemField":
				if src == nil {
					return "", "", 0, errInvalidProperty(u.XMLName.Local + " needs an item with the new value")
				}
				if u.XMLName.Local == "AppendToItemField" {
					if field == "calendar:RequiredAttendees" || field == "calendar:OptionalAttendees" {
						it.Attendees = append(it.Attendees, src.Required.addresses()...)
						it.Attendees = append(it.Attendees, src.Optional.addresses()...)
						continue
					}
					if field == "item:Categories" {
						src.appendCategories(&it)
						continue
					}
					if field == "item:Body" && src.Body != nil {
						it.Body += *src.Body
						continue
					}
				}
				if e := src.apply(&it); e != nil {
					return "", "", 0, e
				}
			default:
				return "", "", 0, errSchema("unknown update " + u.XMLName.Local)
			}
		default:
			return "", "", 0, errSchema(u.XMLName.Local + " needs a FieldURI or ExtendedFieldURI")
		}
	}
	if it.Kind == KindCalendar {
		if e := checkTimes(&it); e != nil {
			return "", "", 0, e
		}
		if it.Recurrence != nil && it.Recurrence != in.Recurrence {
			// A new pattern drops the series' exceptions, as in Exchange.
			it.Exceptions, it.DeletedOccurrences = nil, nil
			if e := startSeries(&it); e != nil {
				return "", "", 0, e
			}
		}
	}
	in.setContent(it)
	mb.touchLocked(idx, onlyRead, c.now)
	return itemID(mb.idx, idx), changeKey(idx, in.version), in.Kind, nil
}

// --- DeleteItem ---

type deleteItemReq struct {
	DeleteType string   `xml:"DeleteType,attr"`
	ItemIDs    itemRefs `xml:"ItemIds"`
}

func (r *deleteItemReq) validate() *ewsError {
	switch r.DeleteType {
	case "HardDelete", "SoftDelete", "MoveToDeletedItems":
	default:
		return errSchema("DeleteType must be HardDelete, SoftDelete or MoveToDeletedItems")
	}
	if len(r.ItemIDs.Refs) == 0 {
		return errSchema("ItemIds must hold at least one item id")
	}
	return nil
}

func (r *deleteItemReq) targetMailbox(s *Sim) string {
	if m, ok := itemMailbox(r.ItemIDs.Refs[0].id()); ok {
		return s.mailboxName(m)
	}
	return ""
}

func (r *deleteItemReq) run(c *call) {
	const op = "DeleteItem"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	for _, ref := range r.ItemIDs.Refs {
		var e *ewsError
		if mb, idx, index, oe, ok := c.resolveOccurrence(ref.id()); ok {
			e = oe
			if e == nil {
				e = mb.deleteOccurrence(idx, index, c.now)
			}
		} else {
			var mb *mailbox
			var idx uint32
			mb, idx, e = c.resolveItem(ref.ID)
			if e == nil {
				e = r.delete(c, mb, idx)
			}
		}
		if e != nil {
			w.errorMessage(op, e)
			continue
		}
		w.msgStart(op, nil)
		w.msgEnd(op)
	}
}

func (r *deleteItemReq) delete(c *call, mb *mailbox, idx uint32) *ewsError {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	in, ok := mb.item(idx)
	if !ok {
		return errItemNotFound
	}
	trash := distIndex["deleteditems"]
	if r.DeleteType == "MoveToDeletedItems" && in.folder != trash {
		mb.moveLocked(idx, mb.folders[trash], c.now)
		return nil
	}
	mb.deleteItemLocked(idx)
	return nil
}
