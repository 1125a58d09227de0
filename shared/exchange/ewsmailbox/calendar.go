package ewsmailbox

// calendar.go owns the calendar writes: domain.CalendarConnector and
// domain.CalendarWriter, kept apart from the sync reads (read.go) so the
// sync path has no write operation to call.
//
// Every item it creates carries Mailbridge's marker, an extended property
// in Mailbridge's own property set holding the client's event id. It finds
// items only by that marker (FindItem with a restriction on it, one call)
// and checks the value exactly before acting, so an item Mailbridge did not
// create (a user's own meeting with the same subject, say) is never
// updated or deleted: the writer has "author" access only, in code.
//
// It never retries: failures come back as *domain.AccessError for the
// calendar write use case, which hands retries to the retry owner.

import (
	"context"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// PropertySetID is Mailbridge's MAPI property set. It is fixed forever:
// changing it would orphan every event written before.
const PropertySetID = "6a1e7f4c-2b8d-4e39-9c57-0d3f8b2a91e5"

var (
	// MarkerField holds the client's event id.
	MarkerField = ews.ExtendedField{PropertySetID: PropertySetID, PropertyName: "MailbridgeClientEventId", PropertyType: "String"}
	// StampField holds the RequestedAt of the request that last wrote the
	// item (RFC 3339, UTC), so an older request never overwrites a newer one.
	StampField = ews.ExtendedField{PropertySetID: PropertySetID, PropertyName: "MailbridgeRequestedAt", PropertyType: "String"}
)

// CalendarConnector builds each tenant's CalendarWriter over its own
// ClientCache, so a warm Lambda reuses connections and OAuth tokens.
type CalendarConnector struct {
	clients *ClientCache
}

// NewCalendarConnector returns a CalendarConnector building clients with opts.
func NewCalendarConnector(opts Options) *CalendarConnector {
	return &CalendarConnector{clients: NewClientCache(opts, maxCachedClients)}
}

var _ domain.CalendarConnector = (*CalendarConnector)(nil)

// ConnectCalendar returns the tenant's CalendarWriter. It does no network I/O.
func (c *CalendarConnector) ConnectCalendar(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.CalendarWriter, error) {
	w := &Writer{clients: c.clients.For(t, cred)}
	if _, err := w.clients.Client(t.EWSURL); err != nil {
		return nil, clientConfigError(err)
	}
	return w, nil
}

// Writer is one tenant's domain.CalendarWriter.
type Writer struct {
	clients TenantClients
}

var _ domain.CalendarWriter = (*Writer)(nil)

var (
	calendarFolder = ews.FolderRef{Distinguished: "calendar"}
	deletedFolder  = ews.FolderRef{Distinguished: "deleteditems"}
)

// marked is the item found for a client event id.
type marked struct {
	ref   ews.ItemRef
	stamp time.Time // zero when absent or unreadable
	// start and end, when asked for (find's fields)
	start, end time.Time
	// dups are further items with the same marker: two first writes of one
	// event that ran at the same time each created one. The next write
	// keeps the newest and deletes these, so duplicates do not outlive it.
	dups []ews.ItemRef
}

// find returns the item in folder carrying the marker with exactly
// clientEventID, or nil. The server compares strings ignoring case, so the
// exact value is checked here: an id differing only in case is another
// event.
//
// fields are further properties to read (calendar:Start and calendar:End
// for an end request), on the calendar folder only.
func (w *Writer) find(ctx context.Context, cl *ews.Client, t ews.Target, folder ews.FolderRef, clientEventID string, fields ...string) (*marked, error) {
	res, err := cl.FindItem(ctx, t, folder, ews.FindItemOptions{
		Shape:       ews.Shape{Base: "IdOnly", Fields: fields, Extended: []ews.ExtendedField{MarkerField, StampField}},
		Page:        &ews.PageView{MaxEntries: 10},
		Restriction: &ews.Restriction{Field: MarkerField, Value: clientEventID},
	})
	if err != nil {
		return nil, classify(useWrite, err, "")
	}
	var found *marked
	for _, it := range res.Items {
		if value(it, MarkerField) != clientEventID {
			continue
		}
		m := &marked{ref: ews.ItemRef{ID: it.ItemID, ChangeKey: it.ChangeKey}, start: it.Start, end: it.End}
		if s, err := time.Parse(time.RFC3339Nano, value(it, StampField)); err == nil {
			m.stamp = s
		}
		switch {
		case found == nil:
			found = m
		case m.stamp.After(found.stamp):
			m.dups = append(found.dups, found.ref)
			found = m
		default:
			found.dups = append(found.dups, m.ref)
		}
	}
	return found, nil
}

// deleteItems moves items Mailbridge wrote to Deleted Items; one already
// gone counts as deleted.
func deleteItems(ctx context.Context, cl *ews.Client, t ews.Target, refs []ews.ItemRef, send ews.SendMode) error {
	for _, d := range refs {
		if err := cl.DeleteItem(ctx, t, d, ews.MoveToDeletedItems, send); err != nil && !itemGone(err) {
			return classify(useWrite, err, "")
		}
	}
	return nil
}

// value returns the item's value of an extended property, "" if absent.
func value(it ews.Item, f ews.ExtendedField) string {
	for _, p := range it.ExtendedProperties {
		// GUIDs compare ignoring case.
		if p.Field.PropertyName == f.PropertyName && strings.EqualFold(p.Field.PropertySetID, f.PropertySetID) {
			return p.Value
		}
	}
	return ""
}

func stamp(requestedAt time.Time) ews.ExtendedProperty {
	return ews.ExtendedProperty{Field: StampField, Value: requestedAt.UTC().Format(time.RFC3339Nano)}
}

func mailboxes(as []domain.Address) []ews.Mailbox {
	out := make([]ews.Mailbox, 0, len(as))
	for _, a := range as {
		out = append(out, ews.Mailbox{Name: a.Name, EmailAddress: a.Email})
	}
	return out
}

// PutEvent implements domain.CalendarWriter: one FindItem, then one
// CreateItem or UpdateItem (and a DeleteItem per duplicate found).
func (w *Writer) PutEvent(ctx context.Context, m domain.MailboxRef, clientEventID string, ev domain.EventSpec, notify bool, requestedAt time.Time) (domain.EventWrite, error) {
	cl, t, err := w.clients.Target(m)
	if err != nil {
		return domain.EventWrite{}, err
	}
	found, err := w.find(ctx, cl, t, calendarFolder, clientEventID)
	if err != nil {
		return domain.EventWrite{}, err
	}
	send := ews.SendToNone
	if notify && len(ev.Attendees) > 0 {
		send = ews.SendToAllAndSaveCopy
	}
	if found == nil {
		ref, err := cl.CreateItem(ctx, t, calendarFolder, ews.CalendarEvent{
			Subject: ev.Subject, Body: ev.Body, Start: ev.Start, End: ev.End, TimeZone: ev.TimeZone,
			Location: ev.Location, RequiredAttendees: mailboxes(ev.Attendees),
			ExtendedProperties: []ews.ExtendedProperty{{Field: MarkerField, Value: clientEventID}, stamp(requestedAt)},
		}, send)
		if err != nil {
			return domain.EventWrite{}, classify(useWrite, err, "")
		}
		return domain.EventWrite{Result: domain.EventCreated, ItemID: ref.ID, ChangeKey: ref.ChangeKey}, nil
	}
	if found.stamp.After(requestedAt) {
		return domain.EventWrite{Result: domain.EventSuperseded, ItemID: found.ref.ID}, nil
	}
	attendees := mailboxes(ev.Attendees)
	upd := ews.CalendarUpdate{
		Subject: &ev.Subject, Body: &ev.Body, Start: &ev.Start, End: &ev.End, Location: &ev.Location,
		RequiredAttendees: &attendees, ExtendedProperties: []ews.ExtendedProperty{stamp(requestedAt)},
	}
	if ev.TimeZone != "" {
		upd.TimeZone = &ev.TimeZone
	}
	// AutoResolve with the ChangeKey just read: Exchange merges a
	// concurrent edit by the user instead of failing the write.
	ref, err := cl.UpdateItem(ctx, t, found.ref, upd, send, ews.AutoResolve)
	if err != nil {
		return domain.EventWrite{}, classify(useWrite, err, "")
	}
	if err := deleteItems(ctx, cl, t, found.dups, send); err != nil {
		return domain.EventWrite{}, err
	}
	return domain.EventWrite{Result: domain.EventUpdated, ItemID: ref.ID, ChangeKey: ref.ChangeKey}, nil
}

// DeleteEvent implements domain.CalendarWriter: one FindItem, one
// UpdateItem that stamps the item with this request's time, then one
// DeleteItem (to Deleted Items, so a mistake can be undone by the user).
//
// The stamp makes a redelivered delete exact: when the process died after
// DeleteItem and the queue delivers the request again, the item is found
// in Deleted Items still marked, stamped with this request's time, and the
// answer is deleted rather than not_found (one more FindItem, on this path
// only). Any other request for an event no longer in the calendar, and a
// client event id never written, still get not_found.
func (w *Writer) DeleteEvent(ctx context.Context, m domain.MailboxRef, clientEventID string, notify bool, requestedAt time.Time) (domain.EventWrite, error) {
	cl, t, err := w.clients.Target(m)
	if err != nil {
		return domain.EventWrite{}, err
	}
	found, err := w.find(ctx, cl, t, calendarFolder, clientEventID)
	if err != nil {
		return domain.EventWrite{}, err
	}
	if found == nil {
		gone, err := w.find(ctx, cl, t, deletedFolder, clientEventID)
		if err != nil {
			return domain.EventWrite{}, err
		}
		if gone != nil && gone.stamp.Equal(requestedAt) {
			return domain.EventWrite{Result: domain.EventDeleted}, nil
		}
		return domain.EventWrite{}, domain.ErrEventNotFound
	}
	if found.stamp.After(requestedAt) {
		return domain.EventWrite{Result: domain.EventSuperseded, ItemID: found.ref.ID}, nil
	}
	ref, err := cl.UpdateItem(ctx, t, found.ref, ews.CalendarUpdate{ExtendedProperties: []ews.ExtendedProperty{stamp(requestedAt)}},
		ews.SendToNone, ews.AutoResolve)
	if err != nil {
		return domain.EventWrite{}, classify(useWrite, err, "")
	}
	send := ews.SendToNone
	if notify {
		send = ews.SendToAllAndSaveCopy
	}
	if err := deleteItems(ctx, cl, t, append(found.dups, ref), send); err != nil {
		return domain.EventWrite{}, err
	}
	return domain.EventWrite{Result: domain.EventDeleted}, nil
}

// EndEvent implements domain.CalendarWriter: one FindItem reading the
// item's start and end with its marks, then one UpdateItem of End (and a
// DeleteItem per duplicate found). It checks the request against the item
// as Exchange holds it, so an event the user moved or shortened is never
// extended. Attendees get no update (SendToNone).
func (w *Writer) EndEvent(ctx context.Context, m domain.MailboxRef, clientEventID string, end, requestedAt time.Time) (domain.EventWrite, error) {
	cl, t, err := w.clients.Target(m)
	if err != nil {
		return domain.EventWrite{}, err
	}
	found, err := w.find(ctx, cl, t, calendarFolder, clientEventID, "calendar:Start", "calendar:End")
	if err != nil {
		return domain.EventWrite{}, err
	}
	if found == nil {
		return domain.EventWrite{}, domain.ErrEventNotFound
	}
	if found.stamp.After(requestedAt) {
		return domain.EventWrite{Result: domain.EventSuperseded, ItemID: found.ref.ID}, nil
	}
	if err := domain.CheckEndable(found.start, found.end, end); err != nil {
		return domain.EventWrite{}, err
	}
	ref, err := cl.UpdateItem(ctx, t, found.ref, ews.CalendarUpdate{End: &end, ExtendedProperties: []ews.ExtendedProperty{stamp(requestedAt)}},
		ews.SendToNone, ews.AutoResolve)
	if err != nil {
		return domain.EventWrite{}, classify(useWrite, err, "")
	}
	if err := deleteItems(ctx, cl, t, found.dups, ews.SendToNone); err != nil {
		return domain.EventWrite{}, err
	}
	return domain.EventWrite{Result: domain.EventEnded, ItemID: ref.ID, ChangeKey: ref.ChangeKey}, nil
}
