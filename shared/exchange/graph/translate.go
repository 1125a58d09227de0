package graph

import (
	"context"
	"fmt"

	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// MaxTranslateIDs is how many ids one translateExchangeIds call takes.
const MaxTranslateIDs = 1000

// Id formats of translateExchangeIds (exchangeIdFormat).
const (
	IDFormatEWS              = "ewsId"
	IDFormatREST             = "restId"
	IDFormatRESTImmutable    = "restImmutableEntryId"
	IDFormatEntryID          = "entryId"
	IDFormatImmutableEntryID = "immutableEntryId"
)

// TranslateRequest is the body of translateExchangeIds. Every id must be
// of SourceIDType and of the same mailbox.
type TranslateRequest struct {
	InputIDs     []string `json:"inputIds"`
	SourceIDType string   `json:"sourceIdType"`
	TargetIDType string   `json:"targetIdType"`
}

// ConvertIDResult is Graph's convertIdResult: TargetID, or ErrorDetails
// when this one id could not be translated (an item deleted since, a
// malformed id).
type ConvertIDResult struct {
	SourceID     string         `json:"sourceId"`
	TargetID     string         `json:"targetId,omitempty"`
	ErrorDetails *GenericDetail `json:"errorDetails,omitempty"`
}

// GenericDetail is Graph's genericError (code and message).
type GenericDetail struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// TranslateExchangeIDs translates up to MaxTranslateIDs ids of one
// mailbox between formats: POST /users/{user}/translateExchangeIds. The
// call succeeds as a whole when Graph answers; an id that failed carries
// its ErrorDetails (see ConvertErr). Graph asks User.Read.All of an app.
func (c *Client) TranslateExchangeIDs(ctx context.Context, user string, req TranslateRequest) ([]ConvertIDResult, error) {
	const op = "TranslateExchangeIds"
	switch {
	case user == "":
		return nil, invalidArg(op, "user is empty")
	case len(req.InputIDs) == 0:
		return nil, invalidArg(op, "no ids")
	case len(req.InputIDs) > MaxTranslateIDs:
		return nil, invalidArg(op, "%d ids; Graph takes at most %d a call", len(req.InputIDs), MaxTranslateIDs)
	case req.SourceIDType == "" || req.TargetIDType == "":
		return nil, invalidArg(op, "sourceIdType and targetIdType are required")
	}
	resp, err := c.do(ctx, request{op: op, method: "POST", mailbox: user, url: c.path("users", user, "translateExchangeIds"), body: req})
	if err != nil {
		return nil, err
	}
	var out struct {
		Value *[]ConvertIDResult `json:"value"`
	}
	if err := decode(op, resp, &out); err != nil {
		return nil, err
	}
	if out.Value == nil {
		return nil, &Error{Layer: LayerProtocol, Op: op, HTTPStatus: resp.status, RequestID: resp.requestID,
			ClientRequestID: resp.clientRequestID, Err: fmt.Errorf("%w: no value array", ErrMalformedResponse)}
	}
	return *out.Value, nil
}

// ConvertErr is r's per-id failure as an item-layer *Error, or nil. The
// server's code and message are scrubbed by pattern, as GetSchedule's are.
func ConvertErr(r ConvertIDResult) error {
	if r.ErrorDetails == nil && r.TargetID != "" {
		return nil
	}
	code, msg := "ErrorItemNotFound", "no target id"
	if r.ErrorDetails != nil {
		code, msg = r.ErrorDetails.Code, r.ErrorDetails.Message
	}
	return &Error{Layer: LayerItem, Op: "TranslateExchangeIds", Code: redact.Text(code, 100), Message: redact.Text(msg, maxMessageLen)}
}
