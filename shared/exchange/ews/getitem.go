package ews

import (
	"context"
	"encoding/xml"
	"fmt"
)

// MaxGetItemIDs bounds one GetItem batch. Exchange accepts more, but large
// batches of full items hit throttling budgets and response-size limits.
const MaxGetItemIDs = 100

type xGetItem struct {
	XMLName xml.Name `xml:"m:GetItem"`
	// ItemShape is the m:ItemShape element as encoded in place
	// (shapeFragment): a sync asks for the same shape in every GetItem.
	ItemShape string   `xml:",innerxml"`
	ItemIDs   xItemIDs `xml:"m:ItemIds"`
}

// GetItemResult is the answer for one requested id: Item, or Err when
// Exchange answered an error for that id (e.g. ErrorItemNotFound).
type GetItemResult struct {
	ID   string
	Item *Item
	Err  *Error
}

// GetItem fetches up to MaxGetItemIDs items. The call fails as a whole
// only for transport errors and SOAP faults; per-item errors are in the
// results, in the order of ids, so one bad item hides no other.
func (c *Client) GetItem(ctx context.Context, t Target, ids []string, shape Shape) ([]GetItemResult, error) {
	const op = "GetItem"
	if err := t.validate(op); err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > MaxGetItemIDs {
		return nil, invalidArg(op, "need 1 to %d item ids, got %d", MaxGetItemIDs, len(ids))
	}
	refs := make([]ItemRef, len(ids))
	for i, id := range ids {
		if id == "" {
			return nil, invalidArg(op, "item id %d is empty", i)
		}
		refs[i] = ItemRef{ID: id}
	}
	if err := shape.validate(op); err != nil {
		return nil, err
	}
	frag, err := shapeFragment(shape)
	if err != nil {
		return nil, &Error{Layer: LayerTransport, Op: op, Message: "encoding request", Err: err}
	}
	resp, err := c.call(ctx, op, t, xGetItem{ItemShape: frag, ItemIDs: itemIDs(refs...)})
	if err != nil {
		return nil, err
	}
	res, err := decodeGetItem(resp)
	if err != nil {
		return nil, wrapDecode(op, err)
	}
	if len(res) != len(ids) {
		return nil, &Error{Layer: LayerTransport, Op: op, HTTPStatus: 200,
			Err: fmt.Errorf("%w: %d response messages for %d ids", ErrMalformedResponse, len(res), len(ids))}
	}
	for i := range res {
		res[i].ID = ids[i]
	}
	return res, nil
}

// decodeGetItem returns one result per response message.
func decodeGetItem(resp elem) ([]GetItemResult, error) {
	const op = "GetItem"
	msgs, err := responseMessages(op, resp)
	if err != nil {
		return nil, err
	}
	out := make([]GetItemResult, len(msgs))
	for i, m := range msgs {
		if e := m.err(op); e != nil {
			out[i].Err = e
			continue
		}
		it := m.el.child("Items").firstChild()
		if !it.ok() {
			return nil, fmt.Errorf("%w: GetItem response message %d has no item", ErrMalformedResponse, i)
		}
		item := decodeItem(it)
		out[i] = GetItemResult{ID: item.ItemID, Item: &item}
	}
	return out, nil
}
