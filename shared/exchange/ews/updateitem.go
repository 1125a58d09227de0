package ews

import (
	"context"
	"encoding/xml"
	"time"
)

// ConflictResolution is UpdateItem's answer to a stale ChangeKey.
type ConflictResolution string

const (
	// NeverOverwrite fails with ErrorIrresolvableConflict when the item
	// changed since ChangeKey was read: what "change only what we wrote"
	// needs. Requires a ChangeKey.
	NeverOverwrite  ConflictResolution = "NeverOverwrite"
	AutoResolve     ConflictResolution = "AutoResolve" // the default
	AlwaysOverwrite ConflictResolution = "AlwaysOverwrite"
)

// CalendarUpdate lists the fields to change; nil fields are left alone.
// An empty Subject or Location, or an empty attendee list, deletes the
// field.
type CalendarUpdate struct {
	Subject            *string
	Body               *string
	BodyHTML           bool
	Start              *time.Time
	End                *time.Time
	TimeZone           *string // sets StartTimeZone and EndTimeZone
	IsAllDay           *bool
	Location           *string
	FreeBusy           *string
	RequiredAttendees  *[]Mailbox
	OptionalAttendees  *[]Mailbox
	ExtendedProperties []ExtendedProperty // set (created or replaced)
}

type xSetItemField struct {
	FieldURI         *xFieldURI         `xml:"t:FieldURI,omitempty"`
	ExtendedFieldURI *xExtendedFieldURI `xml:"t:ExtendedFieldURI,omitempty"`
	CalendarItem     xCalendarItem      `xml:"t:CalendarItem"`
}

type xDeleteItemField struct {
	FieldURI xFieldURI `xml:"t:FieldURI"`
}

type xItemChange struct {
	ItemID  xID `xml:"t:ItemId"`
	Updates struct {
		Set    []xSetItemField    `xml:"t:SetItemField"`
		Delete []xDeleteItemField `xml:"t:DeleteItemField"`
	} `xml:"t:Updates"`
}

type xUpdateItem struct {
	XMLName                               xml.Name           `xml:"m:UpdateItem"`
	ConflictResolution                    ConflictResolution `xml:"ConflictResolution,attr"`
	SendMeetingInvitationsOrCancellations SendMode           `xml:"SendMeetingInvitationsOrCancellations,attr"`
	ItemChanges                           struct {
		ItemChange xItemChange `xml:"t:ItemChange"`
	} `xml:"m:ItemChanges"`
}

// UpdateItem changes a calendar item and returns its new change key. Pass
// the ChangeKey you last read with NeverOverwrite to detect concurrent
// edits (ClassConflict).
func (c *Client) UpdateItem(ctx context.Context, t Target, item ItemRef, upd CalendarUpdate, send SendMode, conflict ConflictResolution) (ItemRef, error) {
	const op = "UpdateItem"
	if err := t.validate(op); err != nil {
		return ItemRef{}, err
	}
	if item.ID == "" {
		return ItemRef{}, invalidArg(op, "item id is empty")
	}
	switch conflict {
	case "":
		conflict = AutoResolve
	case NeverOverwrite, AutoResolve, AlwaysOverwrite:
	default:
		return ItemRef{}, invalidArg(op, "conflict resolution %q is not NeverOverwrite, AutoResolve or AlwaysOverwrite", conflict)
	}
	if conflict == NeverOverwrite && item.ChangeKey == "" {
		return ItemRef{}, invalidArg(op, "NeverOverwrite needs the item's ChangeKey")
	}
	send, err := sendMode(op, send, true)
	if err != nil {
		return ItemRef{}, err
	}
	if err := validExtended(op, upd.ExtendedProperties); err != nil {
		return ItemRef{}, err
	}
	if upd.FreeBusy != nil && !freeBusyValues[*upd.FreeBusy] {
		return ItemRef{}, invalidArg(op, "free/busy status %q is not one of Free, Tentative, Busy, OOF, WorkingElsewhere, NoData", *upd.FreeBusy)
	}
	if upd.Start != nil && upd.End != nil && !upd.End.After(*upd.Start) {
		return ItemRef{}, invalidArg(op, "event needs a start before its end")
	}
	ch := xItemChange{ItemID: xID(item)}
	set := func(uri string, ci xCalendarItem) {
		ch.Updates.Set = append(ch.Updates.Set, xSetItemField{FieldURI: &xFieldURI{uri}, CalendarItem: ci})
	}
	del := func(uri string) { ch.Updates.Delete = append(ch.Updates.Delete, xDeleteItemField{xFieldURI{uri}}) }
	setOrDelete := func(uri string, v *string, ci xCalendarItem) {
		switch {
		case v == nil:
		case *v == "":
			del(uri)
		default:
			set(uri, ci)
		}
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	setOrDelete("item:Subject", upd.Subject, xCalendarItem{Subject: deref(upd.Subject)})
	if upd.Body != nil {
		set("item:Body", xCalendarItem{Body: body(*upd.Body, upd.BodyHTML)})
	}
	for _, p := range upd.ExtendedProperties {
		f := p.Field.xml()
		ch.Updates.Set = append(ch.Updates.Set, xSetItemField{ExtendedFieldURI: &f,
			CalendarItem: xCalendarItem{ExtendedProperty: extended([]ExtendedProperty{p})}})
	}
	if upd.Start != nil {
		set("calendar:Start", xCalendarItem{Start: formatTime(*upd.Start)})
	}
	if upd.End != nil {
		set("calendar:End", xCalendarItem{End: formatTime(*upd.End)})
	}
	if upd.IsAllDay != nil {
		set("calendar:IsAllDayEvent", xCalendarItem{IsAllDayEvent: upd.IsAllDay})
	}
	if upd.FreeBusy != nil {
		set("calendar:LegacyFreeBusyStatus", xCalendarItem{LegacyFreeBusyStatus: *upd.FreeBusy})
	}
	setOrDelete("calendar:Location", upd.Location, xCalendarItem{Location: deref(upd.Location)})
	for _, a := range []struct {
		uri  string
		list *[]Mailbox
	}{{"calendar:RequiredAttendees", upd.RequiredAttendees}, {"calendar:OptionalAttendees", upd.OptionalAttendees}} {
		switch {
		case a.list == nil:
		case len(*a.list) == 0:
			del(a.uri)
		case a.uri == "calendar:RequiredAttendees":
			set(a.uri, xCalendarItem{RequiredAttendees: attendees(*a.list)})
		default:
			set(a.uri, xCalendarItem{OptionalAttendees: attendees(*a.list)})
		}
	}
	if upd.TimeZone != nil && *upd.TimeZone != "" {
		set("calendar:StartTimeZone", xCalendarItem{StartTimeZone: &xTimeZone{ID: *upd.TimeZone}})
		set("calendar:EndTimeZone", xCalendarItem{EndTimeZone: &xTimeZone{ID: *upd.TimeZone}})
	}
	if len(ch.Updates.Set)+len(ch.Updates.Delete) == 0 {
		return ItemRef{}, invalidArg(op, "nothing to update")
	}
	req := xUpdateItem{ConflictResolution: conflict, SendMeetingInvitationsOrCancellations: send}
	req.ItemChanges.ItemChange = ch
	resp, err := c.call(ctx, op, t, req)
	if err != nil {
		return ItemRef{}, err
	}
	ref, err := decodeItemRefResponse(op, resp)
	return ref, wrapDecode(op, err)
}
