package graph

import (
	"context"
	"fmt"
	"net/http"
)

// CreateEvent creates ev in the user's default calendar:
// POST /users/{user}/events. Set ev.TransactionID so a create repeated
// after a lost answer does not make a second event, and mark the event
// with ev.SingleValueExtendedProperties so FindEventsByExtendedProperty
// finds it later.
func (c *Client) CreateEvent(ctx context.Context, user string, ev *Event) (*Event, error) {
	const op = "CreateEvent"
	if user == "" || ev == nil {
		return nil, invalidArg(op, "user and event are required")
	}
	if ev.ID != "" {
		return nil, invalidArg(op, "a new event has no id")
	}
	resp, err := c.do(ctx, request{op: op, method: "POST", mailbox: user, url: c.path("users", user, "events"), body: ev})
	if err != nil {
		return nil, err
	}
	var out Event
	if err := decode(op, resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateEvent changes the given properties of an event:
// PATCH /users/{user}/events/{id}. patch is marshalled as is (a map or a
// struct of exactly the properties to change), so a property can be set
// to false, zero or null on purpose. ifMatch, when set, is sent as
// If-Match (an @odata.etag) and a changed event answers 412 (conflict).
func (c *Client) UpdateEvent(ctx context.Context, user, id string, patch any, ifMatch string) (*Event, error) {
	const op = "UpdateEvent"
	if user == "" || id == "" || patch == nil {
		return nil, invalidArg(op, "user, id and patch are required")
	}
	h := http.Header{}
	if ifMatch != "" {
		h.Set("If-Match", ifMatch)
	}
	resp, err := c.do(ctx, request{op: op, method: "PATCH", mailbox: user, url: c.path("users", user, "events", id), body: patch, header: h})
	if err != nil {
		return nil, err
	}
	var out Event
	if err := decode(op, resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteEvent deletes an event: DELETE /users/{user}/events/{id}. An
// event already gone answers ErrorItemNotFound (ClassNotFound); whether
// that counts as success is the caller's call.
func (c *Client) DeleteEvent(ctx context.Context, user, id string) error {
	const op = "DeleteEvent"
	if user == "" || id == "" {
		return invalidArg(op, "user and id are required")
	}
	_, err := c.do(ctx, request{op: op, method: "DELETE", mailbox: user, url: c.path("users", user, "events", id)})
	return err
}

// maxFindResults bounds FindEventsByExtendedProperty: a marker value
// identifies one event (or a handful after a duplicate create).
const maxFindResults = 50

// FindEventsByExtendedProperty finds the events marked with the
// single-value extended property propID = value:
// GET /users/{user}/events?$filter=singleValueExtendedProperties/Any(ep:
// ep/id eq '{propID}' and ep/value eq '{value}')&$expand=... so the
// property comes back with each event. It returns at most 50 events.
func (c *Client) FindEventsByExtendedProperty(ctx context.Context, user, propID, value string) ([]Event, error) {
	const op = "FindEventsByExtendedProperty"
	if user == "" || propID == "" || value == "" {
		return nil, invalidArg(op, "user, property id and value are required")
	}
	filter := fmt.Sprintf("singleValueExtendedProperties/Any(ep: ep/id eq %s and ep/value eq %s)", odataString(propID), odataString(value))
	u := withQuery(c.path("users", user, "events"), query{
		{"$filter", filter},
		{"$expand", expandExtended(propID)},
		{"$top", fmt.Sprint(maxFindResults)},
	})
	resp, err := c.do(ctx, request{op: op, method: "GET", mailbox: user, url: u})
	if err != nil {
		return nil, err
	}
	var page struct {
		Value *[]Event `json:"value"`
	}
	if err := decode(op, resp, &page); err != nil {
		return nil, err
	}
	if page.Value == nil {
		return nil, &Error{Layer: LayerProtocol, Op: op, HTTPStatus: resp.status, RequestID: resp.requestID,
			ClientRequestID: resp.clientRequestID, Err: fmt.Errorf("%w: no value array", ErrMalformedResponse)}
	}
	return *page.Value, nil
}
