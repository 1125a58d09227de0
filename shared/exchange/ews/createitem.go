package ews

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// SendMode says whom Exchange notifies about a calendar write
// (SendMeetingInvitations, SendMeetingInvitationsOrCancellations,
// SendMeetingCancellations). Empty means SendToNone.
type SendMode string

const (
	SendToNone               SendMode = "SendToNone"
	SendOnlyToAll            SendMode = "SendOnlyToAll"
	SendToAllAndSaveCopy     SendMode = "SendToAllAndSaveCopy"
	SendOnlyToChanged        SendMode = "SendOnlyToChanged"        // UpdateItem only
	SendToChangedAndSaveCopy SendMode = "SendToChangedAndSaveCopy" // UpdateItem only
)

// sendMode checks m for an operation; changed says whether the
// *Changed* values apply (UpdateItem).
func sendMode(op string, m SendMode, changed bool) (SendMode, error) {
	switch m {
	case "":
		return SendToNone, nil
	case SendToNone, SendOnlyToAll, SendToAllAndSaveCopy:
		return m, nil
	case SendOnlyToChanged, SendToChangedAndSaveCopy:
		if changed {
			return m, nil
		}
	}
	return "", invalidArg(op, "send mode %q is not valid here", m)
}

// CalendarEvent is a calendar item to create.
type CalendarEvent struct {
	Subject  string
	Body     string
	BodyHTML bool // Body is HTML rather than plain text
	Start    time.Time
	End      time.Time
	// TimeZone is a Windows time zone id ("W. Europe Standard Time") for
	// StartTimeZone/EndTimeZone; Exchange uses it for all-day events and
	// recurrence. Empty means UTC. Needs Exchange2010 or later.
	TimeZone           string
	IsAllDay           bool
	Location           string
	FreeBusy           string // LegacyFreeBusyStatus: Free, Tentative, Busy, OOF, WorkingElsewhere, NoData
	RequiredAttendees  []Mailbox
	OptionalAttendees  []Mailbox
	ExtendedProperties []ExtendedProperty // e.g. the marker holding the client's event id
	// Recurrence makes the event a series (calendar.go); Start and End are
	// its first occurrence's.
	Recurrence *Recurrence
}

type xItemBody struct {
	Type string `xml:"BodyType,attr"`
	Text string `xml:",chardata"`
}

type xExtendedProperty struct {
	Field xExtendedFieldURI `xml:"t:ExtendedFieldURI"`
	Value string            `xml:"t:Value"`
}

type xMailbox struct {
	Name         string `xml:"t:Name,omitempty"`
	EmailAddress string `xml:"t:EmailAddress"`
}

type xAttendee struct {
	Mailbox xMailbox `xml:"t:Mailbox"`
}

type xAttendees struct {
	Attendee []xAttendee `xml:"t:Attendee"`
}

type xTimeZone struct {
	ID string `xml:"Id,attr"`
}

// xCalendarItem follows the schema's element order (ItemType, then
// CalendarItemType). It serves CreateItem and each SetItemField.
type xCalendarItem struct {
	Subject              string              `xml:"t:Subject,omitempty"`
	Body                 *xItemBody          `xml:"t:Body,omitempty"`
	ExtendedProperty     []xExtendedProperty `xml:"t:ExtendedProperty"`
	Start                string              `xml:"t:Start,omitempty"`
	End                  string              `xml:"t:End,omitempty"`
	IsAllDayEvent        *bool               `xml:"t:IsAllDayEvent,omitempty"`
	LegacyFreeBusyStatus string              `xml:"t:LegacyFreeBusyStatus,omitempty"`
	Location             string              `xml:"t:Location,omitempty"`
	RequiredAttendees    *xAttendees         `xml:"t:RequiredAttendees,omitempty"`
	OptionalAttendees    *xAttendees         `xml:"t:OptionalAttendees,omitempty"`
	Recurrence           *xRecurrence        `xml:"t:Recurrence,omitempty"`
	StartTimeZone        *xTimeZone          `xml:"t:StartTimeZone,omitempty"`
	EndTimeZone          *xTimeZone          `xml:"t:EndTimeZone,omitempty"`
}

type xCreateItem struct {
	XMLName                xml.Name   `xml:"m:CreateItem"`
	SendMeetingInvitations SendMode   `xml:"SendMeetingInvitations,attr"`
	SavedItemFolderID      xFolderIDs `xml:"m:SavedItemFolderId"`
	Items                  struct {
		CalendarItem xCalendarItem `xml:"t:CalendarItem"`
	} `xml:"m:Items"`
}

var freeBusyValues = map[string]bool{"Free": true, "Tentative": true, "Busy": true, "OOF": true, "WorkingElsewhere": true, "NoData": true}

func (ev CalendarEvent) validate(op string) error {
	if ev.Start.IsZero() || ev.End.IsZero() || !ev.End.After(ev.Start) {
		return invalidArg(op, "event needs a start before its end")
	}
	if ev.FreeBusy != "" && !freeBusyValues[ev.FreeBusy] {
		return invalidArg(op, "free/busy status %q is not one of Free, Tentative, Busy, OOF, WorkingElsewhere, NoData", ev.FreeBusy)
	}
	for _, a := range append(append([]Mailbox{}, ev.RequiredAttendees...), ev.OptionalAttendees...) {
		if !strings.Contains(a.EmailAddress, "@") {
			return invalidArg(op, "attendee address %q is not an e-mail address", a.EmailAddress)
		}
	}
	if ev.Recurrence != nil {
		if err := ev.Recurrence.validate(op); err != nil {
			return err
		}
	}
	return validExtended(op, ev.ExtendedProperties)
}

func validExtended(op string, props []ExtendedProperty) error {
	for _, p := range props {
		if !p.Field.valid() {
			return invalidArg(op, "extended property %+v needs PropertyType and either PropertyTag or a property set with a name or id", p.Field)
		}
	}
	return nil
}

func body(text string, html bool) *xItemBody {
	if html {
		return &xItemBody{Type: "HTML", Text: text}
	}
	return &xItemBody{Type: "Text", Text: text}
}

func attendees(ms []Mailbox) *xAttendees {
	if len(ms) == 0 {
		return nil
	}
	a := &xAttendees{}
	for _, m := range ms {
		a.Attendee = append(a.Attendee, xAttendee{Mailbox: xMailbox{Name: m.Name, EmailAddress: m.EmailAddress}})
	}
	return a
}

func extended(props []ExtendedProperty) []xExtendedProperty {
	out := make([]xExtendedProperty, 0, len(props))
	for _, p := range props {
		out = append(out, xExtendedProperty{Field: p.Field.xml(), Value: p.Value})
	}
	return out
}

// CreateItem creates a calendar item in folder (usually
// FolderRef{Distinguished: "calendar"}) and returns its id and change key.
func (c *Client) CreateItem(ctx context.Context, t Target, folder FolderRef, ev CalendarEvent, send SendMode) (ItemRef, error) {
	const op = "CreateItem"
	if err := t.validate(op); err != nil {
		return ItemRef{}, err
	}
	if err := ev.validate(op); err != nil {
		return ItemRef{}, err
	}
	send, err := sendMode(op, send, false)
	if err != nil {
		return ItemRef{}, err
	}
	ids, err := folderIDs(op, t, folder)
	if err != nil {
		return ItemRef{}, err
	}
	ci := xCalendarItem{
		Subject:              ev.Subject,
		ExtendedProperty:     extended(ev.ExtendedProperties),
		Start:                formatTime(ev.Start),
		End:                  formatTime(ev.End),
		LegacyFreeBusyStatus: ev.FreeBusy,
		Location:             ev.Location,
		RequiredAttendees:    attendees(ev.RequiredAttendees),
		OptionalAttendees:    attendees(ev.OptionalAttendees),
	}
	if ev.Recurrence != nil {
		ci.Recurrence = ev.Recurrence.xml()
	}
	if ev.Body != "" {
		ci.Body = body(ev.Body, ev.BodyHTML)
	}
	if ev.IsAllDay {
		ci.IsAllDayEvent = &ev.IsAllDay
	}
	if ev.TimeZone != "" {
		ci.StartTimeZone, ci.EndTimeZone = &xTimeZone{ID: ev.TimeZone}, &xTimeZone{ID: ev.TimeZone}
	}
	req := xCreateItem{SendMeetingInvitations: send, SavedItemFolderID: ids}
	req.Items.CalendarItem = ci
	resp, err := c.call(ctx, op, t, req)
	if err != nil {
		return ItemRef{}, err
	}
	ref, err := decodeItemRefResponse(op, resp)
	return ref, wrapDecode(op, err)
}

// decodeItemRefResponse reads the id of the one item a CreateItem or
// UpdateItem response returns.
func decodeItemRefResponse(op string, resp elem) (ItemRef, error) {
	m, err := singleMessage(op, resp)
	if err != nil {
		return ItemRef{}, err
	}
	id := m.el.child("Items").firstChild().child("ItemId")
	if !id.ok() {
		return ItemRef{}, fmt.Errorf("%w: %s response has no ItemId", ErrMalformedResponse, op)
	}
	return ItemRef{ID: id.attr("Id"), ChangeKey: id.attr("ChangeKey")}, nil
}
