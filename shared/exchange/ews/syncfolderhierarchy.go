package ews

import (
	"context"
	"encoding/xml"
	"fmt"
)

// ChangeKind is what a sync change did.
type ChangeKind string

const (
	ChangeCreate         ChangeKind = "create"
	ChangeUpdate         ChangeKind = "update"
	ChangeDelete         ChangeKind = "delete"
	ChangeReadFlagChange ChangeKind = "readFlagChange"
)

// changeKinds maps the EWS change element names.
var changeKinds = map[string]ChangeKind{
	"Create": ChangeCreate, "Update": ChangeUpdate, "Delete": ChangeDelete, "ReadFlagChange": ChangeReadFlagChange,
}

type xSyncFolderHierarchy struct {
	XMLName      xml.Name     `xml:"m:SyncFolderHierarchy"`
	FolderShape  xFolderShape `xml:"m:FolderShape"`
	SyncFolderID xFolderIDs   `xml:"m:SyncFolderId"`
	SyncState    string       `xml:"m:SyncState,omitempty"`
}

// FolderChange is one entry of a SyncFolderHierarchy page. For deletes
// only Folder.ID is set.
type FolderChange struct {
	Kind   ChangeKind
	Folder Folder
}

// SyncFolderHierarchyResult is one page of folder changes.
type SyncFolderHierarchyResult struct {
	SyncState                 string
	IncludesLastFolderInRange bool
	Changes                   []FolderChange
}

// SyncFolderHierarchy returns the folder changes under msgfolderroot
// since syncState ("" for a full sync). Call again with the returned
// SyncState until IncludesLastFolderInRange.
func (c *Client) SyncFolderHierarchy(ctx context.Context, t Target, syncState string) (*SyncFolderHierarchyResult, error) {
	const op = "SyncFolderHierarchy"
	if err := t.validate(op); err != nil {
		return nil, err
	}
	// msgfolderroot in every mode, so the three modes see the same folders
	// (without SyncFolderId Exchange would include the non-IPM subtree).
	ids, err := folderIDs(op, t, FolderRef{Distinguished: "msgfolderroot"})
	if err != nil {
		return nil, err
	}
	req := xSyncFolderHierarchy{FolderShape: folderShape, SyncFolderID: ids, SyncState: syncState}
	resp, err := c.call(ctx, op, t, req)
	if err != nil {
		return nil, err
	}
	r, err := decodeSyncFolderHierarchy(resp)
	return r, wrapDecode(op, err)
}

func decodeSyncFolderHierarchy(resp elem) (*SyncFolderHierarchyResult, error) {
	const op = "SyncFolderHierarchy"
	m, err := singleMessage(op, resp)
	if err != nil {
		return nil, err
	}
	r := &SyncFolderHierarchyResult{
		SyncState:                 m.el.child("SyncState").text(),
		IncludesLastFolderInRange: parseBool(m.el.child("IncludesLastFolderInRange").text()),
	}
	changes := m.el.child("Changes")
	r.Changes = make([]FolderChange, 0, changes.countChildren())
	for ch := range changes.children() {
		kind, ok := changeKinds[ch.name()]
		if !ok || kind == ChangeReadFlagChange {
			return nil, fmt.Errorf("%w: unknown folder change <%s>", ErrMalformedResponse, ch.name())
		}
		fc := FolderChange{Kind: kind}
		if kind == ChangeDelete {
			id := ch.child("FolderId")
			fc.Folder = Folder{ID: id.attr("Id"), ChangeKey: id.attr("ChangeKey")}
		} else {
			fc.Folder = decodeFolder(ch.firstChild())
		}
		r.Changes = append(r.Changes, fc)
	}
	return r, nil
}
