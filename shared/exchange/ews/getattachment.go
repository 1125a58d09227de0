package ews

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
)

// Attachment is one entry of item:Attachments or a GetAttachment answer.
// Size and IsInline come from Exchange 2010 on (absent from 2007).
type Attachment struct {
	Type        string // FileAttachment, ItemAttachment or ReferenceAttachment
	ID          string
	Name        string
	ContentType string
	ContentID   string
	Size        int64
	IsInline    bool
	// Content is a FileAttachment's base64 Content (GetAttachment only);
	// for an ItemAttachment fetched with its MIME, the attached item's
	// MimeContent. See Bytes.
	Content string
	// Item is an ItemAttachment's attached item, when returned.
	Item *Item
}

// Bytes decodes the attachment's content (a file's bytes, an attached
// item's MIME). Bad base64 is ErrMalformedResponse.
func (a Attachment) Bytes() ([]byte, error) {
	return decodeBase64("attachment content", a.Content)
}

// MIME decodes the item's MimeContent (RFC 5322 bytes, as Exchange
// encodes them in MimeCharset). No MimeContent is ErrMalformedResponse:
// it was asked for and is missing.
func (it Item) MIME() ([]byte, error) {
	if it.MimeContent == "" {
		return nil, fmt.Errorf("%w: the item has no MimeContent", ErrMalformedResponse)
	}
	return decodeBase64("MimeContent", it.MimeContent)
}

// decodeBase64 decodes Exchange's base64 (xs:base64Binary, which allows
// whitespace between characters).
func decodeBase64(what, s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64 (%v)", ErrMalformedResponse, what, err)
	}
	return b, nil
}

func decodeAttachments(e elem) []Attachment {
	out := make([]Attachment, 0, e.countChildren())
	for c := range e.children() {
		out = append(out, decodeAttachment(c))
	}
	return out
}

func decodeAttachment(e elem) Attachment {
	a := Attachment{Type: e.name()}
	for c := range e.children() {
		switch c.name() {
		case "AttachmentId":
			a.ID = c.attr("Id")
		case "Name":
			a.Name = c.text()
		case "ContentType":
			a.ContentType = c.text()
		case "ContentId":
			a.ContentID = c.text()
		case "Size":
			a.Size = int64(parseInt(c.text()))
		case "IsInline":
			a.IsInline = parseBool(c.text())
		case "Content":
			a.Content = c.text()
		case "Item", "Message", "CalendarItem", "Contact", "MeetingMessage", "MeetingRequest",
			"MeetingResponse", "MeetingCancellation", "Task", "PostItem":
			it := decodeItem(c)
			a.Item = &it
			if a.Content == "" {
				a.Content = it.MimeContent
			}
		}
	}
	return a
}

type xGetAttachment struct {
	XMLName         xml.Name          `xml:"m:GetAttachment"`
	AttachmentShape xAttachmentShape  `xml:"m:AttachmentShape"`
	AttachmentIDs   xRequestAttachIDs `xml:"m:AttachmentIds"`
}

type xAttachmentShape struct {
	IncludeMimeContent bool `xml:"t:IncludeMimeContent,omitempty"`
}

type xRequestAttachIDs struct {
	IDs []xAttachmentID `xml:"t:AttachmentId"`
}

type xAttachmentID struct {
	ID string `xml:"Id,attr"`
}

// GetAttachment fetches one attachment with its content: a file's bytes,
// or an attached item with its MIME (IncludeMimeContent). A per-message
// error (ErrorItemNotFound, ErrorInvalidIdMalformed, ...) is an *Error
// with that code.
func (c *Client) GetAttachment(ctx context.Context, t Target, id string) (Attachment, error) {
	const op = "GetAttachment"
	if err := t.validate(op); err != nil {
		return Attachment{}, err
	}
	if id == "" {
		return Attachment{}, invalidArg(op, "attachment id is empty")
	}
	req := xGetAttachment{AttachmentShape: xAttachmentShape{IncludeMimeContent: true},
		AttachmentIDs: xRequestAttachIDs{IDs: []xAttachmentID{{ID: id}}}}
	resp, err := c.call(ctx, op, t, req)
	if err != nil {
		return Attachment{}, err
	}
	a, err := decodeGetAttachment(resp)
	if err != nil {
		return Attachment{}, wrapDecode(op, err)
	}
	return a, nil
}

func decodeGetAttachment(resp elem) (Attachment, error) {
	const op = "GetAttachment"
	msgs, err := responseMessages(op, resp)
	if err != nil {
		return Attachment{}, err
	}
	m := msgs[0]
	if e := m.err(op); e != nil {
		return Attachment{}, e
	}
	a := m.el.child("Attachments").firstChild()
	if !a.ok() {
		return Attachment{}, fmt.Errorf("%w: GetAttachment response has no attachment", ErrMalformedResponse)
	}
	return decodeAttachment(a), nil
}
