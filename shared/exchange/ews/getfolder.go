package ews

import (
	"context"
	"encoding/xml"
	"fmt"
)

type xGetFolder struct {
	XMLName     xml.Name     `xml:"m:GetFolder"`
	FolderShape xFolderShape `xml:"m:FolderShape"`
	FolderIDs   xFolderIDs   `xml:"m:FolderIds"`
}

// GetFolderResult is the answer for one requested folder: Folder, or Err
// (e.g. ErrorAccessDenied for a folder not shared with a delegate).
type GetFolderResult struct {
	Ref    FolderRef
	Folder *Folder
	Err    *Error
}

// GetFolder reads folders; per-folder errors are in the results, in the
// order of refs, which makes it the access probe for each folder.
func (c *Client) GetFolder(ctx context.Context, t Target, refs []FolderRef) ([]GetFolderResult, error) {
	const op = "GetFolder"
	if err := t.validate(op); err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, invalidArg(op, "no folders given")
	}
	ids, err := folderIDs(op, t, refs...)
	if err != nil {
		return nil, err
	}
	// The request lists FolderIds before DistinguishedFolderIds, and
	// Exchange answers in request order: map the answers back.
	var wire []int
	for i, r := range refs {
		if r.ID != "" {
			wire = append(wire, i)
		}
	}
	for i, r := range refs {
		if r.ID == "" {
			wire = append(wire, i)
		}
	}
	resp, err := c.call(ctx, op, t, xGetFolder{FolderShape: folderShape, FolderIDs: ids})
	if err != nil {
		return nil, err
	}
	msgs, err := responseMessages(op, resp)
	if err != nil {
		return nil, wrapDecode(op, err)
	}
	if len(msgs) != len(refs) {
		return nil, wrapDecode(op, fmt.Errorf("%w: %d response messages for %d folders", ErrMalformedResponse, len(msgs), len(refs)))
	}
	out := make([]GetFolderResult, len(refs))
	for w, m := range msgs {
		i := wire[w]
		out[i].Ref = refs[i]
		if e := m.err(op); e != nil {
			out[i].Err = e
			continue
		}
		f := decodeFolder(m.el.child("Folders").firstChild())
		out[i].Folder = &f
	}
	return out, nil
}
