package domain

import "strings"

// boundOccurrences cuts a series master's occurrence lists to
// MaxItemOccurrences, each modified occurrence's id, subject and location
// to MaxItemValueText and all of them to MaxItemOccurrenceBytes, and the
// join URL to MaxItemText; it reports whether anything was cut.
func (it *Item) boundOccurrences() bool {
	cut := false
	if len(it.ModifiedOccurrences) > MaxItemOccurrences {
		it.ModifiedOccurrences = it.ModifiedOccurrences[:MaxItemOccurrences]
		cut = true
	}
	if len(it.DeletedOccurrences) > MaxItemOccurrences {
		it.DeletedOccurrences = it.DeletedOccurrences[:MaxItemOccurrences]
		cut = true
	}
	// The modified occurrences' texts share one budget, as the address
	// lists do, counted as JSON encodes them: occurrences are kept in
	// order until it is spent.
	budget := MaxItemOccurrenceBytes
	for i := range it.ModifiedOccurrences {
		o := &it.ModifiedOccurrences[i]
		for _, s := range []*string{&o.ItemID, &o.Subject, &o.Location} {
			if len(*s) > MaxItemValueText {
				*s = strings.ToValidUTF8((*s)[:MaxItemValueText], "")
				cut = true
			}
		}
		budget -= jsonCost(o.ItemID) + jsonCost(o.Subject) + jsonCost(o.Location)
		if budget < 0 {
			it.ModifiedOccurrences = it.ModifiedOccurrences[:i]
			cut = true
			break
		}
	}
	if len(it.OnlineMeetingURL) > MaxItemText {
		it.OnlineMeetingURL = strings.ToValidUTF8(it.OnlineMeetingURL[:MaxItemText], "")
		cut = true
	}
	return cut
}

// MaxItemOccurrenceBytes bounds the ids, subjects and locations of a
// series master's modified occurrences together, counted as JSON encodes
// them (250 occurrences of real ids and titles take about 60 KB less).
const MaxItemOccurrenceBytes = 64 << 10
