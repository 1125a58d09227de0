package domain

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// On-demand content (GET .../items/{itemId}?include= and
// .../items/{itemId}/attachments/{attachmentId}): what the feed leaves
// out (bodies, MIME, attachment content) read live from Exchange as a
// registered mailbox, bounded, nothing stored but an audit entry.

// Attachment is one attachment of an item, metadata only.
type Attachment struct {
	// ID is Exchange's attachment id (EWS AttachmentId, Graph attachment
	// id), for GET .../attachments/{attachmentId}.
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	// Size is in bytes, as Exchange reports it (EWS from Exchange 2010
	// on; absent from Exchange 2007).
	Size     int64 `json:"size,omitempty"`
	IsInline bool  `json:"isInline,omitempty"`
	// Kind is file (a file's bytes) or item (an attached message, event
	// or contact, whose content is its MIME).
	Kind string `json:"kind"`
}

// Attachment kinds.
const (
	AttachmentFile = "file"
	AttachmentItem = "item"
)

// Bounds of an item's attachment list: a message with hundreds of
// attachments keeps the feed item small (with every other field at its
// bound, the item stays under 350 KB of JSON, below DynamoDB's 400 KB).
const (
	MaxItemAttachments = 50
	// MaxAttachmentID bounds an attachment id (Exchange's are about 200
	// characters of base64); a longer one, or one of other characters,
	// is dropped, not cut, since a cut id names nothing.
	MaxAttachmentID = 512
	// MaxAttachmentName bounds a name (file systems allow 255 bytes),
	// MaxAttachmentType a content type.
	MaxAttachmentName = 255
	MaxAttachmentType = 128
)

// boundAttachments cuts the list to MaxItemAttachments and its texts to
// their bounds; it reports whether anything was cut.
func (it *Item) boundAttachments() bool {
	cut := false
	if len(it.Attachments) > MaxItemAttachments {
		it.Attachments = it.Attachments[:MaxItemAttachments]
		cut = true
	}
	kept := it.Attachments[:0]
	for _, a := range it.Attachments {
		if !attachmentID(a.ID) {
			cut = true
			continue
		}
		for _, f := range []struct {
			s     *string
			limit int
		}{{&a.Name, MaxAttachmentName}, {&a.ContentType, MaxAttachmentType}} {
			if len(*f.s) > f.limit {
				*f.s = strings.ToValidUTF8((*f.s)[:f.limit], "")
				cut = true
			}
		}
		if a.Size < 0 {
			a.Size = 0
		}
		if a.Kind != AttachmentItem {
			a.Kind = AttachmentFile
		}
		kept = append(kept, a)
	}
	if len(kept) == 0 {
		kept = nil
	}
	it.Attachments = kept
	return cut
}

// attachmentID reports whether id can be an Exchange attachment id:
// 1 to MaxAttachmentID characters of base64 or URL-safe base64.
func attachmentID(id string) bool {
	return id != "" && len(id) <= MaxAttachmentID && idChars(id)
}

// Body is an item's body as read on demand.
type Body struct {
	// ContentType is text or html.
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
	// Truncated: the body was longer than the limit and was cut (on a
	// character boundary).
	Truncated bool `json:"truncated,omitempty"`
}

// Body content types.
const (
	BodyText = "text"
	BodyHTML = "html"
)

// ContentWant says what an on-demand item read returns besides the item.
type ContentWant struct {
	// Kind is the item's kind as Mailbridge stored it (the read asks
	// Exchange for that kind's properties).
	Kind        ItemKind
	Body        bool
	HTML        bool // the body as HTML (default: text)
	Attachments bool
	// MaxBodyBytes bounds the body; longer is cut and marked.
	MaxBodyBytes int64
}

// ItemContent is an item read on demand.
type ItemContent struct {
	Item Item  `json:"item"`
	Body *Body `json:"body,omitempty"`
}

// ContentSink receives streamed content. Open is called once, when the
// content's metadata is known and before any byte is written: size is
// the content's length when known (-1 when not), and the returned writer
// takes the bytes. An adapter that learns the content is larger than its
// limit before Open returns a *ContentTooLargeError instead of calling it.
type ContentSink func(meta Attachment, size int64) (io.Writer, error)

// ContentReader reads a mailbox's items live, for the on-demand routes.
// Errors are *AccessError (as the sync's) or NotFound for an item or
// attachment Exchange does not have.
type ContentReader interface {
	// ReadItem reads one item with what want asks for.
	ReadItem(ctx context.Context, m MailboxRef, itemID string, want ContentWant) (ItemContent, error)
	// StreamMIME writes the item's MIME content (RFC 5322) to the sink,
	// at most max bytes.
	StreamMIME(ctx context.Context, m MailboxRef, itemID string, max int64, sink ContentSink) error
	// StreamAttachment writes one attachment's content to the sink, at
	// most max bytes: a file's bytes, an item attachment's MIME.
	StreamAttachment(ctx context.Context, m MailboxRef, itemID, attachmentID string, max int64, sink ContentSink) error
}

// ContentConnector opens a tenant's ContentReader.
type ContentConnector interface {
	ConnectContent(ctx context.Context, t Tenant, c Credential) (ContentReader, error)
}

// ContentTooLargeError says content is over the limit of what is served.
type ContentTooLargeError struct {
	Size  int64 // -1 when only known to be over Limit
	Limit int64
}

func (e *ContentTooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("the content is larger than the limit of %d bytes", e.Limit)
	}
	return fmt.Sprintf("the content is %d bytes, over the limit of %d bytes", e.Size, e.Limit)
}

// LimitWriter writes at most N bytes to W; a write past N writes what
// fits and fails with a *ContentTooLargeError.
type LimitWriter struct {
	W io.Writer
	N int64
	n int64
}

func (l *LimitWriter) Write(p []byte) (int, error) {
	if l.n+int64(len(p)) > l.N {
		k := l.N - l.n
		if k > 0 {
			w, _ := l.W.Write(p[:k])
			l.n += int64(w)
		}
		return int(max(k, 0)), &ContentTooLargeError{Size: -1, Limit: l.N}
	}
	n, err := l.W.Write(p)
	l.n += int64(n)
	return n, err
}

// Written is how many bytes went through.
func (l *LimitWriter) Written() int64 { return l.n }

// CutBody is a body of at most max bytes (0: no limit), cut on a
// character boundary and marked when longer.
func CutBody(content string, html bool, max int64) *Body {
	b := &Body{ContentType: BodyText, Content: content}
	if html {
		b.ContentType = BodyHTML
	}
	if max > 0 && int64(len(content)) > max {
		b.Content = strings.ToValidUTF8(content[:max], "")
		b.Truncated = true
	}
	return b
}
