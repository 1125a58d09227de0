package ewsmailbox

// exceptions.go reads what a series' modified occurrences carry of their
// own. ModifiedOccurrences gives each exception's id and times only; its
// subject, location and cancelled flag are on the exception item, read
// with GetItem in batches of ews.MaxGetItemIDs.
//
// Cost: one GetItem call per 100 exceptions of the masters in one GetItems
// batch (at most domain.MaxItemOccurrences per master, what the feed
// keeps); a batch with no modified series costs nothing more. A quiet
// mailbox re-reads a master only when it changed, and any change to an
// exception changes its master.

import (
	"context"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

func (a *Access) fillExceptions(ctx context.Context, cl *ews.Client, t ews.Target, items []domain.Item) error {
	type at struct{ item, occ int }
	var ids []string
	var where []at
	for i := range items {
		for j := range items[i].ModifiedOccurrences {
			if j >= domain.MaxItemOccurrences {
				break
			}
			if id := items[i].ModifiedOccurrences[j].ItemID; id != "" {
				ids = append(ids, id)
				where = append(where, at{i, j})
			}
		}
	}
	for lo := 0; lo < len(ids); lo += ews.MaxGetItemIDs {
		hi := min(lo+ews.MaxGetItemIDs, len(ids))
		results, err := cl.GetItem(ctx, t, ids[lo:hi], ews.ShapeOccurrence)
		if err != nil {
			return classify(useRead, err, "")
		}
		for k, r := range results {
			if r.Err != nil {
				// Gone meanwhile (the series changed again): its master
				// changes too and is read again by the next sync.
				if ae := classify(useRead, r.Err, ""); ae.Kind != domain.AccessPermanent {
					return ae
				}
				continue
			}
			if r.Item == nil {
				continue
			}
			w := where[lo+k]
			o := &items[w.item].ModifiedOccurrences[w.occ]
			o.Subject, o.Location, o.IsCancelled = r.Item.Subject, r.Item.Location, r.Item.IsCancelled
			if o.Bound() {
				items[w.item].Truncated = true
			}
		}
	}
	return nil
}
