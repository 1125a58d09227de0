package ews

import (
	"context"
	"encoding/xml"
)

type xIndexedPageView struct {
	MaxEntriesReturned int    `xml:"MaxEntriesReturned,attr,omitempty"`
	Offset             int    `xml:"Offset,attr"`
	BasePoint          string `xml:"BasePoint,attr"`
}

type xFindFolder struct {
	XMLName         xml.Name          `xml:"m:FindFolder"`
	Traversal       string            `xml:"Traversal,attr"`
	FolderShape     xFolderShape      `xml:"m:FolderShape"`
	IndexedPageView *xIndexedPageView `xml:"m:IndexedPageFolderView,omitempty"`
	ParentFolderIDs xFolderIDs        `xml:"m:ParentFolderIds"`
}

// FindFolderOptions pages through the folders under a parent.
type FindFolderOptions struct {
	Deep       bool // all descendants, not just children
	Offset     int  // from the start of the view
	MaxEntries int  // page size, 1..1000; 0 = 1000
}

// FindFolderResult is one page of folders.
type FindFolderResult struct {
	Folders                 []Folder
	IncludesLastItemInRange bool
	NextOffset              int // IndexedPagingOffset: pass as Offset for the next page
	TotalItemsInView        int
}

// FindFolder lists the folders under parent, one page per call.
func (c *Client) FindFolder(ctx context.Context, t Target, parent FolderRef, opt FindFolderOptions) (*FindFolderResult, error) {
	const op = "FindFolder"
	if err := t.validate(op); err != nil {
		return nil, err
	}
	if opt.MaxEntries == 0 {
		opt.MaxEntries = 1000
	}
	if opt.MaxEntries < 1 || opt.MaxEntries > 1000 || opt.Offset < 0 {
		return nil, invalidArg(op, "page must have 0 <= Offset and 1 <= MaxEntries <= 1000")
	}
	ids, err := folderIDs(op, t, parent)
	if err != nil {
		return nil, err
	}
	req := xFindFolder{
		Traversal:       "Shallow",
		FolderShape:     folderShape,
		IndexedPageView: &xIndexedPageView{MaxEntriesReturned: opt.MaxEntries, Offset: opt.Offset, BasePoint: "Beginning"},
		ParentFolderIDs: ids,
	}
	if opt.Deep {
		req.Traversal = "Deep"
	}
	resp, err := c.call(ctx, op, t, req)
	if err != nil {
		return nil, err
	}
	r, err := decodeFindFolder(resp)
	return r, wrapDecode(op, err)
}

func decodeFindFolder(resp elem) (*FindFolderResult, error) {
	m, err := singleMessage("FindFolder", resp)
	if err != nil {
		return nil, err
	}
	root := m.el.child("RootFolder")
	folders := root.child("Folders")
	r := &FindFolderResult{
		IncludesLastItemInRange: parseBool(root.attr("IncludesLastItemInRange")),
		NextOffset:              parseInt(root.attr("IndexedPagingOffset")),
		TotalItemsInView:        parseInt(root.attr("TotalItemsInView")),
		Folders:                 make([]Folder, 0, folders.countChildren()),
	}
	for f := range folders.children() {
		r.Folders = append(r.Folders, decodeFolder(f))
	}
	return r, nil
}
