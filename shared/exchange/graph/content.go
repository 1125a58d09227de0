package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Message content on demand: a message with its body and attachment list
// (GET /users/{id}/messages/{id}?$expand=attachments($select=...)), its
// MIME (GET .../messages/{id}/$value) and one attachment's metadata
// (GET .../attachments/{id}?$select=...) and content
// (GET .../attachments/{id}/$value). The MIME and attachment content are
// streamed, never held whole.

// AttachmentInfo is an attachment's metadata (Graph's attachment: a
// fileAttachment, itemAttachment or referenceAttachment, told apart by
// @odata.type).
type AttachmentInfo struct {
	ODataType   string `json:"@odata.type,omitempty"`
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Size        int64  `json:"size,omitempty"`
	IsInline    bool   `json:"isInline,omitempty"`
}

// IsItem reports whether the attachment is an attached item (its
// content is the item's MIME).
func (a AttachmentInfo) IsItem() bool { return strings.HasSuffix(a.ODataType, ".itemAttachment") }

// AttachmentSelect is the $select of attachment metadata.
const AttachmentSelect = "id,name,contentType,size,isInline"

// ExpandAttachments is the $expand that lists a message's attachments
// without their content.
const ExpandAttachments = "attachments($select=" + AttachmentSelect + ")"

// MessageContent is a message read with its attachment list.
type MessageContent struct {
	Message
	Attachments []AttachmentInfo `json:"attachments,omitempty"`
}

// ContentOptions shape GetMessageContent.
type ContentOptions struct {
	Select      []string
	Body        bool // add body to $select
	HTML        bool // the body as HTML (default: text, Prefer: outlook.body-content-type)
	Attachments bool // $expand the attachment list
}

// GetMessageContent reads one message with its body and attachment list
// as asked.
func (c *Client) GetMessageContent(ctx context.Context, user, id string, o ContentOptions) (*MessageContent, error) {
	const op = "GetMessageContent"
	if user == "" || id == "" {
		return nil, invalidArg(op, "user and id are required")
	}
	sel := append([]string(nil), o.Select...)
	if o.Body {
		sel = append(sel, "body")
	}
	var q query
	if len(sel) > 0 {
		q = append(q, [2]string{"$select", strings.Join(sel, ",")})
	}
	if o.Attachments {
		q = append(q, [2]string{"$expand", ExpandAttachments})
	}
	bodyType := "text"
	if o.HTML {
		bodyType = "html"
	}
	header, _ := bodyTypeHeader(op, bodyType) // text or html: no error
	resp, err := c.do(ctx, request{op: op, method: "GET", mailbox: user, url: withQuery(c.path("users", user, "messages", id), q), header: header})
	if err != nil {
		return nil, err
	}
	var v MessageContent
	if err := decode(op, resp, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ListAttachments lists a message's attachments (metadata only).
func (c *Client) ListAttachments(ctx context.Context, user, messageID string) ([]AttachmentInfo, error) {
	const op = "ListAttachments"
	if user == "" || messageID == "" {
		return nil, invalidArg(op, "user and message id are required")
	}
	resp, err := c.do(ctx, request{op: op, method: "GET", mailbox: user,
		url: withQuery(c.path("users", user, "messages", messageID, "attachments"), query{{"$select", AttachmentSelect}})})
	if err != nil {
		return nil, err
	}
	var v struct {
		Value []AttachmentInfo `json:"value"`
	}
	if err := decode(op, resp, &v); err != nil {
		return nil, err
	}
	return v.Value, nil
}

// GetAttachment reads one attachment's metadata.
func (c *Client) GetAttachment(ctx context.Context, user, messageID, attachmentID string) (*AttachmentInfo, error) {
	const op = "GetAttachment"
	if user == "" || messageID == "" || attachmentID == "" {
		return nil, invalidArg(op, "user, message id and attachment id are required")
	}
	resp, err := c.do(ctx, request{op: op, method: "GET", mailbox: user,
		url: withQuery(c.path("users", user, "messages", messageID, "attachments", attachmentID), query{{"$select", AttachmentSelect}})})
	if err != nil {
		return nil, err
	}
	var v AttachmentInfo
	if err := decode(op, resp, &v); err != nil {
		return nil, err
	}
	if v.ID == "" {
		return nil, &Error{Layer: LayerProtocol, Op: op, HTTPStatus: resp.status, Err: fmt.Errorf("%w: attachment without id", ErrMalformedResponse)}
	}
	return &v, nil
}

// StreamOpen is called once a stream's answer has arrived (size is its
// Content-Length, -1 when not given) and returns where its bytes go.
type StreamOpen func(size int64) (io.Writer, error)

// ErrStreamTooLarge: a stream was longer than the caller's limit.
var ErrStreamTooLarge = errors.New("graph: content larger than the limit")

// StreamMessageMIME copies a message's MIME (GET .../messages/{id}/$value)
// to what open returns, at most max bytes: a Content-Length over max is
// refused before open is called; a body that runs past max stops with
// ErrStreamTooLarge after max bytes.
func (c *Client) StreamMessageMIME(ctx context.Context, user, id string, max int64, open StreamOpen) error {
	const op = "StreamMessageMIME"
	if user == "" || id == "" {
		return invalidArg(op, "user and id are required")
	}
	return c.stream(ctx, request{op: op, method: "GET", mailbox: user, url: c.path("users", user, "messages", id, "$value")}, max, open)
}

// StreamAttachment copies an attachment's content (GET .../attachments/
// {id}/$value: a file's bytes, an attached item's MIME) as
// StreamMessageMIME does.
func (c *Client) StreamAttachment(ctx context.Context, user, messageID, attachmentID string, max int64, open StreamOpen) error {
	const op = "StreamAttachment"
	if user == "" || messageID == "" || attachmentID == "" {
		return invalidArg(op, "user, message id and attachment id are required")
	}
	return c.stream(ctx, request{op: op, method: "GET", mailbox: user,
		url: c.path("users", user, "messages", messageID, "attachments", attachmentID, "$value")}, max, open)
}

func (c *Client) stream(ctx context.Context, r request, max int64, open StreamOpen) error {
	resp, crid, done, err := c.open(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		_, err := c.finish(r, resp, crid)
		return err
	}
	if resp.ContentLength > max {
		return &Error{Layer: LayerProtocol, Op: r.op, HTTPStatus: resp.StatusCode, ClientRequestID: crid,
			Err: fmt.Errorf("%w: Content-Length %d > %d", ErrStreamTooLarge, resp.ContentLength, max)}
	}
	w, err := open(resp.ContentLength)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, max))
	if err != nil {
		return &Error{Layer: LayerTransport, Op: r.op, HTTPStatus: resp.StatusCode, ClientRequestID: crid, Message: "reading content",
			Err: fmt.Errorf("%w: %w", errTruncated, c.scrubErr(err))}
	}
	if n == max {
		// Exactly max, or more: one byte more tells.
		var one [1]byte
		if k, _ := resp.Body.Read(one[:]); k > 0 {
			return &Error{Layer: LayerProtocol, Op: r.op, HTTPStatus: resp.StatusCode, ClientRequestID: crid,
				Err: fmt.Errorf("%w: more than %d bytes", ErrStreamTooLarge, max)}
		}
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return &Error{Layer: LayerTransport, Op: r.op, HTTPStatus: resp.StatusCode, ClientRequestID: crid, Message: "reading content",
			Err: fmt.Errorf("%w: %d of %d bytes", errTruncated, n, resp.ContentLength)}
	}
	return nil
}
