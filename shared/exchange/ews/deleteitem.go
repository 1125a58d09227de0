package ews

import (
	"context"
	"encoding/xml"
)

// DeleteMode is DeleteItem's DeleteType.
type DeleteMode string

const (
	HardDelete         DeleteMode = "HardDelete"
	SoftDelete         DeleteMode = "SoftDelete"
	MoveToDeletedItems DeleteMode = "MoveToDeletedItems" // the default
)

type xDeleteItem struct {
	XMLName                  xml.Name   `xml:"m:DeleteItem"`
	DeleteType               DeleteMode `xml:"DeleteType,attr"`
	SendMeetingCancellations SendMode   `xml:"SendMeetingCancellations,attr"`
	ItemIDs                  xItemIDs   `xml:"m:ItemIds"`
}

// DeleteItem deletes a calendar item, cancelling the meeting for its
// attendees as send says. ErrorItemNotFound (ClassItemNotFound) means it
// is already gone.
func (c *Client) DeleteItem(ctx context.Context, t Target, item ItemRef, mode DeleteMode, send SendMode) error {
	const op = "DeleteItem"
	if err := t.validate(op); err != nil {
		return err
	}
	if item.ID == "" {
		return invalidArg(op, "item id is empty")
	}
	switch mode {
	case "":
		mode = MoveToDeletedItems
	case HardDelete, SoftDelete, MoveToDeletedItems:
	default:
		return invalidArg(op, "delete mode %q is not HardDelete, SoftDelete or MoveToDeletedItems", mode)
	}
	send, err := sendMode(op, send, false)
	if err != nil {
		return err
	}
	req := xDeleteItem{DeleteType: mode, SendMeetingCancellations: send, ItemIDs: itemIDs(item)}
	resp, err := c.call(ctx, op, t, req)
	if err != nil {
		return err
	}
	_, err = singleMessage(op, resp)
	return wrapDecode(op, err)
}
