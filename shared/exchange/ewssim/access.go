package ewssim

// access is what the caller may read in one mailbox.
type access struct {
	full    bool
	folders map[uint32]bool // folder-level delegate grants
}

func (a access) canRead(folder uint32) bool { return a.full || a.folders[folder] }

func (a access) any() bool { return a.full || len(a.folders) > 0 }

// accessTo reports the caller's rights in mb: full for the impersonated
// mailbox and the account's own mailbox, else its delegate grants.
// Impersonating one user gives no rights in another's mailbox.
func (c *call) accessTo(mb *mailbox) access {
	if c.imp != nil {
		return access{full: c.imp == mb}
	}
	if c.acct.Mailbox == mb.addr {
		return access{full: true}
	}
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	g := c.acct.delegates[mb.addr]
	if g == nil {
		return access{}
	}
	if g.full {
		return access{full: true}
	}
	folders := make(map[uint32]bool, len(g.folders))
	for f := range g.folders {
		folders[f] = true
	}
	return access{folders: folders}
}

// defaultMailbox is the mailbox a request means when it names none.
func (c *call) defaultMailbox() (*mailbox, *ewsError) {
	if c.imp != nil {
		return c.imp, nil
	}
	if c.acct.Mailbox != "" {
		if mb, ok := c.s.mailbox(c.acct.Mailbox); ok {
			return mb, nil
		}
	}
	return nil, errNoMailbox
}

// resolveFolder finds the mailbox and folder a FolderId or
// DistinguishedFolderId names and checks that the caller may read it.
func (c *call) resolveFolder(ref folderRef) (*mailbox, *folder, *ewsError) {
	var mb *mailbox
	var fidx uint32
	if ref.distinguished() {
		if ref.Mailbox != nil && ref.Mailbox.EmailAddress != "" {
			m, ok := c.s.mailbox(ref.Mailbox.EmailAddress)
			if !ok {
				return nil, nil, errNoMailbox
			}
			mb = m
		} else {
			m, e := c.defaultMailbox()
			if e != nil {
				return nil, nil, e
			}
			mb = m
		}
		mb.mu.RLock()
		f, ok := mb.folderByName(ref.ID)
		mb.mu.RUnlock()
		if !ok {
			return nil, nil, errFolderNotFound
		}
		fidx = f.idx
	} else {
		m, idx, ok := decodeID(tagFolder, ref.ID)
		if !ok {
			return nil, nil, errIDMalformed
		}
		if mb, ok = c.s.mailboxByIdx(m); !ok {
			return nil, nil, errFolderNotFound
		}
		fidx = idx
	}
	acc := c.accessTo(mb)
	if !acc.any() {
		return nil, nil, errAccessDenied
	}
	mb.mu.RLock()
	f, ok := mb.folder(fidx)
	mb.mu.RUnlock()
	if !ok {
		return nil, nil, errFolderNotFound
	}
	if !acc.canRead(fidx) {
		return nil, nil, errAccessDenied
	}
	return mb, f, nil
}

// resolveItem finds the mailbox and index of an item id, checking access
// to its folder. The item may have been deleted since; callers re-check
// under the mailbox lock.
func (c *call) resolveItem(id string) (*mailbox, uint32, *ewsError) {
	m, idx, ok := decodeID(tagItem, id)
	if !ok {
		return nil, 0, errIDMalformed
	}
	mb, ok := c.s.mailboxByIdx(m)
	if !ok {
		return nil, 0, errItemNotFound
	}
	acc := c.accessTo(mb)
	if !acc.any() {
		return nil, 0, errAccessDenied
	}
	mb.mu.RLock()
	in, ok := mb.item(idx)
	var f uint32
	if ok {
		f = in.folder
	}
	mb.mu.RUnlock()
	if !ok {
		return nil, 0, errItemNotFound
	}
	if !acc.canRead(f) {
		return nil, 0, errAccessDenied
	}
	return mb, idx, nil
}
