package graph

import (
	"context"
	"net/http"
	"strings"
)

// GetOptions shape a single-item read.
type GetOptions struct {
	Select []string // $select; empty = Graph's default properties
	// ExtendedProperty, when set, expands that single-value extended
	// property: $expand=singleValueExtendedProperties($filter=id eq '...').
	ExtendedProperty string
	// BodyType, "text" or "html", is sent as Prefer:
	// outlook.body-content-type; empty = Graph's default (HTML).
	BodyType string
}

func (o GetOptions) query() query {
	var q query
	if len(o.Select) > 0 {
		q = append(q, [2]string{"$select", strings.Join(o.Select, ",")})
	}
	if o.ExtendedProperty != "" {
		q = append(q, [2]string{"$expand", expandExtended(o.ExtendedProperty)})
	}
	return q
}

// expandExtended is the $expand that returns one extended property.
func expandExtended(propID string) string {
	return "singleValueExtendedProperties($filter=id eq " + odataString(propID) + ")"
}

// bodyTypeHeader is the Prefer header that asks for bodies as "text" or
// "html"; an empty bodyType asks for nothing (Graph's default, HTML).
func bodyTypeHeader(op, bodyType string) (http.Header, error) {
	switch bodyType {
	case "":
		return nil, nil
	case "text", "html":
		return http.Header{"Prefer": {`outlook.body-content-type="` + bodyType + `"`}}, nil
	}
	return nil, invalidArg(op, "body type %q is not text or html", bodyType)
}

// odataString quotes s as an OData string literal: single quotes doubled.
// URL encoding is applied later, to the whole option.
func odataString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func getItem[T any](c *Client, ctx context.Context, op, user, id, collection string, o GetOptions) (*T, error) {
	if user == "" || id == "" {
		return nil, invalidArg(op, "user and id are required")
	}
	r := request{op: op, method: "GET", mailbox: user, url: withQuery(c.path("users", user, collection, id), o.query())}
	var err error
	if r.header, err = bodyTypeHeader(op, o.BodyType); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var v T
	if err := decode(op, resp, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// GetMessage reads GET /users/{user}/messages/{id}.
func (c *Client) GetMessage(ctx context.Context, user, id string, o GetOptions) (*Message, error) {
	return getItem[Message](c, ctx, "GetMessage", user, id, "messages", o)
}

// GetEvent reads GET /users/{user}/events/{id}.
func (c *Client) GetEvent(ctx context.Context, user, id string, o GetOptions) (*Event, error) {
	return getItem[Event](c, ctx, "GetEvent", user, id, "events", o)
}

// GetContact reads GET /users/{user}/contacts/{id}.
func (c *Client) GetContact(ctx context.Context, user, id string, o GetOptions) (*Contact, error) {
	return getItem[Contact](c, ctx, "GetContact", user, id, "contacts", o)
}
