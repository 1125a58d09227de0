package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// Message content as Graph serves it: GET /messages/{id} with
// $expand=attachments and Prefer: outlook.body-content-type,
// /messages/{id}/$value (the MIME), /messages/{id}/attachments (list,
// $select), /attachments/{id} and /attachments/{id}/$value (the content:
// a file's bytes, an item attachment's MIME), and the writes a client
// makes drafts with: POST /users/{id}/messages and POST
// /messages/{id}/attachments (a fileAttachment with contentBytes). The
// properties follow the v1.0 metadata (attachment, fileAttachment,
// itemAttachment).

// PermMailReadWrite is what creating messages and attachments takes.
const PermMailReadWrite = "Mail.ReadWrite"

const (
	typeFileAttachment = "#microsoft.graph.fileAttachment"
	typeItemAttachment = "#microsoft.graph.itemAttachment"
	typeAttachment     = "microsoft.graph.attachment"
)

func (s *Server) attachmentRoutes(m *http.ServeMux, u string) {
	m.HandleFunc("GET "+u+"/messages/{id}/$value", s.handle("messages.value", PermMailRead, s.messageValue))
	m.HandleFunc("GET "+u+"/messages/{id}/attachments", s.handle("attachments.list", PermMailRead, s.listAttachments))
	m.HandleFunc("GET "+u+"/messages/{id}/attachments/{aid}", s.handle("attachments.get", PermMailRead, s.getAttachment))
	m.HandleFunc("GET "+u+"/messages/{id}/attachments/{aid}/$value", s.handle("attachments.value", PermMailRead, s.attachmentValue))
	m.HandleFunc("POST "+u+"/messages", s.handle("messages.create", PermMailReadWrite, s.createMessage))
	m.HandleFunc("POST "+u+"/messages/{id}/attachments", s.handle("attachments.create", PermMailReadWrite, s.createAttachment))
}

// attachmentJSON is an attachment's properties (without content).
func attachmentJSON(a ewssim.AttachmentView) obj {
	typ, ct := typeFileAttachment, a.ContentType
	if a.IsItem {
		typ, ct = typeItemAttachment, "message/rfc822"
	} else if ct == "" {
		ct = "application/octet-stream"
	}
	o := obj{
		{"@odata.type", typ},
		{"id", ewssim.RestID(a.ID)},
		{"lastModifiedDateTime", dto(a.Modified)},
		{"name", a.Name},
		{"contentType", ct},
		{"size", len(a.Content)},
		{"isInline", a.IsInline},
	}
	if !a.IsItem {
		o = append(o, kv{"contentId", orNull(a.ContentID)}, kv{"contentLocation", nil})
	}
	return o
}

// sampleAttachment lists every attachment property, for $select checks.
var sampleAttachment = attachmentJSON(ewssim.AttachmentView{})

// getMessageContent serves GET /messages/{id}: with
// $expand=attachments($select=...) it adds the attachment list; the body
// follows Prefer: outlook.body-content-type (HTML by default, as Graph).
func (s *Server) getMessageContent(c *call) {
	q := c.r.URL.Query()
	exp := strings.TrimSpace(q.Get("$expand"))
	if !strings.HasPrefix(exp, "attachments") {
		s.getMessage(c)
		return
	}
	v, ok := c.item(ewssim.KindMessage)
	if !ok {
		return
	}
	body := c.messageRender()(v)
	sel, e := parseSelect(q.Get("$select"), typeMessage, body)
	if e != nil {
		c.failWith(e)
		return
	}
	body = sel.apply(body)
	if exp != "" {
		asel, ok := parseAttachmentExpand(exp)
		if !ok {
			c.fail(http.StatusBadRequest, "BadRequest", "Parsing OData Select and Expand failed: the $expand option is not supported by the simulator: "+exp)
			return
		}
		as, err := c.s.sim.Attachments(v.ImmutableID)
		if err != nil {
			c.failWith(errItemNotFound)
			return
		}
		list := make([]obj, 0, len(as))
		for _, a := range as {
			list = append(list, asel.apply(attachmentJSON(a)))
		}
		body = append(body, kv{"attachments", list})
	}
	ctx := c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/messages/$entity"
	c.json(http.StatusOK, append(obj{{"@odata.context", ctx}}, body...))
}

// parseAttachmentExpand reads "attachments" or
// "attachments($select=a,b)".
func parseAttachmentExpand(exp string) (selection, bool) {
	rest, _ := strings.CutPrefix(exp, "attachments")
	if rest == "" {
		return nil, true
	}
	inner, ok := strings.CutPrefix(rest, "($select=")
	if !ok || !strings.HasSuffix(inner, ")") {
		return nil, false
	}
	sel, e := parseSelect(strings.TrimSuffix(inner, ")"), typeAttachment, sampleAttachment)
	return sel, e == nil
}

// message finds {id} as a message of the route's mailbox.
func (c *call) message() (ewssim.ItemView, bool) { return c.item(ewssim.KindMessage) }

func (s *Server) messageValue(c *call) {
	v, ok := c.message()
	if !ok {
		return
	}
	b, err := s.sim.MIMEOf(v.ImmutableID)
	if err != nil {
		c.failWith(errItemNotFound)
		return
	}
	c.raw("message/rfc822", b)
}

func (s *Server) listAttachments(c *call) {
	v, ok := c.message()
	if !ok {
		return
	}
	sel, e := parseSelect(c.r.URL.Query().Get("$select"), typeAttachment, sampleAttachment)
	if e != nil {
		c.failWith(e)
		return
	}
	as, err := s.sim.Attachments(v.ImmutableID)
	if err != nil {
		c.failWith(errItemNotFound)
		return
	}
	list := make([]obj, 0, len(as))
	for _, a := range as {
		list = append(list, sel.apply(attachmentJSON(a)))
	}
	ctx := c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/messages('" + url.PathEscape(v.ImmutableID) + "')/attachments"
	c.json(http.StatusOK, obj{{"@odata.context", ctx}, {"value", list}})
}

// attachment finds {aid} of message {id}: an attachment of another
// message is not found, as in Graph.
func (c *call) attachment() (ewssim.ItemView, ewssim.AttachmentView, bool) {
	v, ok := c.message()
	if !ok {
		return v, ewssim.AttachmentView{}, false
	}
	a, err := c.s.sim.AttachmentOf(v.ImmutableID, c.r.PathValue("aid"))
	if err != nil {
		c.failWith(errItemNotFound)
		return v, a, false
	}
	return v, a, true
}

func (s *Server) getAttachment(c *call) {
	v, a, ok := c.attachment()
	if !ok {
		return
	}
	body := attachmentJSON(a)
	sel, e := parseSelect(c.r.URL.Query().Get("$select"), typeAttachment, body)
	if e != nil {
		c.failWith(e)
		return
	}
	body = sel.apply(body)
	if sel == nil && !a.IsItem {
		body = append(body, kv{"contentBytes", base64.StdEncoding.EncodeToString(a.Content)})
	}
	ctx := c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/messages('" + url.PathEscape(v.ImmutableID) + "')/attachments/$entity"
	c.json(http.StatusOK, append(obj{{"@odata.context", ctx}}, body...))
}

func (s *Server) attachmentValue(c *call) {
	_, a, ok := c.attachment()
	if !ok {
		return
	}
	ct := a.ContentType
	if a.IsItem {
		ct = "message/rfc822"
	} else if ct == "" {
		ct = "application/octet-stream"
	}
	c.raw(ct, a.Content)
}

// raw answers bytes with their type and length.
func (c *call) raw(contentType string, b []byte) {
	h := c.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b)
}

// messageIn is the part of a message POST the simulator stores.
type messageIn struct {
	Subject *string `json:"subject"`
	Body    *struct {
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	} `json:"body"`
	ToRecipients []struct {
		EmailAddress struct {
			Name    string `json:"name"`
			Address string `json:"address"`
		} `json:"emailAddress"`
	} `json:"toRecipients"`
}

// createMessage is POST /users/{id}/messages: a draft in Drafts.
func (s *Server) createMessage(c *call) {
	var in messageIn
	if !c.readJSON(&in) {
		return
	}
	it := ewssim.Item{From: ewssim.Address{Name: c.mb.DisplayName, Email: c.mb.Address}}
	if in.Subject != nil {
		it.Subject = *in.Subject
	}
	if in.Body != nil {
		it.Body = in.Body.Content
	}
	for _, r := range in.ToRecipients {
		it.To = append(it.To, ewssim.Address{Name: r.EmailAddress.Name, Email: r.EmailAddress.Address})
	}
	ref, err := s.sim.CreateDraft(c.mb.Address, it)
	if err != nil {
		c.fail(http.StatusInternalServerError, "generalException", err.Error())
		return
	}
	imm, err := s.sim.ImmutableID(ref.ID)
	if err != nil {
		c.failWith(errItemNotFound)
		return
	}
	v, err := s.sim.ItemByImmutableID(imm)
	if err != nil {
		c.failWith(errItemNotFound)
		return
	}
	c.json(http.StatusCreated, append(obj{{"@odata.context", c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/messages/$entity"}}, messageJSON(v, false)...))
}

// attachmentIn is a fileAttachment POST.
type attachmentIn struct {
	ODataType    string `json:"@odata.type"`
	Name         string `json:"name"`
	ContentType  string `json:"contentType"`
	ContentBytes string `json:"contentBytes"`
	IsInline     bool   `json:"isInline"`
	ContentID    string `json:"contentId"`
}

// createAttachment is POST /messages/{id}/attachments of a
// fileAttachment (at most 3 MB in one request, as Graph; larger files
// take an upload session, which the simulator does not serve).
func (s *Server) createAttachment(c *call) {
	v, ok := c.message()
	if !ok {
		return
	}
	var in attachmentIn
	if !c.readJSON(&in) {
		return
	}
	if in.ODataType != typeFileAttachment {
		c.fail(http.StatusBadRequest, "ErrorInvalidRequest", "The simulator creates fileAttachment only, not '"+in.ODataType+"'.")
		return
	}
	b, err := base64.StdEncoding.DecodeString(in.ContentBytes)
	if err != nil {
		c.fail(http.StatusBadRequest, "ErrorInvalidRequest", "contentBytes is not base64.")
		return
	}
	if len(b) > 3<<20 {
		c.fail(http.StatusRequestEntityTooLarge, "ErrorAttachmentSizeLimitExceeded", "Attachments over 3 MB take an upload session.")
		return
	}
	id, err := s.sim.AddAttachment(v.ID, ewssim.Attachment{Name: in.Name, ContentType: in.ContentType, Content: b, IsInline: in.IsInline, ContentID: in.ContentID})
	if err != nil {
		c.failWith(errItemNotFound)
		return
	}
	a, err := s.sim.AttachmentOf(v.ImmutableID, id)
	if err != nil {
		c.failWith(errItemNotFound)
		return
	}
	ctx := c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/messages('" + url.PathEscape(v.ImmutableID) + "')/attachments/$entity"
	c.json(http.StatusCreated, append(obj{{"@odata.context", ctx}}, attachmentJSON(a)...))
}

func (c *call) readJSON(v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, c.s.opts.MaxRequestBytes))
	if err != nil {
		c.fail(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is too large.")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		c.fail(http.StatusBadRequest, "UnableToDeserializePostBody", "Unable to deserialize the request body: "+err.Error())
		return false
	}
	return true
}
