package ews

import (
	"context"
	"encoding/xml"
)

// Meeting responses: CreateItem with a response object (DeclineItem,
// CancelCalendarItem) referring to a calendar item. Exchange sends the
// response (or only saves it, MessageDisposition SaveOnly) and removes
// the meeting from the calendar it answered for.

// MessageDisposition is CreateItem's MessageDisposition for responses.
type MessageDisposition string

const (
	SaveOnly        MessageDisposition = "SaveOnly"
	SendAndSaveCopy MessageDisposition = "SendAndSaveCopy"
)

// ResponseKind is the response object to create.
type ResponseKind string

const (
	// Decline: an attendee (a room) declines the meeting; the organizer
	// gets the response.
	Decline ResponseKind = "DeclineItem"
	// CancelMeeting: the organizer cancels the meeting; the attendees get
	// the cancellation.
	CancelMeeting ResponseKind = "CancelCalendarItem"
)

// xDeclineItem follows WellKnownResponseObjectType's order: Body before
// ReferenceItemId.
type xDeclineItem struct {
	XMLName         xml.Name   `xml:"t:DeclineItem"`
	Body            *xItemBody `xml:"t:Body,omitempty"`
	ReferenceItemID xID        `xml:"t:ReferenceItemId"`
}

// xCancelItem follows SmartResponseType's order: ReferenceItemId, then
// NewBodyContent.
type xCancelItem struct {
	XMLName         xml.Name   `xml:"t:CancelCalendarItem"`
	ReferenceItemID xID        `xml:"t:ReferenceItemId"`
	NewBodyContent  *xItemBody `xml:"t:NewBodyContent,omitempty"`
}

type xCreateResponse struct {
	XMLName            xml.Name           `xml:"m:CreateItem"`
	MessageDisposition MessageDisposition `xml:"MessageDisposition,attr"`
	Items              struct{ Item any } `xml:"m:Items"`
}

// RespondToMeeting creates a response object for the calendar item item:
// declines or cancels the meeting with comment as its text. disposition
// SendAndSaveCopy sends it, SaveOnly keeps it unsent (a decline still
// removes the meeting). ErrorItemNotFound (ClassItemNotFound) means the
// meeting is gone.
func (c *Client) RespondToMeeting(ctx context.Context, t Target, item ItemRef, kind ResponseKind, comment string, disposition MessageDisposition) error {
	const op = "CreateItem"
	if err := t.validate(op); err != nil {
		return err
	}
	if item.ID == "" {
		return invalidArg(op, "item id is empty")
	}
	switch disposition {
	case SaveOnly, SendAndSaveCopy:
	default:
		return invalidArg(op, "message disposition %q is not SaveOnly or SendAndSaveCopy", disposition)
	}
	var b *xItemBody
	if comment != "" {
		b = body(comment, false)
	}
	req := xCreateResponse{MessageDisposition: disposition}
	switch kind {
	case Decline:
		req.Items.Item = xDeclineItem{Body: b, ReferenceItemID: xID(item)}
	case CancelMeeting:
		req.Items.Item = xCancelItem{ReferenceItemID: xID(item), NewBodyContent: b}
	default:
		return invalidArg(op, "response %q is not DeclineItem or CancelCalendarItem", kind)
	}
	resp, err := c.call(ctx, op, t, req)
	if err != nil {
		return err
	}
	_, err = singleMessage(op, resp)
	return wrapDecode(op, err)
}
