package ewssim

import (
	"sort"
)

// --- SyncFolderItems ---

type syncItemsReq struct {
	ItemShape          shapeXML   `xml:"ItemShape"`
	SyncFolderID       folderRefs `xml:"SyncFolderId"`
	SyncState          string     `xml:"SyncState"`
	Ignore             itemRefs   `xml:"Ignore"`
	MaxChangesReturned int        `xml:"MaxChangesReturned"`
	SyncScope          string     `xml:"SyncScope"`
}

func (r *syncItemsReq) validate() *ewsError {
	if len(r.SyncFolderID.Refs) != 1 {
		return errSchema("SyncFolderId must hold exactly one folder id")
	}
	if r.MaxChangesReturned < 1 || r.MaxChangesReturned > 512 {
		return errSchema("MaxChangesReturned must be between 1 and 512")
	}
	if _, e := r.ItemShape.shape(false); e != nil {
		return e
	}
	return nil
}

func (r *syncItemsReq) targetMailbox(s *Sim) string { return r.SyncFolderID.targetMailbox(s) }

// pageEntry is one item in a sync page with whether any change other than
// the read flag was seen for it.
type pageEntry struct {
	idx     uint32
	nonRead bool
}

// syncPage walks a change log after seq, coalescing the changes of each
// item, until max distinct items are collected. It returns the items,
// the seq the next state starts from, and whether the log was exhausted.
func syncPage(log []logEntry, seq uint32, max int) ([]pageEntry, uint32, bool) {
	start := sort.Search(len(log), func(i int) bool { return log[i].seq > seq })
	n := min(max, len(log)-start)
	page := make([]pageEntry, 0, n)
	pos := make(map[uint32]int, n)
	end := start
	for ; end < len(log); end++ {
		e := log[end]
		if p, ok := pos[e.idx]; ok {
			if e.kind != logRead {
				page[p].nonRead = true
			}
			continue
		}
		if len(page) == max {
			break
		}
		pos[e.idx] = len(page)
		page = append(page, pageEntry{idx: e.idx, nonRead: e.kind != logRead})
	}
	next := seq
	if end > start {
		next = log[end-1].seq
	}
	return page, next, end == len(log)
}

func (r *syncItemsReq) run(c *call) {
	const op = "SyncFolderItems"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	mb, f, e := c.resolveFolder(r.SyncFolderID.Refs[0])
	if e != nil {
		w.errorMessage(op, e)
		return
	}
	sh, _ := r.ItemShape.shape(false)

	mb.mu.RLock()
	defer mb.mu.RUnlock()
	var from uint32
	if r.SyncState != "" {
		st, ok := decodeSyncState(tagSync, r.SyncState)
		if !ok || st.mbx != mb.idx || st.folder != f.idx || st.epoch != f.epoch || st.seq > mb.seq {
			w.errorMessage(op, errInvalidSyncState)
			return
		}
		from = st.seq
	}
	var ignore map[uint32]bool
	for _, ref := range r.Ignore.Refs {
		if m, idx, ok := decodeID(tagItem, ref.ID); ok && m == mb.idx {
			if ignore == nil {
				ignore = make(map[uint32]bool)
			}
			ignore[idx] = true
		}
	}
	page, next, last := syncPage(f.log, from, r.MaxChangesReturned)
	state := syncState{tag: tagSync, mbx: mb.idx, folder: f.idx, seq: next, epoch: f.epoch}

	w.msgStart(op, nil)
	w.el("m:SyncState", state.encode())
	w.elBool("m:IncludesLastItemInRange", last)
	w.raw("<m:Changes>")
	for _, p := range page {
		if ignore[p.idx] {
			continue
		}
		in := mb.items[p.idx]
		known := in.created <= from
		switch {
		case in.deleted:
			if known {
				w.raw("<t:Delete>")
				w.id("t:ItemId", itemID(mb.idx, p.idx), changeKey(p.idx, in.version))
				w.raw("</t:Delete>")
			}
		case !known:
			w.raw("<t:Create>")
			w.item(mb, p.idx, sh)
			w.raw("</t:Create>")
		case !p.nonRead:
			w.raw("<t:ReadFlagChange>")
			w.id("t:ItemId", itemID(mb.idx, p.idx), changeKey(p.idx, in.version))
			w.elBool("t:IsRead", in.IsRead)
			w.raw("</t:ReadFlagChange>")
		default:
			w.raw("<t:Update>")
			w.item(mb, p.idx, sh)
			w.raw("</t:Update>")
		}
	}
	w.raw("</m:Changes>")
	w.msgEnd(op)
}

// --- SyncFolderHierarchy ---

type syncHierarchyReq struct {
	FolderShape  shapeXML    `xml:"FolderShape"`
	SyncFolderID *folderRefs `xml:"SyncFolderId"`
	SyncState    string      `xml:"SyncState"`
}

func (r *syncHierarchyReq) validate() *ewsError {
	if r.SyncFolderID != nil && len(r.SyncFolderID.Refs) != 1 {
		return errSchema("SyncFolderId must hold exactly one folder id")
	}
	_, e := r.FolderShape.shape(false)
	return e
}

func (r *syncHierarchyReq) targetMailbox(s *Sim) string {
	if r.SyncFolderID == nil {
		return ""
	}
	return r.SyncFolderID.targetMailbox(s)
}

func (r *syncHierarchyReq) run(c *call) {
	const op = "SyncFolderHierarchy"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)

	mb, e := c.defaultMailbox()
	var top string = "msgfolderroot"
	var topID uint32
	byID := false
	if r.SyncFolderID != nil {
		ref := r.SyncFolderID.Refs[0]
		if ref.distinguished() {
			top = ref.ID
			if ref.Mailbox != nil && ref.Mailbox.EmailAddress != "" {
				m, ok := c.s.mailbox(ref.Mailbox.EmailAddress)
				if !ok {
					mb, e = nil, errNoMailbox
				} else {
					mb, e = m, nil
				}
			}
		} else {
			m, idx, ok := decodeID(tagFolder, ref.ID)
			if !ok {
				w.errorMessage(op, errIDMalformed)
				return
			}
			if mb, ok = c.s.mailboxByIdx(m); !ok {
				w.errorMessage(op, errFolderNotFound)
				return
			}
			e, byID, topID = nil, true, idx
		}
	}
	if e != nil {
		w.errorMessage(op, e)
		return
	}
	// Any grant in the mailbox lets the caller see its folder tree; reading
	// a folder's items still needs a grant on that folder (seed 000: new
	// folders appear but are unreadable until shared).
	if !c.accessTo(mb).any() {
		w.errorMessage(op, errAccessDenied)
		return
	}
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	if !byID {
		f, ok := mb.folderByName(top)
		if !ok {
			w.errorMessage(op, errFolderNotFound)
			return
		}
		topID = f.idx
	} else if _, ok := mb.folder(topID); !ok {
		w.errorMessage(op, errFolderNotFound)
		return
	}
	var from uint32
	if r.SyncState != "" {
		st, ok := decodeSyncState(tagHierarchy, r.SyncState)
		if !ok || st.mbx != mb.idx || st.folder != topID || st.epoch != mb.epoch || st.seq > mb.seq {
			w.errorMessage(op, errInvalidSyncState)
			return
		}
		from = st.seq
	}
	sh, _ := r.FolderShape.shape(false)
	page, next, _ := syncPage(mb.hier, from, len(mb.hier)+1)
	state := syncState{tag: tagHierarchy, mbx: mb.idx, folder: topID, seq: next, epoch: mb.epoch}

	w.msgStart(op, nil)
	w.el("m:SyncState", state.encode())
	w.elBool("m:IncludesLastFolderInRange", true)
	w.raw("<m:Changes>")
	for _, p := range page {
		f := mb.folders[p.idx]
		if !mb.under(f, topID) {
			continue
		}
		known := f.created <= from
		switch {
		case f.deleted:
			if known {
				w.raw("<t:Delete>")
				w.id("t:FolderId", folderID(mb.idx, f.idx), changeKey(f.idx, f.version))
				w.raw("</t:Delete>")
			}
		case !known:
			w.raw("<t:Create>")
			w.folder(mb, f, sh.idOnly)
			w.raw("</t:Create>")
		default:
			w.raw("<t:Update>")
			w.folder(mb, f, sh.idOnly)
			w.raw("</t:Update>")
		}
	}
	w.raw("</m:Changes>")
	w.msgEnd(op)
}

// under reports whether f is a strict descendant of top.
func (mb *mailbox) under(f *folder, top uint32) bool {
	for f.hasParent {
		if f.parent == top {
			return true
		}
		f = mb.folders[f.parent]
	}
	return false
}
