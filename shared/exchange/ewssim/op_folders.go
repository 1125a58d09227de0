package ewssim

// --- GetFolder ---

type getFolderReq struct {
	FolderShape shapeXML   `xml:"FolderShape"`
	FolderIDs   folderRefs `xml:"FolderIds"`
}

func (r *getFolderReq) validate() *ewsError {
	if len(r.FolderIDs.Refs) == 0 {
		return errSchema("FolderIds must hold at least one folder id")
	}
	_, e := r.FolderShape.shape(false)
	return e
}

func (r *getFolderReq) targetMailbox(s *Sim) string { return r.FolderIDs.targetMailbox(s) }

func (r *getFolderReq) run(c *call) {
	const op = "GetFolder"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	sh, _ := r.FolderShape.shape(false)
	for _, ref := range r.FolderIDs.Refs {
		mb, f, e := c.resolveFolder(ref)
		if e != nil {
			w.errorMessage(op, e)
			continue
		}
		w.msgStart(op, nil)
		w.raw("<m:Folders>")
		mb.mu.RLock()
		w.folder(mb, f, sh)
		mb.mu.RUnlock()
		w.raw("</m:Folders>")
		w.msgEnd(op)
	}
}

// --- FindFolder ---

type findFolderReq struct {
	Traversal   string `xml:"Traversal,attr"`
	FolderShape shapeXML
	PageView    *pageViewXML `xml:"IndexedPageFolderView"`
	ParentIDs   folderRefs   `xml:"ParentFolderIds"`
}

func (r *findFolderReq) validate() *ewsError {
	if r.Traversal != "Shallow" && r.Traversal != "Deep" {
		return errSchema("Traversal must be Shallow or Deep, not " + quote(r.Traversal))
	}
	if len(r.ParentIDs.Refs) == 0 {
		return errSchema("ParentFolderIds must hold at least one folder id")
	}
	if v := r.PageView; v != nil && (v.MaxEntriesReturned < 0 || v.Offset < 0) {
		return errSchema("IndexedPageFolderView MaxEntriesReturned and Offset must not be negative")
	}
	_, e := r.FolderShape.shape(false)
	return e
}

func (r *findFolderReq) targetMailbox(s *Sim) string { return r.ParentIDs.targetMailbox(s) }

func (r *findFolderReq) run(c *call) {
	const op = "FindFolder"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	sh, _ := r.FolderShape.shape(false)
	for _, ref := range r.ParentIDs.Refs {
		mb, parent, e := c.resolveFolder(ref)
		if e != nil {
			w.errorMessage(op, e)
			continue
		}
		mb.mu.RLock()
		var found []*folder
		for _, f := range mb.folders {
			if f.deleted || !f.hasParent {
				continue
			}
			if (r.Traversal == "Shallow" && f.parent == parent.idx) || (r.Traversal == "Deep" && mb.under(f, parent.idx)) {
				found = append(found, f)
			}
		}
		offset, limit := 0, len(found)
		if v := r.PageView; v != nil {
			offset = min(v.Offset, len(found))
			if v.MaxEntriesReturned > 0 {
				limit = v.MaxEntriesReturned
			}
		}
		page := found[offset:min(offset+limit, len(found))]
		w.msgStart(op, nil)
		w.raw("<m:RootFolder")
		w.attrInt("IndexedPagingOffset", offset+len(page))
		w.attrInt("TotalItemsInView", len(found))
		w.attrBool("IncludesLastItemInRange", offset+len(page) == len(found))
		w.raw(">")
		w.raw("<t:Folders>")
		for _, f := range page {
			w.folder(mb, f, sh)
		}
		w.raw("</t:Folders></m:RootFolder>")
		mb.mu.RUnlock()
		w.msgEnd(op)
	}
}
