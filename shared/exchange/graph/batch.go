package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// MaxBatchRequests is how many sub-requests one $batch takes.
const MaxBatchRequests = 20

// batchRunsAtOnce is how many sub-requests of a batch to one mailbox
// Outlook runs at once.
const batchRunsAtOnce = 4

// BatchRequest is one sub-request of a $batch.
type BatchRequest struct {
	// ID correlates the answer; empty = its 1-based position. Unique.
	ID     string
	Method string // GET, POST, PATCH, DELETE
	// URL is relative to the version root, e.g. "/users/{id}/messages/{id}"
	// (build it with ItemPath). Absolute URLs are refused: a sub-request
	// cannot leave the batch's host anyway, and one that claims to is a bug.
	URL     string
	Headers map[string]string
	Body    json.RawMessage // JSON; Content-Type is set for it
}

// ItemPath builds a batch sub-request URL from path segments, escaping
// each (ids may hold '/', '+' or '=').
func ItemPath(segments ...string) string {
	var sb strings.Builder
	for _, s := range segments {
		sb.WriteByte('/')
		sb.WriteString(url.PathEscape(s))
	}
	return sb.String()
}

// BatchResponse is one sub-response, in the order of the requests.
type BatchResponse struct {
	ID      string
	Status  int
	Headers map[string]string
	Body    json.RawMessage
	// Err is the sub-request's failure (status outside 2xx, or no answer
	// for it) as an item-layer *Error with its code and Retry-After; nil on
	// success. One throttled sub-request does not fail the others.
	Err *Error
}

// errNoSubResponse: the batch answer left a sub-request out; retrying it
// is the sensible move.
var errNoSubResponse = errors.New("no answer for this sub-request")

type batchReqJSON struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

type batchRespJSON struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// Batch sends up to 20 sub-requests for one mailbox in one
// POST /$batch. Outlook runs at most 4 of them at once and counts each
// against the mailbox's 4 concurrent requests, so the batch holds as many
// of the mailbox's slots as it runs at once (min(len(reqs), 4), within
// Config.MailboxConcurrency): it can be sent beside the mailbox's other
// calls without going over the cap. The error is for the batch as a whole
// (transport, or Graph refusing the batch); each sub-response carries its
// own Err.
func (c *Client) Batch(ctx context.Context, mailbox string, reqs []BatchRequest) ([]BatchResponse, error) {
	const op = "Batch"
	switch {
	case mailbox == "":
		return nil, invalidArg(op, "mailbox is empty")
	case len(reqs) == 0:
		return nil, invalidArg(op, "no requests")
	case len(reqs) > MaxBatchRequests:
		return nil, invalidArg(op, "%d requests; a batch takes at most %d", len(reqs), MaxBatchRequests)
	}
	body := struct {
		Requests []batchReqJSON `json:"requests"`
	}{}
	ids := map[string]int{}
	for i, r := range reqs {
		id := r.ID
		if id == "" {
			id = strconv.Itoa(i + 1)
		}
		if _, dup := ids[strings.ToLower(id)]; dup {
			return nil, invalidArg(op, "duplicate request id %q", id)
		}
		ids[strings.ToLower(id)] = i
		switch r.Method {
		case "GET", "POST", "PATCH", "PUT", "DELETE":
		default:
			return nil, invalidArg(op, "request %q: method %q", id, r.Method)
		}
		u, err := url.Parse(r.URL)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(r.URL, "/") || strings.HasPrefix(r.URL, "//") {
			return nil, invalidArg(op, "request %q: URL must be relative to the version root, starting with one '/'", id)
		}
		h := map[string]string{"Prefer": `IdType="ImmutableId"`}
		for k, v := range r.Headers {
			h[k] = v
		}
		if len(r.Body) > 0 {
			if !json.Valid(r.Body) {
				return nil, invalidArg(op, "request %q: body is not JSON", id)
			}
			h["Content-Type"] = "application/json"
		}
		body.Requests = append(body.Requests, batchReqJSON{ID: id, Method: r.Method, URL: r.URL, Headers: h, Body: r.Body})
	}
	resp, err := c.do(ctx, request{op: op, method: "POST", mailbox: mailbox, url: c.baseStr + "/$batch", body: body, slots: min(len(reqs), batchRunsAtOnce)})
	if err != nil {
		return nil, err
	}
	var raw struct {
		Responses *[]batchRespJSON `json:"responses"`
	}
	if err := decode(op, resp, &raw); err != nil {
		return nil, err
	}
	if raw.Responses == nil {
		return nil, &Error{Layer: LayerProtocol, Op: op, HTTPStatus: resp.status, RequestID: resp.requestID,
			ClientRequestID: resp.clientRequestID, Err: fmt.Errorf("%w: no responses array", ErrMalformedResponse)}
	}
	out := make([]BatchResponse, len(reqs))
	seen := make([]bool, len(reqs))
	for _, sr := range *raw.Responses {
		i, ok := ids[strings.ToLower(sr.ID)]
		if !ok || seen[i] {
			continue // an answer to nothing we asked, or a repeat: ignore
		}
		seen[i] = true
		out[i] = BatchResponse{ID: body.Requests[i].ID, Status: sr.Status, Headers: sr.Headers, Body: sr.Body}
		if sr.Status < 200 || sr.Status > 299 {
			out[i].Err = c.subError(op, sr, resp.clientRequestID)
		}
	}
	for i := range out {
		if !seen[i] {
			out[i] = BatchResponse{ID: body.Requests[i].ID, Err: &Error{Layer: LayerItem, Op: op, ClientRequestID: resp.clientRequestID,
				RequestID: resp.requestID, Err: errNoSubResponse}}
		}
	}
	return out, nil
}

// subError turns a failed sub-response into an item-layer *Error.
func (c *Client) subError(op string, sr batchRespJSON, crid string) *Error {
	h := http.Header{}
	for k, v := range sr.Headers {
		h.Set(k, v)
	}
	e := c.statusError(op+" "+redact.Bound(sr.ID, 40), sr.Status, h, sr.Body, c.red.Clean(h.Get("request-id"), 100), crid, LayerItem)
	e.Layer = LayerItem
	return e
}
