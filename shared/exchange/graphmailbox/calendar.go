package graphmailbox

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// The calendar write path keeps the EWS writer's contract: every event it
// creates carries Mailbridge's marker, a single-value extended property
// in Mailbridge's property set holding the client's event id; it finds
// events only by that marker and checks the value exactly before acting,
// so an event Mailbridge did not create is never changed or deleted
// (author-only access). The marker and the stamp are the same MAPI named
// properties the EWS writer sets, so events written over EWS are found
// after a tenant switches to Graph.

// PropertySetID is Mailbridge's MAPI property set. It is fixed forever:
// changing it would orphan every event written before.
const PropertySetID = "6a1e7f4c-2b8d-4e39-9c57-0d3f8b2a91e5"

var (
	// MarkerProperty holds the client's event id.
	MarkerProperty = "String {" + PropertySetID + "} Name MailbridgeClientEventId"
	// StampProperty holds the RequestedAt of the request that last wrote
	// the event (RFC 3339, UTC), so an older request never overwrites a
	// newer one.
	StampProperty = "String {" + PropertySetID + "} Name MailbridgeRequestedAt"
)

// maxFound bounds the look-up: a marker names one event, or a handful
// after concurrent first writes.
const maxFound = 50

// Writer is one tenant's domain.CalendarWriter over Graph.
type Writer struct {
	cl *graph.Client
	// ewsIDs: the tenant's feed carries EWS ids, so the item ids a write
	// returns are translated to EWS ids (ewsids.go).
	ewsIDs bool
}

var _ domain.CalendarWriter = (*Writer)(nil)

// marked is the event found for a client event id.
type marked struct {
	id    string
	stamp time.Time // zero when absent or unreadable
	// start and end, when asked for (find's withTimes)
	start, end time.Time
	// dups are further events with the same marker (two first writes
	// that ran at once); the next write keeps the newest and deletes
	// these.
	dups []string
}

// expandMarks asks for both of Mailbridge's properties with an event.
var expandMarks = "singleValueExtendedProperties($filter=id eq '" + MarkerProperty + "' or id eq '" + StampProperty + "')"

// find returns the event carrying the marker with exactly clientEventID,
// or nil: one request, plus one for events the answer listed without
// their properties. Exchange compares the value ignoring case, so the
// exact value is checked here: an id differing only in case is another
// event.
//
// withTimes also reads each event's start and end (for an end request).
func (w *Writer) find(ctx context.Context, user, clientEventID string, withTimes ...bool) (*marked, error) {
	sel := "id"
	if len(withTimes) > 0 && withTimes[0] {
		sel = "id,start,end"
	}
	filter := fmt.Sprintf("singleValueExtendedProperties/Any(ep: ep/id eq %s and ep/value eq %s)", odataString(MarkerProperty), odataString(clientEventID))
	list := graph.BatchRequest{Method: "GET", URL: graph.ItemPath("users", user, "events") + "?" +
		encodeQuery("$filter", filter, "$select", sel, "$expand", expandMarks, "$top", fmt.Sprint(maxFound))}
	resps, err := w.cl.Batch(ctx, user, []graph.BatchRequest{list})
	if err != nil {
		return nil, classify(err, useWrite, "")
	}
	if err := batchErr(resps[0]); err != nil {
		return nil, classify(err, useWrite, "")
	}
	var page struct {
		Value []graph.Event `json:"value"`
	}
	if err := json.Unmarshal(resps[0].Body, &page); err != nil {
		return nil, &domain.AccessError{Kind: domain.AccessTransient, Code: "MalformedResponse", Err: fmt.Errorf("events look-up: %w", err)}
	}
	events := page.Value
	// A server that ignores $expand on a list (the simulator) lists the
	// events bare: read their properties by id, in one batch.
	var bare []graph.BatchRequest
	for _, e := range events {
		if _, ok := e.ExtendedProperty(MarkerProperty); !ok && e.ID != "" {
			bare = append(bare, graph.BatchRequest{Method: "GET", URL: graph.ItemPath("users", user, "events", e.ID) + "?" + encodeQuery("$select", sel, "$expand", expandMarks)})
		}
	}
	if len(bare) > 0 {
		bare = bare[:min(len(bare), graph.MaxBatchRequests)]
		rs, err := w.cl.Batch(ctx, user, bare)
		if err != nil {
			return nil, classify(err, useWrite, "")
		}
		for _, r := range rs {
			if err := batchErr(r); err != nil {
				if graph.Classify(err) == graph.ClassNotFound {
					continue // deleted since the look-up
				}
				return nil, classify(err, useWrite, "")
			}
			var e graph.Event
			if json.Unmarshal(r.Body, &e) == nil {
				events = append(events, e)
			}
		}
	}
	var found *marked
	for _, e := range events {
		if v, ok := e.ExtendedProperty(MarkerProperty); !ok || v != clientEventID || e.ID == "" {
			continue
		}
		m := &marked{id: e.ID, start: eventTime(e.Start), end: eventTime(e.End)}
		if v, ok := e.ExtendedProperty(StampProperty); ok {
			if s, err := time.Parse(time.RFC3339Nano, v); err == nil {
				m.stamp = s
			}
		}
		switch {
		case found == nil:
			found = m
		case found.id == m.id:
		case m.stamp.After(found.stamp):
			m.dups = append(found.dups, found.id)
			found = m
		default:
			found.dups = append(found.dups, m.id)
		}
	}
	return found, nil
}

// odataString quotes s as an OData string literal.
func odataString(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// TransactionID is the transactionId of the create for (clientEventID,
// requestedAt): the same request retried after a lost answer reuses it,
// so Graph returns the event it made instead of making a second one; a
// later request for the event makes a new one.
func TransactionID(clientEventID string, requestedAt time.Time) string {
	sum := sha256.Sum256([]byte("mailbridge-event\x00" + clientEventID + "\x00" + requestedAt.UTC().Format(time.RFC3339Nano)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50 // shaped as a name-based UUID
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func stampProp(requestedAt time.Time) graph.SingleValueExtendedProperty {
	return graph.SingleValueExtendedProperty{ID: StampProperty, Value: requestedAt.UTC().Format(time.RFC3339Nano)}
}

// when is an EventSpec time as Graph takes it: the local time in the
// spec's zone. A zone this adapter cannot place is written in UTC (the
// instant stays right; Outlook shows it in the viewer's zone anyway).
func when(t time.Time, zone string) *graph.DateTimeTimeZone {
	loc, ok := zoneLocation(zone)
	if !ok || zone == "" {
		loc, zone = time.UTC, "UTC"
	}
	return &graph.DateTimeTimeZone{DateTime: t.In(loc).Format("2006-01-02T15:04:05.0000000"), TimeZone: zone}
}

func attendees(as []domain.Address) []graph.Attendee {
	out := make([]graph.Attendee, 0, len(as))
	for _, a := range as {
		out = append(out, graph.Attendee{Type: "required", EmailAddress: graph.EmailAddress{Name: a.Name, Address: a.Email}})
	}
	return out
}

// PutEvent implements domain.CalendarWriter: the look-up, then one create
// or update (and a delete per duplicate found).
//
// Invitations: Graph has no equivalent of EWS's SendToNone. An event with
// attendees in the organizer's calendar is a meeting, and Graph sends
// invitations when it is created and updates when it changes. So
// without notify a new event is created without its attendees (nobody is
// invited; the event is not a meeting), and an update leaves the
// attendees as they are (replacing them would send cancellations to the
// ones removed); an update of an event that already has attendees does
// notify them, which Graph cannot prevent.
func (w *Writer) putEvent(ctx context.Context, m domain.MailboxRef, clientEventID string, ev domain.EventSpec, notify bool, requestedAt time.Time) (domain.EventWrite, error) {
	user := m.Address
	found, err := w.find(ctx, user, clientEventID)
	if err != nil {
		return domain.EventWrite{}, err
	}
	if found == nil {
		e := &graph.Event{
			Subject: ev.Subject, Body: &graph.ItemBody{ContentType: "text", Content: ev.Body},
			Start: when(ev.Start, ev.TimeZone), End: when(ev.End, ev.TimeZone),
			TransactionID: TransactionID(clientEventID, requestedAt),
			SingleValueExtendedProperties: []graph.SingleValueExtendedProperty{
				{ID: MarkerProperty, Value: clientEventID}, stampProp(requestedAt),
			},
		}
		if ev.Location != "" {
			e.Location = &graph.Location{DisplayName: ev.Location}
		}
		if notify && len(ev.Attendees) > 0 {
			e.Attendees = attendees(ev.Attendees)
		}
		created, err := w.cl.CreateEvent(ctx, user, e)
		if err != nil {
			return domain.EventWrite{}, classify(err, useWrite, "")
		}
		return domain.EventWrite{Result: domain.EventCreated, ItemID: created.ID, ChangeKey: created.ChangeKey}, nil
	}
	if found.stamp.After(requestedAt) {
		return domain.EventWrite{Result: domain.EventSuperseded, ItemID: found.id}, nil
	}
	patch := map[string]any{
		"subject":                       ev.Subject,
		"body":                          graph.ItemBody{ContentType: "text", Content: ev.Body},
		"start":                         when(ev.Start, ev.TimeZone),
		"end":                           when(ev.End, ev.TimeZone),
		"location":                      graph.Location{DisplayName: ev.Location},
		"singleValueExtendedProperties": []graph.SingleValueExtendedProperty{stampProp(requestedAt)},
	}
	if notify {
		patch["attendees"] = attendees(ev.Attendees)
	}
	// No If-Match: like the EWS writer's AutoResolve, a concurrent edit by
	// the user is merged rather than failing the write.
	updated, err := w.cl.UpdateEvent(ctx, user, found.id, patch, "")
	if err != nil {
		return domain.EventWrite{}, classify(err, useWrite, "")
	}
	if err := w.deleteEvents(ctx, user, found.dups); err != nil {
		return domain.EventWrite{}, err
	}
	id := updated.ID
	if id == "" {
		id = found.id
	}
	return domain.EventWrite{Result: domain.EventUpdated, ItemID: id, ChangeKey: updated.ChangeKey}, nil
}

// DeleteEvent implements domain.CalendarWriter: the look-up, then one
// delete per event carrying the marker. Graph sends the attendees of a
// meeting a cancellation when the organizer deletes it, with or without
// notify: it has no way to delete a meeting silently.
func (w *Writer) deleteEvent(ctx context.Context, m domain.MailboxRef, clientEventID string, notify bool, requestedAt time.Time) (domain.EventWrite, error) {
	user := m.Address
	found, err := w.find(ctx, user, clientEventID)
	if err != nil {
		return domain.EventWrite{}, err
	}
	if found == nil {
		return domain.EventWrite{}, domain.ErrEventNotFound
	}
	if found.stamp.After(requestedAt) {
		return domain.EventWrite{Result: domain.EventSuperseded, ItemID: found.id}, nil
	}
	if err := w.deleteEvents(ctx, user, append(found.dups, found.id)); err != nil {
		return domain.EventWrite{}, err
	}
	return domain.EventWrite{Result: domain.EventDeleted}, nil
}

// endEvent moves the end of the marked event: the look-up (with the
// event's start and end, checked here against the event as Exchange holds
// it, so an event the user moved or shortened is never extended), then
// one PATCH of end and the stamp. The new end is written in UTC (the
// instant is what matters; Outlook shows it in the viewer's zone). Graph
// sends the attendees of a meeting an update when its organizer changes
// it, which it offers no way to prevent (see putEvent).
func (w *Writer) endEvent(ctx context.Context, m domain.MailboxRef, clientEventID string, end, requestedAt time.Time) (domain.EventWrite, error) {
	user := m.Address
	found, err := w.find(ctx, user, clientEventID, true)
	if err != nil {
		return domain.EventWrite{}, err
	}
	if found == nil {
		return domain.EventWrite{}, domain.ErrEventNotFound
	}
	if found.stamp.After(requestedAt) {
		return domain.EventWrite{Result: domain.EventSuperseded, ItemID: found.id}, nil
	}
	if err := domain.CheckEndable(found.start, found.end, end); err != nil {
		return domain.EventWrite{}, err
	}
	patch := map[string]any{
		"end":                           when(end, ""),
		"singleValueExtendedProperties": []graph.SingleValueExtendedProperty{stampProp(requestedAt)},
	}
	updated, err := w.cl.UpdateEvent(ctx, user, found.id, patch, "")
	if err != nil {
		return domain.EventWrite{}, classify(err, useWrite, "")
	}
	if err := w.deleteEvents(ctx, user, found.dups); err != nil {
		return domain.EventWrite{}, err
	}
	id := updated.ID
	if id == "" {
		id = found.id
	}
	return domain.EventWrite{Result: domain.EventEnded, ItemID: id, ChangeKey: updated.ChangeKey}, nil
}

// EndEvent implements domain.CalendarWriter (endEvent), reporting the
// item id in the tenant's id format.
func (w *Writer) EndEvent(ctx context.Context, m domain.MailboxRef, clientEventID string, end, requestedAt time.Time) (domain.EventWrite, error) {
	res, err := w.endEvent(ctx, m, clientEventID, end, requestedAt)
	if err != nil {
		return res, err
	}
	return w.reportID(ctx, m.Address, res)
}

// deleteEvents deletes events found by their marker; one already gone
// counts as deleted.
func (w *Writer) deleteEvents(ctx context.Context, user string, ids []string) error {
	for _, id := range ids {
		if err := w.cl.DeleteEvent(ctx, user, id); err != nil && graph.Classify(err) != graph.ClassNotFound {
			return classify(err, useWrite, "")
		}
	}
	return nil
}

// PutEvent implements domain.CalendarWriter (putEvent), reporting the
// item id in the tenant's id format.
func (w *Writer) PutEvent(ctx context.Context, m domain.MailboxRef, clientEventID string, ev domain.EventSpec, notify bool, requestedAt time.Time) (domain.EventWrite, error) {
	res, err := w.putEvent(ctx, m, clientEventID, ev, notify, requestedAt)
	if err != nil {
		return res, err
	}
	return w.reportID(ctx, m.Address, res)
}

// DeleteEvent implements domain.CalendarWriter (deleteEvent), reporting
// the item id in the tenant's id format.
func (w *Writer) DeleteEvent(ctx context.Context, m domain.MailboxRef, clientEventID string, notify bool, requestedAt time.Time) (domain.EventWrite, error) {
	res, err := w.deleteEvent(ctx, m, clientEventID, notify, requestedAt)
	if err != nil {
		return res, err
	}
	return w.reportID(ctx, m.Address, res)
}

// reportID translates a write's item id to its EWS id for a tenant with
// EWS ids: one translateExchangeIds call. The write is done either way;
// an id that cannot be translated (the event was deleted meanwhile) is
// left empty rather than reported in the wrong format.
func (w *Writer) reportID(ctx context.Context, user string, res domain.EventWrite) (domain.EventWrite, error) {
	if !w.ewsIDs || res.ItemID == "" {
		return res, nil
	}
	out, err := w.cl.TranslateExchangeIDs(ctx, user, graph.TranslateRequest{InputIDs: []string{res.ItemID},
		SourceIDType: graph.IDFormatRESTImmutable, TargetIDType: graph.IDFormatEWS})
	if err != nil {
		return domain.EventWrite{}, classify(err, useWrite, "")
	}
	res.ItemID = ""
	if len(out) == 1 && graph.ConvertErr(out[0]) == nil {
		res.ItemID = out[0].TargetID
	}
	return res, nil
}
