package ews

import (
	"context"
	"encoding/xml"
	"fmt"
)

// MaxSyncChanges is the largest MaxChangesReturned Exchange accepts.
const MaxSyncChanges = 512

type xSyncFolderItems struct {
	XMLName            xml.Name   `xml:"m:SyncFolderItems"`
	ItemShape          xItemShape `xml:"m:ItemShape"`
	SyncFolderID       xFolderIDs `xml:"m:SyncFolderId"`
	SyncState          string     `xml:"m:SyncState,omitempty"`
	MaxChangesReturned int        `xml:"m:MaxChangesReturned"`
}

// ItemChange is one entry of a SyncFolderItems page. Deletes carry only
// ItemID; read-flag changes carry ItemID and IsRead.
type ItemChange struct {
	Kind      ChangeKind
	Type      string // item element name: Message, CalendarItem, Contact, ...
	ItemID    string
	ChangeKey string
	ItemClass string
	Subject   string // only if the server sent it; the sync asks for ids
	IsRead    *bool
}

// SyncFolderItemsResult is one page of item changes.
type SyncFolderItemsResult struct {
	SyncState               string
	IncludesLastItemInRange bool
	Changes                 []ItemChange
}

// syncItemShape asks for ids and the item class only: the caller fetches
// what it needs with GetItem, in batches, with a shape per item kind.
var syncItemShape = xItemShape{BaseShape: "IdOnly", AdditionalProperties: paths([]string{"item:ItemClass"}, nil)}

// SyncFolderItems returns up to maxChanges (1..512) item changes in folder
// since syncState ("" for a full sync). Call again with the returned
// SyncState until IncludesLastItemInRange. Associated (hidden) items are
// not included.
func (c *Client) SyncFolderItems(ctx context.Context, t Target, folder FolderRef, syncState string, maxChanges int) (*SyncFolderItemsResult, error) {
	const op = "SyncFolderItems"
	if err := t.validate(op); err != nil {
		return nil, err
	}
	if maxChanges < 1 || maxChanges > MaxSyncChanges {
		return nil, invalidArg(op, "maxChanges must be between 1 and %d, got %d", MaxSyncChanges, maxChanges)
	}
	ids, err := folderIDs(op, t, folder)
	if err != nil {
		return nil, err
	}
	req := xSyncFolderItems{
		ItemShape: syncItemShape, SyncFolderID: ids, SyncState: syncState,
		MaxChangesReturned: maxChanges,
	}
	resp, err := c.call(ctx, op, t, req)
	if err != nil {
		return nil, err
	}
	r, err := decodeSyncFolderItems(resp)
	return r, wrapDecode(op, err)
}

func decodeSyncFolderItems(resp elem) (*SyncFolderItemsResult, error) {
	const op = "SyncFolderItems"
	m, err := singleMessage(op, resp)
	if err != nil {
		return nil, err
	}
	r := &SyncFolderItemsResult{
		SyncState:               m.el.child("SyncState").text(),
		IncludesLastItemInRange: parseBool(m.el.child("IncludesLastItemInRange").text()),
	}
	changes := m.el.child("Changes")
	r.Changes = make([]ItemChange, 0, changes.countChildren())
	for ch := range changes.children() {
		kind, ok := changeKinds[ch.name()]
		if !ok {
			return nil, fmt.Errorf("%w: unknown item change <%s>", ErrMalformedResponse, ch.name())
		}
		ic := ItemChange{Kind: kind}
		switch kind {
		case ChangeDelete:
			id := ch.child("ItemId")
			ic.ItemID, ic.ChangeKey = id.attr("Id"), id.attr("ChangeKey")
		case ChangeReadFlagChange:
			id := ch.child("ItemId")
			ic.ItemID, ic.ChangeKey = id.attr("Id"), id.attr("ChangeKey")
			b := parseBool(ch.child("IsRead").text())
			ic.IsRead = &b
		default:
			it := ch.firstChild()
			ic.Type = it.name()
			for c := range it.children() {
				switch c.name() {
				case "ItemId":
					ic.ItemID, ic.ChangeKey = c.attr("Id"), c.attr("ChangeKey")
				case "ItemClass":
					ic.ItemClass = c.text()
				case "Subject":
					ic.Subject = c.text()
				case "IsRead":
					b := parseBool(c.text())
					ic.IsRead = &b
				}
			}
		}
		if ic.ItemID == "" {
			return nil, fmt.Errorf("%w: <%s> change without an ItemId", ErrMalformedResponse, ch.name())
		}
		r.Changes = append(r.Changes, ic)
	}
	return r, nil
}
