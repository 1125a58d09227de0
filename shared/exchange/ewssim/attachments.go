package ewssim

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"time"
)

// This file is what the simulator keeps of messages' content, as Exchange
// serves it: attachments (item:Attachments, GetAttachment,
// CreateAttachment), MimeContent (only when asked for by name:
// IncludeMimeContent or item:MimeContent; no base shape includes it), and
// message creation (CreateItem of a Message, saved as a draft).

// Attachment is one attachment of an item, with its content.
type Attachment struct {
	Name        string
	ContentType string
	ContentID   string
	// Content is a file's bytes, or an item attachment's MIME.
	Content  []byte
	IsInline bool
	// IsItem: an attached item (ItemAttachment, a message), whose
	// Content is its MIME.
	IsItem bool
}

// MaxAttachments bounds the attachments of one simulated item.
const MaxAttachments = 255

const tagAttachment = 'A'

// attachmentID names attachment n of the item whose first incarnation is
// origin: it survives moves, as Exchange's does, and is 16 bytes of base64
// like an occurrence id.
func attachmentID(mbx, origin uint32, n int) string {
	return encodeID3(tagAttachment, mbx, origin, uint32(n))
}

func decodeAttachmentID(s string) (mbx, origin uint32, n int, ok bool) {
	mbx, origin, k, ok := decodeID3(tagAttachment, s)
	return mbx, origin, int(k), ok
}

// attachmentLocked finds a live attachment by id; the caller holds mb's lock.
func (mb *mailbox) attachmentLocked(origin uint32, n int) (*item, Attachment, bool) {
	idx, ok := mb.currentLocked(origin)
	if !ok {
		return nil, Attachment{}, false
	}
	in := mb.items[idx]
	if n < 0 || n >= len(in.Attachments) {
		return nil, Attachment{}, false
	}
	return in, in.Attachments[n], true
}

func (a Attachment) element() string {
	if a.IsItem {
		return "t:ItemAttachment"
	}
	return "t:FileAttachment"
}

func (a Attachment) contentType() string {
	switch {
	case a.IsItem:
		return "message/rfc822"
	case a.ContentType == "":
		return "application/octet-stream"
	}
	return a.ContentType
}

// attachmentList writes item:Attachments: each attachment's metadata
// (Size, LastModifiedTime and IsInline are Exchange 2010's additions,
// which the simulator, an Exchange 2016, always has).
func (w *xw) attachmentList(mb *mailbox, in *item) {
	w.raw("<t:Attachments>")
	for i, a := range in.Attachments {
		w.attachmentStart(mb, in, i, a)
		if !a.IsItem {
			w.elBool("t:IsContactPhoto", false)
		}
		w.raw("</" + a.element() + ">")
	}
	w.raw("</t:Attachments>")
}

func (w *xw) attachmentStart(mb *mailbox, in *item, i int, a Attachment) {
	w.raw("<" + a.element() + ">")
	w.id("t:AttachmentId", attachmentID(mb.idx, in.origin, i), "")
	w.el("t:Name", a.Name)
	w.el("t:ContentType", a.contentType())
	if a.ContentID != "" {
		w.el("t:ContentId", a.ContentID)
	}
	w.elInt("t:Size", len(a.Content))
	w.elTime("t:LastModifiedTime", in.modified)
	w.elBool("t:IsInline", a.IsInline)
}

// mimeContent writes MimeContent: the message's MIME, base64, with its
// character set, as Exchange does.
func (w *xw) mimeContent(mb *mailbox, in *item) {
	w.raw(`<t:MimeContent CharacterSet="UTF-8">`)
	w.raw(base64.StdEncoding.EncodeToString(mimeOf(mb, in)))
	w.raw("</t:MimeContent>")
}

// mimeOf is the item's MIME: as a client gave it, or made from its fields
// (a text body, and a multipart/mixed with each attachment when it has
// any).
func mimeOf(mb *mailbox, in *item) []byte {
	if len(in.MIME) > 0 {
		return in.MIME
	}
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	addr := func(a Address) string {
		if a.Name == "" {
			return "<" + a.Email + ">"
		}
		return mime.QEncoding.Encode("utf-8", a.Name) + " <" + a.Email + ">"
	}
	from := in.From
	if in.Kind != KindMessage || from.Email == "" {
		from = Address{Name: mb.name, Email: mb.addr}
	}
	hdr("From", addr(from))
	if len(in.To) > 0 {
		to := make([]string, len(in.To))
		for i, a := range in.To {
			to[i] = addr(a)
		}
		hdr("To", strings.Join(to, ", "))
	}
	hdr("Subject", mime.QEncoding.Encode("utf-8", in.Subject))
	date := in.Received
	if date.IsZero() {
		date = in.modified
	}
	hdr("Date", date.UTC().Format(time.RFC1123Z))
	if in.InternetMessageID != "" {
		hdr("Message-ID", in.InternetMessageID)
	}
	hdr("MIME-Version", "1.0")
	if len(in.Attachments) == 0 {
		hdr("Content-Type", `text/plain; charset="utf-8"`)
		hdr("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, in.Body)
		return b.Bytes()
	}
	mw := multipart.NewWriter(&b)
	// The same version of a message has the same MIME, as in Exchange.
	_ = mw.SetBoundary(fmt.Sprintf("_000_sim%d_%d_%d_", mb.idx, in.origin, in.version))
	hdr("Content-Type", `multipart/mixed; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	part, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {`text/plain; charset="utf-8"`}, "Content-Transfer-Encoding": {"quoted-printable"}})
	writeQP(part, in.Body)
	for _, a := range in.Attachments {
		disp := "attachment"
		if a.IsInline {
			disp = "inline"
		}
		h := textproto.MIMEHeader{
			"Content-Type":        {a.contentType()},
			"Content-Disposition": {mime.FormatMediaType(disp, map[string]string{"filename": a.Name})},
		}
		if a.ContentID != "" {
			h["Content-ID"] = []string{"<" + a.ContentID + ">"} // RFC 2045 spelling, not textproto's canonical one
		}
		if a.IsItem {
			p, _ := mw.CreatePart(h)
			p.Write(a.Content)
			continue
		}
		h.Set("Content-Transfer-Encoding", "base64")
		p, _ := mw.CreatePart(h)
		enc := base64.StdEncoding.EncodeToString(a.Content)
		for len(enc) > 76 {
			fmt.Fprintf(p, "%s\r\n", enc[:76])
			enc = enc[76:]
		}
		fmt.Fprintf(p, "%s\r\n", enc)
	}
	mw.Close()
	return b.Bytes()
}

// writeQP writes s quoted-printable.
func writeQP(w io.Writer, s string) {
	qw := quotedprintable.NewWriter(w)
	qw.Write([]byte(s))
	qw.Close()
}

// --- the Go API (tests, the generator, graphsim) ---

// AddAttachment adds an attachment to an item (a new version, as
// CreateAttachment makes) and returns its id. A non-inline attachment
// sets HasAttachments.
func (s *Sim) AddAttachment(itemID string, a Attachment) (string, error) {
	mb, idx, err := s.lockItem(EWSFromRestID(itemID))
	if err != nil {
		return "", err
	}
	defer mb.mu.Unlock()
	id, e := mb.addAttachmentLocked(idx, a, s.clock.Now())
	if e != nil {
		return "", e
	}
	return id, nil
}

func (mb *mailbox) addAttachmentLocked(idx uint32, a Attachment, now time.Time) (string, *ewsError) {
	in := mb.items[idx]
	if len(in.Attachments) >= MaxAttachments {
		return "", errInvalidRequest(fmt.Sprintf("an item holds at most %d attachments in the simulator", MaxAttachments))
	}
	it := in.content().clone()
	it.Attachments = append(it.Attachments, a)
	it.MIME = nil // the MIME is made again, with the attachment
	if !a.IsInline {
		it.HasAttachments = true
	}
	in.setContent(it)
	mb.touchLocked(idx, false, now)
	return attachmentID(mb.idx, in.origin, len(in.Attachments)-1), nil
}

// AttachmentView is an attachment as the Graph view shows it.
type AttachmentView struct {
	Attachment
	// ID is the EWS attachment id; Graph serves RestID(ID).
	ID       string
	Modified time.Time
}

// Attachments lists an item's attachments (its EWS id, restId or Graph
// immutable id).
func (s *Sim) Attachments(itemID string) ([]AttachmentView, error) {
	mb, idx, err := s.readItem(itemID)
	if err != nil {
		return nil, err
	}
	defer mb.mu.RUnlock()
	in := mb.items[idx]
	out := make([]AttachmentView, len(in.Attachments))
	for i, a := range in.Attachments {
		out[i] = AttachmentView{Attachment: a, ID: attachmentID(mb.idx, in.origin, i), Modified: in.modified}
	}
	return out, nil
}

// AttachmentOf returns one attachment of an item by its id (EWS or
// restId); ErrNotFound when the item has no such attachment.
func (s *Sim) AttachmentOf(itemID, attachmentID string) (AttachmentView, error) {
	all, err := s.Attachments(itemID)
	if err != nil {
		return AttachmentView{}, err
	}
	want := EWSFromRestID(attachmentID)
	for _, a := range all {
		if a.ID == want {
			return a, nil
		}
	}
	return AttachmentView{}, fmt.Errorf("%w: attachment %s", ErrNotFound, attachmentID)
}

// MIMEOf returns an item's MIME content.
func (s *Sim) MIMEOf(itemID string) ([]byte, error) {
	mb, idx, err := s.readItem(itemID)
	if err != nil {
		return nil, err
	}
	defer mb.mu.RUnlock()
	return bytes.Clone(mimeOf(mb, mb.items[idx])), nil
}

// readItem finds a live item by EWS id, restId or Graph immutable id and
// returns with its mailbox read-locked.
func (s *Sim) readItem(id string) (*mailbox, uint32, error) {
	if _, _, ok := decodeID(tagImmutable, EWSFromRestID(id)); ok {
		return s.resolveImmutable(id)
	}
	m, idx, ok := decodeID(tagItem, EWSFromRestID(id))
	if !ok {
		return nil, 0, fmt.Errorf("%w: malformed item id", ErrNotFound)
	}
	mb, ok := s.mailboxByIdx(m)
	if !ok {
		return nil, 0, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	mb.mu.RLock()
	if _, ok := mb.item(idx); !ok {
		mb.mu.RUnlock()
		return nil, 0, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	return mb, idx, nil
}

// CreateDraft saves a message in the mailbox's Drafts folder (as a
// client's CreateItem with MessageDisposition SaveOnly, or Graph's POST
// /messages) and returns its ref.
func (s *Sim) CreateDraft(address string, it Item) (ItemRef, error) {
	it.Kind, it.IsDraft = KindMessage, true
	return s.AddItem(address, "drafts", it)
}

// --- GetAttachment ---

type getAttachmentReq struct {
	Shape struct {
		IncludeMimeContent bool `xml:"IncludeMimeContent"`
	} `xml:"AttachmentShape"`
	IDs []struct {
		ID string `xml:"Id,attr"`
	} `xml:"AttachmentIds>AttachmentId"`
}

func (r *getAttachmentReq) validate() *ewsError {
	if len(r.IDs) == 0 {
		return errSchema("AttachmentIds must hold at least one attachment id")
	}
	return nil
}

func (r *getAttachmentReq) targetMailbox(s *Sim) string {
	if m, _, _, ok := decodeAttachmentID(r.IDs[0].ID); ok {
		return s.mailboxName(m)
	}
	return ""
}

var errAttachmentNotFound = ewsErr("ErrorItemNotFound", "The specified object was not found in the store.")

func (r *getAttachmentReq) run(c *call) {
	const op = "GetAttachment"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	for _, ref := range r.IDs {
		m, origin, n, ok := decodeAttachmentID(ref.ID)
		if !ok {
			w.attachmentsError(op, errIDMalformed)
			continue
		}
		mb, ok := c.s.mailboxByIdx(m)
		if !ok {
			w.attachmentsError(op, errAttachmentNotFound)
			continue
		}
		acc := c.accessTo(mb)
		mb.mu.RLock()
		in, a, ok := mb.attachmentLocked(origin, n)
		switch {
		case !acc.any() || (ok && !acc.canRead(in.folder)):
			w.attachmentsError(op, errAccessDenied)
		case !ok:
			w.attachmentsError(op, errAttachmentNotFound)
		default:
			w.msgStart(op, nil)
			w.raw("<m:Attachments>")
			w.attachmentStart(mb, in, n, a)
			if a.IsItem {
				// The attached message, with its MIME when asked for.
				w.raw("<t:Message>")
				if r.Shape.IncludeMimeContent {
					w.raw(`<t:MimeContent CharacterSet="UTF-8">`)
					w.raw(base64.StdEncoding.EncodeToString(a.Content))
					w.raw("</t:MimeContent>")
				}
				w.el("t:Subject", a.Name)
				w.raw("</t:Message>")
			} else {
				w.elBool("t:IsContactPhoto", false)
				w.raw("<t:Content>")
				w.raw(base64.StdEncoding.EncodeToString(a.Content))
				w.raw("</t:Content>")
			}
			w.raw("</" + a.element() + ">")
			w.raw("</m:Attachments>")
			w.msgEnd(op)
		}
		mb.mu.RUnlock()
	}
}

// attachmentsError writes an error message of an
// AttachmentInfoResponseMessageType, whose Attachments element is
// required even when empty (as Exchange sends it).
func (w *xw) attachmentsError(op string, e *ewsError) {
	w.msgStart(op, e)
	w.raw("<m:Attachments/>")
	w.msgEnd(op)
}

// --- CreateAttachment ---

type attachmentXML struct {
	XMLName     xml.Name
	Name        string `xml:"Name"`
	ContentType string `xml:"ContentType"`
	ContentID   string `xml:"ContentId"`
	IsInline    bool   `xml:"IsInline"`
	Content     string `xml:"Content"`
	Message     *struct {
		Subject     string `xml:"Subject"`
		MimeContent string `xml:"MimeContent"`
	} `xml:"Message"`
}

type createAttachmentReq struct {
	Parent      itemRefXML `xml:"ParentItemId"`
	Attachments struct {
		List []attachmentXML `xml:",any"`
	} `xml:"Attachments"`
}

func (r *createAttachmentReq) validate() *ewsError {
	if r.Parent.ID == "" {
		return errSchema("ParentItemId is required")
	}
	if len(r.Attachments.List) == 0 {
		return errSchema("Attachments must hold at least one attachment")
	}
	return nil
}

func (r *createAttachmentReq) targetMailbox(s *Sim) string {
	if m, _, ok := decodeID(tagItem, r.Parent.ID); ok {
		return s.mailboxName(m)
	}
	return ""
}

func (x attachmentXML) attachment() (Attachment, *ewsError) {
	a := Attachment{Name: x.Name, ContentType: x.ContentType, ContentID: x.ContentID, IsInline: x.IsInline}
	switch x.XMLName.Local {
	case "FileAttachment":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(x.Content), ""))
		if err != nil {
			return a, errSchema("Content is not base64")
		}
		a.Content = b
	case "ItemAttachment":
		a.IsItem = true
		if x.Message == nil {
			return a, errInvalidRequest("the simulator attaches messages only (ItemAttachment with a Message)")
		}
		if x.Message.MimeContent != "" {
			b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(x.Message.MimeContent), ""))
			if err != nil {
				return a, errSchema("MimeContent is not base64")
			}
			a.Content = b
		} else {
			a.Content = []byte("Subject: " + mime.QEncoding.Encode("utf-8", x.Message.Subject) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n")
		}
		if a.Name == "" {
			a.Name = x.Message.Subject
		}
	default:
		return a, errInvalidRequest("the simulator does not create " + x.XMLName.Local)
	}
	return a, nil
}

func (r *createAttachmentReq) run(c *call) {
	const op = "CreateAttachment"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	mb, idx, e := c.resolveItem(r.Parent.ID)
	for _, x := range r.Attachments.List {
		if e != nil {
			w.attachmentsError(op, e)
			continue
		}
		a, ae := x.attachment()
		if ae != nil {
			w.attachmentsError(op, ae)
			continue
		}
		mb.mu.Lock()
		if _, ok := mb.item(idx); !ok {
			mb.mu.Unlock()
			w.attachmentsError(op, errItemNotFound)
			continue
		}
		id, ae := mb.addAttachmentLocked(idx, a, c.now)
		in := mb.items[idx]
		root, ck := itemID(mb.idx, idx), changeKey(idx, in.version)
		mb.mu.Unlock()
		if ae != nil {
			w.attachmentsError(op, ae)
			continue
		}
		w.msgStart(op, nil)
		w.raw("<m:Attachments><" + a.element() + "><t:AttachmentId")
		w.attr("Id", id)
		w.attr("RootItemId", root)
		w.attr("RootItemChangeKey", ck)
		w.raw("/></" + a.element() + "></m:Attachments>")
		w.msgEnd(op)
	}
}

// --- CreateItem of messages ---

// messageXML is the part of a created Message the simulator stores.
type messageXML struct {
	MimeContent *string    `xml:"MimeContent"`
	Subject     string     `xml:"Subject"`
	Body        string     `xml:"Body"`
	ToRecipient []emailXML `xml:"ToRecipients>Mailbox"`
}

var errDispositionRequired = ewsErr("ErrorMessageDispositionRequired", "MessageDisposition is required for this operation.")

// createMessage saves a Message of a CreateItem: with MessageDisposition
// SaveOnly, as a draft in SavedItemFolderId or Drafts (the simulator
// sends nothing, so SendOnly and SendAndSaveCopy are refused).
func (r *createItemReq) createMessage(c *call, inner []byte) {
	const op = "CreateItem"
	w := c.w
	switch r.MessageDisposition {
	case "SaveOnly":
	case "":
		w.itemsError(op, errDispositionRequired)
		return
	default:
		w.itemsError(op, errInvalidRequest("the simulator saves messages only (MessageDisposition SaveOnly), it sends none"))
		return
	}
	var x messageXML
	if err := xml.Unmarshal(append(append([]byte("<Message>"), inner...), "</Message>"...), &x); err != nil {
		w.itemsError(op, errSchema("the Message does not parse"))
		return
	}
	ref := folderRef{XMLName: xml.Name{Local: "DistinguishedFolderId"}, ID: "drafts"}
	if r.SavedItemFolderID != nil {
		ref = r.SavedItemFolderID.Refs[0]
	}
	mb, f, e := c.resolveFolder(ref)
	if e != nil {
		w.itemsError(op, e)
		return
	}
	it := Item{Kind: KindMessage, Subject: x.Subject, Body: x.Body, IsDraft: true, From: Address{Name: mb.name, Email: mb.addr}}
	for _, t := range x.ToRecipient {
		it.To = append(it.To, Address{Name: t.Name, Email: t.EmailAddress})
	}
	if x.MimeContent != nil {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(*x.MimeContent), ""))
		if err != nil {
			w.itemsError(op, errSchema("MimeContent is not base64"))
			return
		}
		it.MIME = b
	}
	c.saveCreated(op, "t:Message", mb, f, it)
}

// genAttachments is a generated message's attachment: a small file whose
// name and bytes follow from n, so datasets stay reproducible.
func genAttachments(n int) []Attachment {
	name := fmt.Sprintf("report-%d.pdf", n)
	return []Attachment{{Name: name, ContentType: "application/pdf",
		Content: []byte(fmt.Sprintf("%%PDF-1.4\n%% simulated attachment %d\n%%%%EOF\n", n))}}
}
