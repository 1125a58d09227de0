package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// DefaultPageSize is the Prefer: odata.maxpagesize a delta call asks for
// when DeltaOptions.PageSize is 0.
const DefaultPageSize = 100

// maxPageSize bounds DeltaOptions.PageSize; Outlook serves at most 1,000
// items a page whatever is asked.
const maxPageSize = 1000

// DeltaOptions are common to every delta call.
type DeltaOptions struct {
	// Link continues a round: the NextLink of the previous page, or the
	// DeltaLink saved at the end of the last round. Empty starts a full
	// sync. A link encodes the query of the first call, so with a link
	// the other options (folder, $select, window) are not sent again.
	Link string
	// PageSize is sent as Prefer: odata.maxpagesize; 0 = DefaultPageSize.
	PageSize int
	// BodyType is sent as Prefer: outlook.body-content-type ("text" or
	// "html"; empty: Graph's default, HTML). Headers are not encoded in the
	// links: every page of a round sends it.
	BodyType string
}

func (o DeltaOptions) pageSize(op string) (int, error) {
	switch {
	case o.PageSize == 0:
		return DefaultPageSize, nil
	case o.PageSize < 0 || o.PageSize > maxPageSize:
		return 0, invalidArg(op, "page size %d outside 1..%d", o.PageSize, maxPageSize)
	}
	return o.PageSize, nil
}

// Removed is an @removed entry of a delta page: the item left the
// collection. Reason is "deleted" (gone for good, or out of a calendar
// view's window) or "changed" (moved out of the folder, or no longer
// visible).
type Removed struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// DeltaPage is one page of a delta round. Exactly one of NextLink (more
// pages follow) and DeltaLink (the round is complete; save it as the
// checkpoint) is set.
type DeltaPage[T any] struct {
	Items     []T       `json:"items"`
	Removed   []Removed `json:"removed,omitempty"`
	NextLink  string    `json:"nextLink,omitempty"`
	DeltaLink string    `json:"deltaLink,omitempty"`
}

// Done reports whether this is the last page of the round.
func (p *DeltaPage[T]) Done() bool { return p.DeltaLink != "" }

type rawPage struct {
	Value     *[]json.RawMessage `json:"value"`
	NextLink  string             `json:"@odata.nextLink"`
	DeltaLink string             `json:"@odata.deltaLink"`
}

type removedProbe struct {
	ID      string `json:"id"`
	Removed *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

// decodeDeltaPage reads a delta page: items into T, @removed entries into
// Removed, and the links, which must point at the client's endpoint.
func (c *Client) decodeDeltaPage(op string, r *response, add func(json.RawMessage) error) (next, delta string, removed []Removed, err error) {
	var raw rawPage
	if err := decode(op, r, &raw); err != nil {
		return "", "", nil, err
	}
	bad := func(format string, args ...any) error {
		return &Error{Layer: LayerProtocol, Op: op, HTTPStatus: r.status, RequestID: r.requestID, ClientRequestID: r.clientRequestID,
			Err: fmt.Errorf("%w: %s", ErrMalformedResponse, fmt.Sprintf(format, args...))}
	}
	if raw.Value == nil {
		return "", "", nil, bad("no value array")
	}
	switch {
	case raw.NextLink == "" && raw.DeltaLink == "":
		return "", "", nil, bad("neither @odata.nextLink nor @odata.deltaLink")
	case raw.NextLink != "" && raw.DeltaLink != "":
		return "", "", nil, bad("both @odata.nextLink and @odata.deltaLink")
	}
	for _, l := range []string{raw.NextLink, raw.DeltaLink} {
		if l == "" {
			continue
		}
		if _, err := c.checkLink(op, l); err != nil {
			e := err.(*Error)
			e.HTTPStatus, e.RequestID, e.ClientRequestID = r.status, r.requestID, r.clientRequestID
			return "", "", nil, e
		}
	}
	for i, item := range *raw.Value {
		var p removedProbe
		if err := json.Unmarshal(item, &p); err != nil {
			return "", "", nil, bad("value[%d]: %s", i, redact.Bound(err.Error(), 200))
		}
		if p.ID == "" {
			return "", "", nil, bad("value[%d] has no id", i)
		}
		if p.Removed != nil {
			removed = append(removed, Removed{ID: p.ID, Reason: p.Removed.Reason})
			continue
		}
		if err := add(item); err != nil {
			return "", "", nil, bad("value[%d] (id %s): %s", i, strconv.Quote(redact.Bound(p.ID, 100)), redact.Bound(err.Error(), 200))
		}
	}
	return raw.NextLink, raw.DeltaLink, removed, nil
}

// deltaCall runs one delta request (initial URL or link) and decodes its
// page into T.
func deltaCall[T any](c *Client, ctx context.Context, op, mailbox, initial string, o DeltaOptions) (*DeltaPage[T], error) {
	if mailbox == "" {
		return nil, invalidArg(op, "user is empty")
	}
	size, err := o.pageSize(op)
	if err != nil {
		return nil, err
	}
	u := initial
	if o.Link != "" {
		if u, err = c.checkLink(op, o.Link); err != nil {
			return nil, err
		}
	}
	r := request{op: op, method: "GET", url: u, mailbox: mailbox, pageSize: size}
	if r.header, err = bodyTypeHeader(op, o.BodyType); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	page := &DeltaPage[T]{Items: []T{}}
	page.NextLink, page.DeltaLink, page.Removed, err = c.decodeDeltaPage(op, resp, func(m json.RawMessage) error {
		var v T
		if err := json.Unmarshal(m, &v); err != nil {
			return err
		}
		page.Items = append(page.Items, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}
