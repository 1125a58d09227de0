package graphmailbox

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// The synced item of an event Mailbridge wrote carries the client's event
// id (domain.Item.ClientEventID), read from Mailbridge's marker property.
// An event read by id takes the marker in the same request ($expand).
// Graph's event delta takes no $expand, so events of a delta page are
// looked up by id afterwards: one $batch per 20 such events, each
// sub-request asking for the id and the marker only. Only events created
// through the API with a transactionId (Mailbridge's writer always sets
// one) are looked up, so events users make in Outlook cost nothing extra.

// expandMarker asks for Mailbridge's marker with an event.
var expandMarker = "singleValueExtendedProperties($filter=id eq '" + MarkerProperty + "')"

// maxClientEventID is the longest client event id the API accepts; a
// longer marker value is no id Mailbridge wrote.
const maxClientEventID = 128

// clientEventID is the event's marker value, "" for events Mailbridge
// did not write.
func clientEventID(e graph.Event) string {
	v, ok := e.ExtendedProperty(MarkerProperty)
	if !ok || len(v) > maxClientEventID {
		return ""
	}
	return v
}

// markEvents sets ClientEventID on the events named by ids (among items)
// that carry Mailbridge's marker. Events gone meanwhile are left unmarked
// (their delete comes with the next round).
func (a *Access) markEvents(ctx context.Context, user string, items []domain.Item, ids []string) error {
	idx := map[string]int{}
	for i, it := range items {
		if it.Kind == domain.KindCalendar && it.ID != "" {
			idx[it.ID] = i
		}
	}
	for chunk := range slices.Chunk(ids, graph.MaxBatchRequests) {
		reqs := make([]graph.BatchRequest, len(chunk))
		for i, id := range chunk {
			reqs[i] = graph.BatchRequest{Method: "GET", URL: graph.ItemPath("users", user, "events", id) + "?" + encodeQuery("$select", "id", "$expand", expandMarker)}
		}
		resps, err := a.cl.Batch(ctx, user, reqs)
		if err != nil {
			return classify(err, useFolder, CalendarFolderID)
		}
		for i, r := range resps {
			if err := batchErr(r); err != nil {
				switch graph.Classify(err) {
				case graph.ClassNotFound, graph.ClassPermanent, graph.ClassInvalid:
					continue
				}
				return classify(err, useFolder, CalendarFolderID)
			}
			var e graph.Event
			if json.Unmarshal(r.Body, &e) != nil {
				continue
			}
			id := e.ID
			if id == "" && i < len(chunk) {
				id = chunk[i]
			}
			if j, ok := idx[id]; ok {
				items[j].ClientEventID = clientEventID(e)
			}
		}
	}
	return nil
}
