package graphmailbox

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// On-demand content over Graph (domain.ContentReader): GET
// /messages/{id} with the body and $expand=attachments, GET
// /messages/{id}/$value for the MIME and GET
// /messages/{id}/attachments/{id}/$value for an attachment, streamed.
// Graph names the attachment under its message, so an attachment of
// another item is Graph's 404. A tenant whose feed carries EWS ids (moved
// from EWS) has each item id translated first (translateExchangeIds, one
// request more).

var _ domain.ContentConnector = (*Connector)(nil)

// ConnectContent returns the tenant's content reader. It does no network
// I/O.
func (c *Connector) ConnectContent(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.ContentReader, error) {
	cl, err := c.client(t, cred)
	if err != nil {
		return nil, err
	}
	return content{cl: cl, ewsIDs: t.IDFormatOf() == domain.IDFormatEWS}, nil
}

type content struct {
	cl     *graph.Client
	ewsIDs bool
}

// graphID is the Graph id of an item id of the tenant's feed.
func (c content) graphID(ctx context.Context, user, id string) (string, error) {
	if !c.ewsIDs {
		return id, nil
	}
	res, err := c.cl.TranslateExchangeIDs(ctx, user, graph.TranslateRequest{InputIDs: []string{id},
		SourceIDType: graph.IDFormatEWS, TargetIDType: graph.IDFormatRESTImmutable})
	if err != nil {
		return "", contentError(err)
	}
	if len(res) != 1 || graph.ConvertErr(res[0]) != nil || res[0].TargetID == "" {
		return "", domain.NotFound("Exchange has no item %q in this mailbox", id)
	}
	return res[0].TargetID, nil
}

// ReadItem reads a message with its body and attachment list, an event
// or a contact with its body (events and contacts carry no attachment
// list here).
func (c content) ReadItem(ctx context.Context, m domain.MailboxRef, itemID string, want domain.ContentWant) (domain.ItemContent, error) {
	gid, err := c.graphID(ctx, m.Address, itemID)
	if err != nil {
		return domain.ItemContent{}, err
	}
	var out domain.ItemContent
	switch want.Kind {
	case domain.KindCalendar, domain.KindContact:
		out, err = c.readOther(ctx, m.Address, gid, want)
	default:
		var msg *graph.MessageContent
		msg, err = c.cl.GetMessageContent(ctx, m.Address, gid, graph.ContentOptions{Select: graph.DefaultMessageSelect,
			Body: want.Body, HTML: want.HTML, Attachments: want.Attachments})
		if err == nil {
			out.Item = NormalizeMessage(msg.Message, msg.ParentFolderID)
			if want.Attachments {
				out.Item.Attachments = attachmentsOf(msg.Attachments)
				out.Item.Bound()
			}
			if want.Body && msg.Body != nil {
				out.Body = domain.CutBody(msg.Body.Content, strings.EqualFold(msg.Body.ContentType, "html"), want.MaxBodyBytes)
			}
		}
	}
	if err != nil {
		return domain.ItemContent{}, contentError(err)
	}
	if c.ewsIDs {
		out.Item.ID, out.Item.FolderID = itemID, ""
	}
	return out, nil
}

func (c content) readOther(ctx context.Context, user, gid string, want domain.ContentWant) (domain.ItemContent, error) {
	var out domain.ItemContent
	if want.Kind == domain.KindContact {
		ct, err := c.cl.GetContact(ctx, user, gid, graph.GetOptions{Select: strings.Split(contactSelect, ",")})
		if err != nil {
			return out, err
		}
		out.Item = NormalizeContact(*ct, ct.ParentFolderID)
		if want.Body {
			out.Body = domain.CutBody(ct.PersonalNotes, false, want.MaxBodyBytes)
		}
		return out, nil
	}
	bodyType := domain.BodyFormatText // as the message's item (GetMessageContent)
	if want.HTML {
		bodyType = domain.BodyFormatHTML
	}
	ev, err := c.cl.GetEvent(ctx, user, gid, graph.GetOptions{Select: strings.Split(eventSelect, ","), BodyType: bodyType})
	if err != nil {
		return out, err
	}
	out.Item = NormalizeEvent(*ev, CalendarFolderID)
	if want.Body && ev.Body != nil {
		out.Body = domain.CutBody(ev.Body.Content, strings.EqualFold(ev.Body.ContentType, "html"), want.MaxBodyBytes)
	}
	return out, nil
}

// StreamMIME streams GET /messages/{id}/$value.
func (c content) StreamMIME(ctx context.Context, m domain.MailboxRef, itemID string, max int64, sink domain.ContentSink) error {
	gid, err := c.graphID(ctx, m.Address, itemID)
	if err != nil {
		return err
	}
	err = c.cl.StreamMessageMIME(ctx, m.Address, gid, max, func(size int64) (io.Writer, error) {
		return sink(domain.Attachment{Kind: domain.AttachmentItem, ContentType: "message/rfc822"}, size)
	})
	return streamError(err, max)
}

// StreamAttachment reads the attachment's metadata, then streams its
// content.
func (c content) StreamAttachment(ctx context.Context, m domain.MailboxRef, itemID, attachmentID string, max int64, sink domain.ContentSink) error {
	gid, err := c.graphID(ctx, m.Address, itemID)
	if err != nil {
		return err
	}
	info, err := c.cl.GetAttachment(ctx, m.Address, gid, attachmentID)
	if err != nil {
		return contentError(err)
	}
	if info.Size > max && !info.IsItem() {
		// An item attachment's size is its stored size, not its MIME's:
		// its stream is measured instead.
		return &domain.ContentTooLargeError{Size: info.Size, Limit: max}
	}
	meta := attachmentOf(*info)
	err = c.cl.StreamAttachment(ctx, m.Address, gid, attachmentID, max, func(size int64) (io.Writer, error) {
		return sink(meta, size)
	})
	return streamError(err, max)
}

func streamError(err error, max int64) error {
	var tl *domain.ContentTooLargeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tl):
		return err
	case errors.Is(err, graph.ErrStreamTooLarge):
		return &domain.ContentTooLargeError{Size: -1, Limit: max}
	}
	return contentError(err)
}

// contentError: an item or attachment Graph does not have (404, or an id
// it cannot parse, 400 ErrorInvalidIdMalformed) is a 404; anything else
// is classified as a read.
func contentError(err error) error {
	var e *graph.Error
	if errors.As(err, &e) && e != nil {
		if e.HTTPStatus == 404 || graph.Classify(err) == graph.ClassNotFound ||
			strings.EqualFold(e.Code, "ErrorInvalidIdMalformed") || strings.EqualFold(e.InnerCode, "ErrorInvalidIdMalformed") {
			return domain.NotFound("Exchange has no such item or attachment in this mailbox (%s)", codeOf(err))
		}
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	return classify(err, useMailbox, "")
}

// attachmentsOf maps Graph's attachment list to the item's.
func attachmentsOf(as []graph.AttachmentInfo) []domain.Attachment {
	if len(as) == 0 {
		return nil
	}
	out := make([]domain.Attachment, 0, len(as))
	for _, a := range as {
		out = append(out, attachmentOf(a))
	}
	return out
}

func attachmentOf(a graph.AttachmentInfo) domain.Attachment {
	kind, ct := domain.AttachmentFile, a.ContentType
	if a.IsItem() {
		kind = domain.AttachmentItem
		if ct == "" {
			ct = "message/rfc822"
		}
	}
	return domain.Attachment{ID: a.ID, Name: a.Name, ContentType: ct, Size: a.Size, IsInline: a.IsInline, Kind: kind}
}

// withAttachments fills the attachment lists of a delta page's messages
// that have attachments: Graph's delta does not return them, so each such
// message costs one GET .../attachments?$select= (metadata only). They
// are single requests, at most the client's per-mailbox concurrency at
// once, not a $batch: Outlook counts each sub-request of a batch against
// the mailbox's 4 concurrent requests, and a batch of 20 beside the
// sync's other reads of the mailbox was throttled (make bench (g); the
// client now holds a slot per sub-request of a batch, so a batch would
// save no round trip either). They go out as soon as the page is in:
// the job reads up to 4 folders at once, so they share the mailbox's 4
// slots (the client's limiter) with the other folders' delta requests,
// attachment lists and a calendar page's series masters, in the same
// wave rather than one after the other.
// Every list read is kept (by mailbox, item and change key) before a
// failure is returned, so the job retried after throttling reads only
// the lists it lacks: a page needing many lists converges under a storm
// of 429s instead of failing whole each time. A message whose list Graph
// does not give (gone meanwhile) keeps none.
func (a *Access) withAttachments(ctx context.Context, user string, items []domain.Item) error {
	var idx []int
	for i, it := range items {
		if it.Kind != domain.KindMessage || !it.HasAttachments {
			continue
		}
		if list, ok := a.attachments.get(user, it.ID, it.ChangeKey); ok {
			items[i].Attachments = list
			items[i].Bound()
			continue
		}
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return nil
	}
	sem := make(chan struct{}, max(1, a.cl.MailboxConcurrency()))
	errs := make(chan error, len(idx))
	var failed atomic.Bool
	launched := 0
	for _, i := range idx {
		sem <- struct{}{}
		if failed.Load() {
			// Throttled or failed: launch no more; the retry reads the
			// rest (and what finished meanwhile is kept).
			<-sem
			break
		}
		launched++
		go func() {
			defer func() { <-sem }()
			list, err := a.cl.ListAttachments(ctx, user, items[i].ID)
			if err != nil {
				switch graph.Classify(err) {
				case graph.ClassNotFound, graph.ClassPermanent, graph.ClassInvalid:
					errs <- nil
				default:
					failed.Store(true)
					errs <- classify(err, useFolder, "")
				}
				return
			}
			items[i].Attachments = attachmentsOf(list)
			items[i].Bound()
			a.attachments.put(user, items[i].ID, items[i].ChangeKey, items[i].Attachments)
			errs <- nil
		}()
	}
	var first error
	for range launched {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// attachmentCache keeps attachment lists by mailbox, item id and change
// key (a changed item has a new key, so a list is never stale), at most
// maxCachedLists; when full it starts again empty. It also keeps the
// message delta pages whose lists were cut short, by mailbox, folder and
// link, until their retry has all the lists (at most maxKeptPages).
type attachmentCache struct {
	mu    sync.Mutex
	lists map[string][]domain.Attachment
	pages map[string]*graph.DeltaPage[graph.Message]
}

const maxKeptPages = 1000

func (c *attachmentCache) page(user, route, link string) (*graph.DeltaPage[graph.Message], bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pages[user+"\x00"+route+"\x00"+link]
	return p, ok
}

func (c *attachmentCache) keepPage(user, route, link string, p *graph.DeltaPage[graph.Message]) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages == nil || len(c.pages) >= maxKeptPages {
		c.pages = map[string]*graph.DeltaPage[graph.Message]{}
	}
	c.pages[user+"\x00"+route+"\x00"+link] = p
}

func (c *attachmentCache) dropPage(user, route, link string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pages, user+"\x00"+route+"\x00"+link)
}

const maxCachedLists = 20000

func (c *attachmentCache) get(user, id, changeKey string) ([]domain.Attachment, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.lists[user+"\x00"+id+"\x00"+changeKey]
	return l, ok
}

func (c *attachmentCache) put(user, id, changeKey string, list []domain.Attachment) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lists == nil || len(c.lists) >= maxCachedLists {
		c.lists = map[string][]domain.Attachment{}
	}
	c.lists[user+"\x00"+id+"\x00"+changeKey] = list
}
