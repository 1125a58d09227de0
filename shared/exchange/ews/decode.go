package ews

import (
	"fmt"
	"strings"
	"time"
)

// Decoded is a saved EWS response read with the client's own decoder, in
// the JSON shape `ewsctl decode` prints.
type Decoded struct {
	Operation string           `json:"operation,omitempty"`
	Messages  []DecodedMessage `json:"messages,omitempty"`
	// SyncFolderItems and SyncFolderHierarchy
	SyncState                 *string         `json:"syncState,omitempty"`
	IncludesLastItemInRange   *bool           `json:"includesLastItemInRange,omitempty"`
	IncludesLastFolderInRange *bool           `json:"includesLastFolderInRange,omitempty"`
	Changes                   []DecodedChange `json:"changes,omitempty"`
	// GetItem, FindItem
	Items []DecodedItem `json:"items,omitempty"`
	// A SOAP fault instead of a response.
	Fault *DecodedFault `json:"fault,omitempty"`
}

// DecodedMessage is one ResponseMessage.
type DecodedMessage struct {
	Class     string `json:"class"`
	Code      string `json:"code"`
	Text      string `json:"text"`
	BackOffMs int64  `json:"backOffMs"`
}

// DecodedChange is one sync change.
type DecodedChange struct {
	Kind      ChangeKind `json:"kind"`
	ItemID    string     `json:"itemId,omitempty"`
	FolderID  string     `json:"folderId,omitempty"`
	ChangeKey string     `json:"changeKey,omitempty"`
}

// DecodedItem is one item of GetItem or FindItem.
type DecodedItem struct {
	ItemID    string `json:"itemId"`
	ChangeKey string `json:"changeKey,omitempty"`
	ItemClass string `json:"itemClass,omitempty"`
	Subject   string `json:"subject,omitempty"`
	Start     string `json:"start,omitempty"`
	End       string `json:"end,omitempty"`
}

// DecodedFault is a SOAP fault.
type DecodedFault struct {
	Code         string `json:"code"`
	String       string `json:"string"`
	ResponseCode string `json:"responseCode"`
	BackOffMs    int64  `json:"backOffMs"`
}

// DecodeResponse decodes a SOAP response body (as saved by a Tracer). An
// EWS error inside the response is data, not an error: err is non-nil
// only when body is not a readable EWS SOAP response. Its text names no
// HTTP status, as a saved body has none.
func DecodeResponse(body []byte) (*Decoded, error) {
	d, err := decodeResponse(body)
	if e, ok := err.(*Error); ok && e.HTTPStatus != 0 {
		// The operation decoders report a bad message as an *Error of the
		// HTTP 200 that carried it.
		plain := *e
		plain.HTTPStatus = 0
		return nil, &plain
	}
	return d, err
}

func decodeResponse(body []byte) (*Decoded, error) {
	resp, fault, err := parseEnvelope(body)
	if err != nil {
		return nil, err
	}
	if fault != nil {
		return &Decoded{Fault: &DecodedFault{
			Code: fault.Code, String: fault.String, ResponseCode: fault.ResponseCode,
			BackOffMs: fault.BackOff.Milliseconds(),
		}}, nil
	}
	op, ok := strings.CutSuffix(resp.name(), "Response")
	if !ok {
		return nil, errNotResponse(resp.name())
	}
	d := &Decoded{Operation: op}
	var msgs []respMsg
	switch op {
	case "GetUserAvailability":
		for fb := range resp.child("FreeBusyResponseArray").children() {
			msgs = append(msgs, decodeRespMsg(fb.child("ResponseMessage")))
		}
	case "GetRoomLists", "GetRooms":
		// Their response element is the response message.
		msgs = []respMsg{decodeRespMsg(resp)}
	default:
		msgs, err = responseMessages(op, resp)
		if err != nil {
			return nil, err
		}
	}
	for _, m := range msgs {
		d.Messages = append(d.Messages, DecodedMessage{Class: m.Class, Code: m.Code, Text: m.Text, BackOffMs: m.BackOff.Milliseconds()})
	}
	if msgs == nil || msgs[0].Class == "Error" && len(msgs) == 1 {
		return d, nil
	}
	switch op {
	case "SyncFolderItems":
		r, err := decodeSyncFolderItems(resp)
		if err != nil {
			return nil, err
		}
		d.SyncState, d.IncludesLastItemInRange = &r.SyncState, &r.IncludesLastItemInRange
		d.Changes = make([]DecodedChange, 0, len(r.Changes))
		for _, c := range r.Changes {
			d.Changes = append(d.Changes, DecodedChange{Kind: c.Kind, ItemID: c.ItemID, ChangeKey: c.ChangeKey})
		}
	case "SyncFolderHierarchy":
		r, err := decodeSyncFolderHierarchy(resp)
		if err != nil {
			return nil, err
		}
		d.SyncState, d.IncludesLastFolderInRange = &r.SyncState, &r.IncludesLastFolderInRange
		d.Changes = make([]DecodedChange, 0, len(r.Changes))
		for _, c := range r.Changes {
			d.Changes = append(d.Changes, DecodedChange{Kind: c.Kind, FolderID: c.Folder.ID, ChangeKey: c.Folder.ChangeKey})
		}
	case "GetItem":
		res, err := decodeGetItem(resp)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if r.Item != nil {
				d.Items = append(d.Items, decodedItem(r.Item))
			}
		}
	case "FindItem":
		r, err := decodeFindItem(resp)
		if err != nil {
			return nil, err
		}
		for i := range r.Items {
			d.Items = append(d.Items, decodedItem(&r.Items[i]))
		}
	}
	return d, nil
}

func decodedItem(it *Item) DecodedItem {
	return DecodedItem{
		ItemID: it.ItemID, ChangeKey: it.ChangeKey, ItemClass: it.ItemClass, Subject: it.Subject,
		Start: jsonTime(it.Start), End: jsonTime(it.End),
	}
}

func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func errNotResponse(name string) error {
	return fmt.Errorf("%w: body holds <%s>, not an operation response", ErrMalformedResponse, name)
}

// DecodeItems returns the items of a saved GetItem or FindItem response
// (a GetItem error message contributes no item).
func DecodeItems(body []byte) ([]Item, error) {
	resp, fault, err := parseEnvelope(body)
	if err != nil {
		return nil, err
	}
	if fault != nil {
		return nil, fmt.Errorf("%w: a SOAP fault (%s), not items", ErrMalformedResponse, fault.ResponseCode)
	}
	switch resp.name() {
	case "GetItemResponse":
		res, err := decodeGetItem(resp)
		if err != nil {
			return nil, err
		}
		var out []Item
		for _, r := range res {
			if r.Item != nil {
				out = append(out, *r.Item)
			}
		}
		return out, nil
	case "FindItemResponse":
		r, err := decodeFindItem(resp)
		if err != nil {
			return nil, err
		}
		return r.Items, nil
	}
	return nil, errNotResponse(resp.name())
}
