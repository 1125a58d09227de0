package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// This file is the on-demand content use case (GET .../items/{itemId}
// ?include= and .../items/{itemId}/attachments/{attachmentId}): what the
// feed leaves out, read live from Exchange as a registered mailbox.
// Only items Mailbridge has synced from that mailbox are served (the
// stored item names the mailbox and the kind), so an item id of another
// mailbox the service account can reach, or of a folder the tenant does
// not sync, is a 404. Every read is audited; nothing else is stored.

// DefaultContentMaxBytes is the largest body, MIME or attachment served
// (MAILBRIDGE_CONTENT_MAX_BYTES).
const DefaultContentMaxBytes = 25 << 20

// Include values of GET .../items/{itemId}.
const (
	IncludeBody        = "body"
	IncludeMIME        = "mime"
	IncludeAttachments = "attachments"
)

// Content serves on-demand reads.
type Content struct {
	Store     domain.Store
	Secrets   domain.SecretStore
	Connector domain.ContentConnector
	Clock     domain.Clock
	Log       *slog.Logger
	// MaxBytes bounds what one read serves; 0: DefaultContentMaxBytes.
	MaxBytes int64
}

// ContentRequest names what to read and who asks.
type ContentRequest struct {
	TenantID, Address, ItemID string
	AttachmentID              string // StreamAttachment only
	Caller                    string
	// Limit lowers MaxBytes for this request (the API Gateway path's
	// response limit); 0: none. LimitReason says why, for the 413.
	Limit       int64
	LimitReason string
}

// ParseInclude reads include=body,mime,attachments. mime is the whole
// message and is answered alone (as message/rfc822): with another value
// it is a 400.
func ParseInclude(s string) (want []string, err error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		switch v {
		case IncludeBody, IncludeMIME, IncludeAttachments:
		default:
			return nil, domain.Invalid("include", "include takes body, mime and attachments, comma-separated")
		}
		if !slices.Contains(want, v) {
			want = append(want, v)
		}
	}
	if slices.Contains(want, IncludeMIME) && len(want) > 1 {
		return nil, domain.Invalid("include", "include=mime answers the whole message as message/rfc822 (body and attachments are in it); ask for it alone")
	}
	return want, nil
}

// ReadItem reads the item with the body and attachment list as include
// asks (not mime: StreamMIME). html asks for the body as HTML.
func (c *Content) ReadItem(ctx context.Context, r ContentRequest, include []string, html bool) (domain.ItemContent, error) {
	if slices.Contains(include, IncludeMIME) {
		return domain.ItemContent{}, domain.Invalid("include", "include=mime is answered by StreamMIME")
	}
	op, err := c.open(ctx, r, false)
	if err != nil {
		return domain.ItemContent{}, err
	}
	want := domain.ContentWant{Kind: op.item.Kind, Body: slices.Contains(include, IncludeBody), HTML: html,
		Attachments: slices.Contains(include, IncludeAttachments), MaxBodyBytes: c.limit(r)}
	got, err := op.reader.ReadItem(ctx, op.ref, r.ItemID, want)
	result := "ok"
	if err == nil && got.Body != nil {
		result = fmt.Sprintf("ok, body %d bytes", len(got.Body.Content))
		if got.Body.Truncated {
			result += " (cut to the limit)"
		}
	}
	what := "item.read"
	if len(include) > 0 {
		what += " (include: " + strings.Join(include, ",") + ")"
	}
	c.audit(ctx, op, what, r.Caller, result, err)
	if err != nil {
		return domain.ItemContent{}, c.exchangeError(ctx, r, op.cred, err)
	}
	// The item is the mailbox's as Mailbridge names it (the feed's id).
	got.Item.ID = r.ItemID
	return got, nil
}

// StreamMIME streams the item's MIME into sink.
func (c *Content) StreamMIME(ctx context.Context, r ContentRequest, sink domain.ContentSink) error {
	op, err := c.open(ctx, r, false)
	if err != nil {
		return err
	}
	if op.item.Kind != domain.KindMessage && op.item.Kind != "" {
		return domain.Invalid("include", "include=mime is for messages; this item is a %s", op.item.Kind)
	}
	n := &counter{}
	err = op.reader.StreamMIME(ctx, op.ref, r.ItemID, c.limit(r), n.wrap(sink))
	c.audit(ctx, op, "item.mime", r.Caller, fmt.Sprintf("ok, %d bytes", n.n), err)
	if err != nil {
		return c.exchangeError(ctx, r, op.cred, err)
	}
	return nil
}

// StreamAttachment streams one attachment of the item into sink.
func (c *Content) StreamAttachment(ctx context.Context, r ContentRequest, sink domain.ContentSink) error {
	op, err := c.open(ctx, r, true)
	if err != nil {
		return err
	}
	n := &counter{}
	err = op.reader.StreamAttachment(ctx, op.ref, r.ItemID, r.AttachmentID, c.limit(r), n.wrap(sink))
	c.audit(ctx, op, "attachment.read", r.Caller, fmt.Sprintf("ok, %d bytes", n.n), err)
	if err != nil {
		return c.exchangeError(ctx, r, op.cred, err)
	}
	return nil
}

// contentOp is what a read has checked and opened.
type contentOp struct {
	tenant domain.Tenant
	ref    domain.MailboxRef
	item   domain.Item
	cred   domain.Credential
	reader domain.ContentReader
}

// open validates the request, checks the mailbox is the tenant's and the
// item one Mailbridge synced from it, and connects.
func (c *Content) open(ctx context.Context, r ContentRequest, attachment bool) (contentOp, error) {
	var op contentOp
	if verr := ValidateTenantID(r.TenantID); verr != nil {
		return op, verr
	}
	addr, verr := NormalizeAddress("address", r.Address)
	if verr != nil {
		return op, verr
	}
	if verr := domain.ValidateItemID("itemId", r.ItemID); verr != nil {
		return op, verr
	}
	if attachment {
		if verr := domain.ValidateItemID("attachmentId", r.AttachmentID); verr != nil {
			return op, verr
		}
	}
	t, err := (&Tenants{Store: c.Store}).active(ctx, r.TenantID)
	if err != nil {
		return op, err
	}
	mb, err := c.Store.GetMailbox(ctx, r.TenantID, addr)
	switch {
	case domain.IsNotFound(err):
		return op, domain.NotFound("mailbox %q is not registered to tenant %q", addr, r.TenantID)
	case err != nil:
		return op, internal(err, "reading the mailbox")
	}
	it, found, err := storedItem(ctx, c.Store, r.TenantID, addr, r.ItemID)
	if err != nil {
		return op, internal(err, "reading the item")
	}
	if !found {
		return op, domain.NotFound("mailbox %q has no item %q among the items Mailbridge synced (GET .../items lists them)", addr, r.ItemID)
	}
	cred, err := c.Secrets.GetCredential(ctx, r.TenantID)
	if err != nil {
		if domain.IsNotFound(err) {
			return op, domain.Conflict("tenant %q has no stored credentials; PUT /tenants/%s/credentials first", r.TenantID, r.TenantID)
		}
		return op, internal(err, "reading the credentials")
	}
	op = contentOp{tenant: t, item: it, cred: cred,
		ref: domain.MailboxRef{Address: mb.Address, Mode: mailboxMode(t, mb), EWSURL: mb.EWSURL}}
	op.reader, err = c.Connector.ConnectContent(ctx, t, cred)
	if err != nil {
		return op, c.exchangeError(ctx, r, cred, err)
	}
	return op, nil
}

// storedItem finds the mailbox's live stored item with this id: a
// listing that starts just before it (ids are ASCII: no id sorts between
// the id with its last byte lowered plus U+10FFFF and the id itself).
func storedItem(ctx context.Context, store domain.ItemLister, tenantID, mailbox, id string) (domain.Item, bool, error) {
	after := id[:len(id)-1] + string(rune(id[len(id)-1]-1)) + "\U0010FFFF"
	items, _, err := store.ListItems(ctx, domain.ItemQuery{TenantID: tenantID, Mailbox: mailbox, After: after, Limit: 1})
	if err != nil {
		return domain.Item{}, false, err
	}
	if len(items) == 0 || items[0].ID != id {
		return domain.Item{}, false, nil
	}
	return items[0], true, nil
}

func (c *Content) limit(r ContentRequest) int64 {
	max := c.MaxBytes
	if max <= 0 {
		max = DefaultContentMaxBytes
	}
	if r.Limit > 0 && r.Limit < max {
		return r.Limit
	}
	return max
}

// counter counts what a sink was given.
type counter struct{ n int64 }

func (n *counter) wrap(sink domain.ContentSink) domain.ContentSink {
	return func(meta domain.Attachment, size int64) (io.Writer, error) {
		inner, err := sink(meta, size)
		if err != nil {
			return nil, err
		}
		return countingWriter{w: inner, n: n}, nil
	}
}

type countingWriter struct {
	w io.Writer
	n *counter
}

func (c countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n.n += int64(k)
	return k, err
}

// audit records the read: who asked, for what, and how it went; never the
// content or the ids' owner's data beyond the item id.
func (c *Content) audit(ctx context.Context, op contentOp, what, caller, result string, err error) {
	var tl *domain.ContentTooLargeError
	switch {
	case errors.As(err, &tl):
		result = "refused: " + tl.Error()
	case err != nil && domain.IsNotFound(err):
		result = "failed: not found"
	case err != nil:
		result = "failed: " + string(domain.AccessErrorOf(err).Kind)
	}
	e := domain.AuditEntry{TenantID: op.tenant.ID, Mailbox: op.ref.Address, AccessMode: op.ref.Mode,
		Operation: what + " by " + callerName(caller), Result: result, At: c.Clock.Now().UTC(), RequestID: RequestID(ctx)}
	if aerr := c.Store.AppendAudit(ctx, e); aerr != nil {
		c.logger(ctx).Error("content: audit append failed", "tenantId", e.TenantID, "error", aerr.Error())
	}
}

func (c *Content) logger(ctx context.Context) *slog.Logger { return requestLogger(ctx, c.Log) }

// exchangeError is the answer when the read failed: over the limit 413,
// an id Exchange does not have 404, throttling 503, the retired EWS
// endpoint 409, anything else 502 naming the kind and code. The server's
// own words go to the log only.
// contentFailure words a failed content read (liveFailure).
var contentFailure = liveFailure{subject: "content", denied: "Exchange refused the read", failed: "Exchange could not read the item"}

func (c *Content) exchangeError(ctx context.Context, r ContentRequest, cred domain.Credential, err error) error {
	var tl *domain.ContentTooLargeError
	if errors.As(err, &tl) {
		msg := fmt.Sprintf("%s; the limit is %d bytes", tl.Error(), tl.Limit)
		if r.LimitReason != "" && r.Limit > 0 && tl.Limit == r.Limit {
			msg += " (" + r.LimitReason + ")"
		}
		return &domain.Error{Code: domain.CodeTooLarge, Message: msg, Err: err}
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	return contentFailure.answer(ctx, c.Log, r.TenantID, cred, err)
}
