package graphsim

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// Delta and skip tokens are opaque to clients: a checksummed position in
// ewssim's change log (the same position an EWS SyncState holds) plus
// what the first request of the round fixed: the mailbox, the
// collection, $select and, for calendarView, the window.
// InvalidateSyncStates bumps the epoch the cursor carries, so such tokens
// then answer 410 Gone.

type deltaKind byte

const (
	kindMessages       deltaKind = 'm'
	kindEvents         deltaKind = 'e'
	kindContacts       deltaKind = 'c'
	kindMailFolders    deltaKind = 'F'
	kindContactFolders deltaKind = 'C'
)

type deltaToken struct {
	kind       deltaKind
	cur        ewssim.Cursor
	start, end int64 // calendarView window, Unix seconds
	mailbox    string
	sel        string
	expand     string // $expand (messages), kept in the links as Graph does
}

const tokenMagic = 'g'

func (t deltaToken) encode() string {
	cur, _ := t.cur.MarshalBinary()
	b := make([]byte, 0, 64+len(t.mailbox)+len(t.sel))
	b = append(b, tokenMagic, byte(t.kind))
	b = append(b, cur...)
	b = binary.BigEndian.AppendUint64(b, uint64(t.start))
	b = binary.BigEndian.AppendUint64(b, uint64(t.end))
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.mailbox)))
	b = append(b, t.mailbox...)
	b = append(b, t.sel...)
	b = append(b, 0)
	b = append(b, t.expand...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadToken = errors.New("graphsim: bad delta token")

func decodeToken(s string) (deltaToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	const fixed = 2 + 24 + 16 + 2
	if err != nil || len(b) < fixed+4 || b[0] != tokenMagic {
		return deltaToken{}, errBadToken
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return deltaToken{}, errBadToken
	}
	t := deltaToken{kind: deltaKind(body[1])}
	if err := t.cur.UnmarshalBinary(body[2:26]); err != nil {
		return deltaToken{}, errBadToken
	}
	t.start = int64(binary.BigEndian.Uint64(body[26:]))
	t.end = int64(binary.BigEndian.Uint64(body[34:]))
	n := int(binary.BigEndian.Uint16(body[42:]))
	if len(body) < fixed+n {
		return deltaToken{}, errBadToken
	}
	t.mailbox = string(body[fixed : fixed+n])
	rest := string(body[fixed+n:])
	sel, expand, ok := strings.Cut(rest, "\x00")
	if !ok {
		return deltaToken{}, errBadToken
	}
	t.sel, t.expand = sel, expand
	return t, nil
}

// preferences parses Prefer headers: odata.maxpagesize and
// outlook.timezone.
type preferences struct {
	maxPageSize int
	timeZone    string
	bodyType    string // outlook.body-content-type: text or html
}

func parsePrefer(h http.Header) preferences {
	var p preferences
	for _, line := range h.Values("Prefer") {
		for _, part := range strings.Split(line, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			v = strings.Trim(strings.TrimSpace(v), `"`)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "odata.maxpagesize":
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					p.maxPageSize = n
				}
			case "outlook.timezone":
				p.timeZone = v
			case "outlook.body-content-type":
				p.bodyType = strings.ToLower(v)
			}
		}
	}
	return p
}

func (c *call) pageSize() int {
	p := parsePrefer(c.r.Header)
	if p.maxPageSize == 0 {
		return c.s.opts.MaxPageSize
	}
	n := min(p.maxPageSize, maxPageSizeLimit)
	c.w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(n))
	return n
}

// origin is scheme://host of the request.
func (c *call) origin() string { return strings.TrimSuffix(c.base, "/v1.0") }

func (c *call) link(param, token string) string {
	return c.origin() + c.r.URL.Path + "?" + param + "=" + token
}

// gone answers 410 for a stale or unknown token, with the initial query
// in Location as Graph does.
func (c *call) gone() {
	c.w.Header().Set("Location", c.origin()+c.r.URL.Path)
	c.fail(http.StatusGone, "syncStateNotFound", "The sync state was not found or has expired. Start a new synchronization without a delta or skip token.")
}

// deltaRequest is what a delta request resolved to: the token of the
// round (fresh for a first request) and its $select.
func (c *call) deltaRequest(kind deltaKind, typeName string, known obj) (deltaToken, selection, bool) {
	tok, sel, _, ok := c.deltaRequestExpand(kind, typeName, known)
	return tok, sel, ok
}

// deltaRequestExpand is deltaRequest with the $expand of a messages delta
// (singleValueExtendedProperties); another kind refuses an $expand.
func (c *call) deltaRequestExpand(kind deltaKind, typeName string, known obj) (deltaToken, selection, expansion, bool) {
	q := c.r.URL.Query()
	raw := q.Get("$deltatoken")
	if raw == "" {
		raw = q.Get("$skiptoken")
	}
	var tok deltaToken
	if raw != "" {
		t, err := decodeToken(raw)
		if err != nil || t.kind != kind || t.mailbox != c.mb.Address {
			c.gone()
			return deltaToken{}, nil, expansion{}, false
		}
		tok = t
	} else {
		tok = deltaToken{kind: kind, mailbox: c.mb.Address, sel: q.Get("$select"), expand: q.Get("$expand")}
		if strings.ContainsRune(tok.sel+tok.expand, 0) {
			c.failWith(&apiError{http.StatusBadRequest, "BadRequest", "Invalid query."})
			return deltaToken{}, nil, expansion{}, false
		}
	}
	sel, e := parseSelect(tok.sel, typeName, known)
	if e != nil {
		c.failWith(e)
		return deltaToken{}, nil, expansion{}, false
	}
	var x expansion
	if tok.expand != "" {
		if kind != kindMessages {
			c.failWith(&apiError{http.StatusBadRequest, "BadRequest", "Parsing OData Select and Expand failed: $expand is not supported on this delta."})
			return deltaToken{}, nil, expansion{}, false
		}
		if x, e = parseExpand(tok.expand, false); e != nil {
			c.failWith(e)
			return deltaToken{}, nil, expansion{}, false
		}
	}
	return tok, sel, x, true
}

func (c *call) deltaAnswer(collection string, tok deltaToken, done bool, value []obj) {
	out := obj{{"@odata.context", c.base + "/$metadata#Collection(" + collection + ")"}}
	if done {
		out = append(out, kv{"@odata.deltaLink", c.link("$deltatoken", tok.encode())})
	} else {
		out = append(out, kv{"@odata.nextLink", c.link("$skiptoken", tok.encode())})
	}
	if value == nil {
		value = []obj{}
	}
	out = append(out, kv{"value", value})
	c.json(http.StatusOK, out)
}

func removed(typeName, id string) obj {
	return obj{{"@odata.type", "#" + typeName}, {"id", id}, {"@removed", obj{{"reason", "deleted"}}}}
}

func withType(typeName string, o obj) obj {
	return append(obj{{"@odata.type", "#" + typeName}}, o...)
}

// itemDelta serves messages, contacts and calendarView delta over one
// folder. keep filters the items (calendarView's window); an item it
// drops in an incremental round is reported removed, as it may have left
// the window.
func (c *call) itemDelta(kind deltaKind, folder, typeName, collection string, render func(ewssim.ItemView) obj, sample obj, keep func(deltaToken, ewssim.ItemView) bool, window func(*deltaToken) bool) {
	tok, sel, x, ok := c.deltaRequestExpand(kind, typeName, sample)
	if !ok {
		return
	}
	if window != nil && !window(&tok) {
		return
	}
	d, err := c.s.sim.ItemChanges(c.mb.Address, folder, tok.cur, c.pageSize())
	switch {
	case errors.Is(err, ewssim.ErrSyncStateInvalid):
		c.gone()
		return
	case err != nil:
		c.failWith(errFolderNotFound)
		return
	}
	incremental := tok.cur.Started && tok.cur.Base > 0
	value := make([]obj, 0, len(d.Changes))
	for _, ch := range d.Changes {
		switch {
		case ch.Removed:
			value = append(value, removed(typeName, ch.ImmutableID))
		case keep != nil && !keep(tok, ch.ItemView):
			if incremental {
				value = append(value, removed(typeName, ch.ImmutableID))
			}
		default:
			o := sel.apply(render(ch.ItemView))
			if x.extended {
				o = append(o, kv{"singleValueExtendedProperties", extendedJSON(ch.Item, x.want)})
			}
			value = append(value, withType(typeName, o))
		}
	}
	tok.cur = d.Next
	c.deltaAnswer(collection, tok, d.Done, value)
}

var errFolderNotFound = &apiError{http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store."}

// folderDelta serves mailFolders and contactFolders delta: the folders
// under the message folder root that keep accepts, flat.
func (c *call) folderDelta(kind deltaKind, typeName, collection string, render func(ewssim.FolderView) obj, keep func(ewssim.FolderView) bool) {
	tok, sel, ok := c.deltaRequest(kind, typeName, render(ewssim.FolderView{}))
	if !ok {
		return
	}
	d, err := c.s.sim.HierarchyChanges(c.mb.Address, tok.cur, c.pageSize())
	switch {
	case errors.Is(err, ewssim.ErrSyncStateInvalid):
		c.gone()
		return
	case err != nil:
		c.failWith(errFolderNotFound)
		return
	}
	value := make([]obj, 0, len(d.Changes))
	for _, ch := range d.Changes {
		if !keep(ch.FolderView) {
			continue
		}
		if ch.Removed {
			value = append(value, removed(typeName, ewssim.RestID(ch.ID)))
			continue
		}
		value = append(value, withType(typeName, sel.apply(render(ch.FolderView))))
	}
	tok.cur = d.Next
	c.deltaAnswer(collection, tok, d.Done, value)
}

func isMailFolder(f ewssim.FolderView) bool {
	return f.Class == "" || strings.HasPrefix(f.Class, "IPF.Note")
}

// Graph lists the default Contacts folder as /contacts, not among the
// contact folders.
func isContactFolder(f ewssim.FolderView) bool {
	return strings.HasPrefix(f.Class, "IPF.Contact") && f.Distinguished != "contacts"
}

// --- handlers ---

// wellKnownMail are the mail folder names Graph accepts in place of ids.
var wellKnownMail = map[string]string{
	"inbox": "inbox", "drafts": "drafts", "sentitems": "sentitems", "deleteditems": "deleteditems",
	"outbox": "outbox", "junkemail": "junkemail", "msgfolderroot": "msgfolderroot",
}

// folderRef turns a {folder} path value into what ewssim resolves: a
// well-known name or an EWS folder id.
func folderRef(v string, wellKnown map[string]string) string {
	if n, ok := wellKnown[strings.ToLower(v)]; ok {
		return n
	}
	return ewssim.EWSFromRestID(v)
}

// mailFolder resolves {folder} to a mail folder of the mailbox.
func (c *call) mailFolder() (ewssim.FolderView, bool) {
	f, err := c.s.sim.Folder(c.mb.Address, folderRef(c.r.PathValue("folder"), wellKnownMail))
	if err != nil || !isMailFolder(f) {
		c.fail(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return ewssim.FolderView{}, false
	}
	return f, true
}

func (s *Server) mailFoldersDelta(c *call) {
	c.folderDelta(kindMailFolders, typeMailFolder, "mailFolder", mailFolderJSON, isMailFolder)
}

func (s *Server) contactFoldersDelta(c *call) {
	c.folderDelta(kindContactFolders, typeContactFolder, "contactFolder", contactFolderJSON, isContactFolder)
}

func (s *Server) getMailFolder(c *call) {
	f, ok := c.mailFolder()
	if !ok {
		return
	}
	sel, e := parseSelect(c.r.URL.Query().Get("$select"), typeMailFolder, mailFolderJSON(f))
	if e != nil {
		c.failWith(e)
		return
	}
	c.json(http.StatusOK, append(obj{{"@odata.context", c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/mailFolders/$entity"}}, sel.apply(mailFolderJSON(f))...))
}

func (s *Server) messagesDelta(c *call) {
	f, ok := c.mailFolder()
	if !ok {
		return
	}
	c.itemDelta(kindMessages, f.ID, typeMessage, "message", c.messageRender(), messageJSON(ewssim.ItemView{}, false), nil, nil)
}

func (s *Server) contactsDelta(c *call) {
	folder := "contacts"
	if v := c.r.PathValue("folder"); v != "" {
		f, err := c.s.sim.Folder(c.mb.Address, folderRef(v, map[string]string{"contacts": "contacts"}))
		if err != nil || !strings.HasPrefix(f.Class, "IPF.Contact") {
			c.failWith(errFolderNotFound)
			return
		}
		folder = f.ID
	}
	c.itemDelta(kindContacts, folder, typeContact, "contact", contactJSON, contactJSON(ewssim.ItemView{}), nil, nil)
}

// parseGraphTime reads startDateTime/endDateTime: ISO 8601 with or
// without an offset (then UTC).
func parseGraphTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (s *Server) eventsDelta(c *call) {
	loc, zone, ok := c.outputZone()
	if !ok {
		return
	}
	render := c.eventRender(loc, zone)
	window := func(t *deltaToken) bool {
		if t.cur.Started {
			return true // the token holds the window
		}
		q := c.r.URL.Query()
		start, ok1 := parseGraphTime(q.Get("startDateTime"))
		end, ok2 := parseGraphTime(q.Get("endDateTime"))
		if !ok1 || !ok2 {
			c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
			return false
		}
		if !end.After(start) {
			c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "The value of the parameter 'EndDateTime' must be later than 'StartDateTime'.")
			return false
		}
		t.start, t.end = start.Unix(), end.Unix()
		return true
	}
	keep := func(t deltaToken, v ewssim.ItemView) bool {
		return v.Start.Before(time.Unix(t.end, 0)) && v.End.After(time.Unix(t.start, 0))
	}
	c.itemDelta(kindEvents, "calendar", typeEvent, "event", render, eventJSON(ewssim.ItemView{}, time.UTC, "UTC", ""), keep, window)
}
