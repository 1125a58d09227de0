package ewsmailbox

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// ContentConnector is domain.ContentConnector over EWS: an item with its
// body and attachment list (GetItem), its MIME (GetItem with
// IncludeMimeContent) and one attachment (GetItem for the list, then
// GetAttachment). EWS answers in one SOAP document, base64 inside, so a
// read holds that answer (at most the limit's base64 plus the envelope)
// before it streams the decoded bytes out.
type ContentConnector struct {
	clients *ClientCache
}

// NewContentConnector returns a ContentConnector whose clients accept
// answers big enough for maxContent bytes of content (base64 is 4/3 of
// it) and no bigger.
func NewContentConnector(opts Options, maxContent int64) *ContentConnector {
	opts.MaxResponseBytes = maxContent/3*4 + 4 + envelopeAllowance
	return &ContentConnector{clients: NewClientCache(opts, maxCachedClients)}
}

// envelopeAllowance is room for the SOAP envelope and the item's other
// properties beside its base64 content.
const envelopeAllowance = 1 << 20

var _ domain.ContentConnector = (*ContentConnector)(nil)

// ConnectContent returns the tenant's content reader. It does no network
// I/O.
func (c *ContentConnector) ConnectContent(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.ContentReader, error) {
	tc := c.clients.For(t, cred)
	if _, err := tc.Client(t.EWSURL); err != nil {
		return nil, clientConfigError(err)
	}
	return content{clients: tc, flags: ews.AtLeast(t.ExchangeVersion, "Exchange2013"), version: t.ExchangeVersion}, nil
}

type content struct {
	clients TenantClients
	flags   bool
	version string // the tenant's Exchange version (calendar properties)
}

// ReadItem reads the item with the properties of its kind, its body as
// asked and its attachment list (messages).
func (c content) ReadItem(ctx context.Context, m domain.MailboxRef, itemID string, want domain.ContentWant) (domain.ItemContent, error) {
	shape := shapeFor(want.Kind, c.flags, false, c.version)
	shape.Fields = slices.Clone(shape.Fields)
	if want.Body {
		if !slices.Contains(shape.Fields, "item:Body") {
			shape.Fields = append(shape.Fields, "item:Body")
		}
		shape.BodyType = "Text"
		if want.HTML {
			shape.BodyType = "HTML"
		}
	}
	if want.Attachments && !slices.Contains(shape.Fields, "item:Attachments") {
		shape.Fields = append(shape.Fields, "item:Attachments")
	}
	it, err := c.get(ctx, m, itemID, shape)
	if err != nil {
		return domain.ItemContent{}, err
	}
	out := domain.ItemContent{Item: Normalize(it)}
	if want.Attachments && out.Item.Attachments == nil {
		out.Item.Attachments = attachments(it.Attachments)
	}
	if !want.Attachments {
		out.Item.Attachments = nil
	}
	if want.Body {
		out.Body = domain.CutBody(it.Body, strings.EqualFold(it.BodyType, "HTML"), want.MaxBodyBytes)
		out.Body.Truncated = out.Body.Truncated || it.BodyTruncated
	}
	return out, nil
}

func (c content) get(ctx context.Context, m domain.MailboxRef, itemID string, shape ews.Shape) (ews.Item, error) {
	cl, t, err := c.clients.Target(m)
	if err != nil {
		return ews.Item{}, err
	}
	res, err := cl.GetItem(ctx, t, []string{itemID}, shape)
	if err != nil {
		return ews.Item{}, contentError(err)
	}
	if res[0].Err != nil {
		return ews.Item{}, contentError(res[0].Err)
	}
	if res[0].Item == nil {
		return ews.Item{}, domain.NotFound("Exchange has no item %q in this mailbox", itemID)
	}
	return *res[0].Item, nil
}

// StreamMIME reads the item's MimeContent.
func (c content) StreamMIME(ctx context.Context, m domain.MailboxRef, itemID string, max int64, sink domain.ContentSink) error {
	it, err := c.get(ctx, m, itemID, ews.Shape{Base: "IdOnly", IncludeMIME: true})
	if err != nil {
		return tooLarge(err, max)
	}
	b, err := it.MIME()
	if err != nil {
		return classify(useRead, err, "")
	}
	return emit(sink, domain.Attachment{Kind: domain.AttachmentItem, ContentType: "message/rfc822"}, b, max)
}

// StreamAttachment checks the attachment is the item's (GetItem with
// item:Attachments: an attachment id names its item, so an id of another
// item, or of another mailbox the service account can reach, is refused
// here), then reads it (GetAttachment).
func (c content) StreamAttachment(ctx context.Context, m domain.MailboxRef, itemID, attachmentID string, max int64, sink domain.ContentSink) error {
	it, err := c.get(ctx, m, itemID, ews.Shape{Base: "IdOnly", Fields: []string{"item:Attachments"}})
	if err != nil {
		return err
	}
	i := slices.IndexFunc(it.Attachments, func(a ews.Attachment) bool { return a.ID == attachmentID })
	if i < 0 {
		return domain.NotFound("item %q has no attachment %q", itemID, attachmentID)
	}
	listed := it.Attachments[i]
	if listed.Size > max {
		return &domain.ContentTooLargeError{Size: listed.Size, Limit: max}
	}
	cl, t, err := c.clients.Target(m)
	if err != nil {
		return err
	}
	a, err := cl.GetAttachment(ctx, t, attachmentID)
	if err != nil {
		return tooLarge(contentError(err), max)
	}
	b, err := a.Bytes()
	if err != nil {
		return classify(useRead, err, "")
	}
	meta := attachment(a)
	if meta.Name == "" {
		meta.Name = listed.Name
	}
	return emit(sink, meta, b, max)
}

func emit(sink domain.ContentSink, meta domain.Attachment, b []byte, max int64) error {
	if int64(len(b)) > max {
		return &domain.ContentTooLargeError{Size: int64(len(b)), Limit: max}
	}
	w, err := sink(meta, int64(len(b)))
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// contentError: an id Exchange does not know (or cannot parse) is a 404;
// anything else is classified as a read.
func contentError(err error) error {
	var e *ews.Error
	if errors.As(err, &e) {
		switch e.ResponseCode {
		case "ErrorItemNotFound", "ErrorInvalidIdMalformed", "ErrorInvalidIdEmpty", "ErrorInvalidIdNotAnItemAttachmentId",
			"ErrorInvalidAttachmentId", "ErrorInvalidIdMalformedEwsLegacyIdFormat", "ErrorInvalidIdXml":
			return domain.NotFound("Exchange has no such item or attachment in this mailbox (%s)", e.ResponseCode)
		}
	}
	return classify(useRead, err, "")
}

// tooLarge names an answer over the client's limit for what it is: more
// content than the route serves.
func tooLarge(err error, max int64) error {
	if errors.Is(err, ews.ErrResponseTooLarge) {
		return &domain.ContentTooLargeError{Size: -1, Limit: max}
	}
	return err
}

// attachments maps item:Attachments to the item's list.
func attachments(as []ews.Attachment) []domain.Attachment {
	if len(as) == 0 {
		return nil
	}
	out := make([]domain.Attachment, 0, len(as))
	for _, a := range as {
		out = append(out, attachment(a))
	}
	return out
}

func attachment(a ews.Attachment) domain.Attachment {
	kind := domain.AttachmentFile
	ct := a.ContentType
	if a.Type == "ItemAttachment" {
		kind = domain.AttachmentItem
		if ct == "" {
			ct = "message/rfc822"
		}
	}
	return domain.Attachment{ID: a.ID, Name: a.Name, ContentType: ct, Size: a.Size, IsInline: a.IsInline, Kind: kind}
}
