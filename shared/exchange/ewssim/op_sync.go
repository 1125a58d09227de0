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

// syncPage walks a change log after seq and returns up to max indexes
// whose latest change (latest(idx) == the entry's seq) lies there, in the
// order of those changes, so each item appears once however often it
// changed. It also returns the seq the next page starts after and whether
// the log was exhausted.
func syncPage(log []logEntry, seq uint32, max int, latest func(idx uint32) uint32) ([]uint32, uint32, bool) {
	start := sort.Search(len(log), func(i int) bool { return log[i].seq > seq })
	page := make([]uint32, 0, min(max, len(log)-start))
	end := start
	for ; end < len(log); end++ {
		e := log[end]
		if latest(e.idx) != e.seq {
			continue // superseded by a later change of the same item
		}
		if len(page) == max {
			break
		}
		page = append(page, e.idx)
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
	var from, base uint32
	start := mb.seq // a new round of pages begins now
	if r.SyncState != "" {
		st, ok := decodeSyncState(tagSync, r.SyncState)
		if !ok || st.mbx != mb.idx || st.folder != f.idx || st.epoch != f.epoch || st.seq > mb.seq || st.start > mb.seq {
			w.errorMessage(op, errInvalidSyncState)
			return
		}
		from, base = st.seq, st.base
		if st.base != st.seq { // the round goes on
			start = st.start
		}
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
	page, next, last := syncPage(f.log, from, r.MaxChangesReturned, func(idx uint32) uint32 { return mb.items[idx].last })
	state := syncState{tag: tagSync, mbx: mb.idx, folder: f.idx, seq: next, base: base, epoch: f.epoch, start: start}
	if last {
		state.base = next // the client now has the whole folder
	}

	w.msgStart(op, nil)
	w.el("m:SyncState", state.encode())
	w.elBool("m:IncludesLastItemInRange", last)
	w.raw("<m:Changes>")
	// Whether the client has an item is judged against base, where it last
	// had the whole folder: an item created later is new to it even if an
	// earlier page of this round passed its creation.
	for _, idx := range page {
		if ignore[idx] {
			continue
		}
		in := mb.items[idx]
		known := in.created <= base
		switch {
		case in.deleted:
			// A delete is owed for anything the client may hold: what it
			// had at base, and what this round may already have sent
			// (created at or before the cursor, and still there when the
			// round began). An item created and deleted after the cursor,
			// or deleted before the round began, was never sent in it, so
			// it is left out: a first sync has no Delete for an item
			// deleted before it, as in Exchange.
			if in.created <= base || (in.created <= from && in.last > start) {
				w.raw("<t:Delete>")
				w.ref("t:ItemId", tagItem, mb.idx, idx, in.version)
				w.raw("</t:Delete>")
			}
		case !known:
			w.raw("<t:Create>")
			w.item(mb, idx, sh)
			w.raw("</t:Create>")
		case in.lastContent <= base:
			w.raw("<t:ReadFlagChange>")
			w.ref("t:ItemId", tagItem, mb.idx, idx, in.version)
			w.elBool("t:IsRead", in.IsRead)
			w.raw("</t:ReadFlagChange>")
		default:
			w.raw("<t:Update>")
			w.item(mb, idx, sh)
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
	// a folder's items still needs a grant on that folder (new
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
	page, next, _ := syncPage(mb.hier, from, len(mb.hier)+1, func(idx uint32) uint32 { return mb.folders[idx].last })
	state := syncState{tag: tagHierarchy, mbx: mb.idx, folder: topID, seq: next, base: next, epoch: mb.epoch}

	w.msgStart(op, nil)
	w.el("m:SyncState", state.encode())
	w.elBool("m:IncludesLastFolderInRange", true)
	w.raw("<m:Changes>")
	for _, idx := range page {
		f := mb.folders[idx]
		if !mb.under(f, topID) {
			continue
		}
		known := f.created <= from
		switch {
		case f.deleted:
			if known {
				w.raw("<t:Delete>")
				w.ref("t:FolderId", tagFolder, mb.idx, f.idx, f.version)
				w.raw("</t:Delete>")
			}
		case !known:
			w.raw("<t:Create>")
			w.folder(mb, f, sh)
			w.raw("</t:Create>")
		default:
			w.raw("<t:Update>")
			w.folder(mb, f, sh)
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
