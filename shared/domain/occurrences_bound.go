package domain

import "strings"

// boundOccurrences cuts a series master's occurrence lists to
// MaxItemOccurrences and each modified occurrence's subject and location
// to MaxItemValueText; it reports whether anything was cut.
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
	for i := range it.ModifiedOccurrences {
		o := &it.ModifiedOccurrences[i]
		for _, s := range []*string{&o.Subject, &o.Location} {
			if len(*s) > MaxItemValueText {
				*s = strings.ToValidUTF8((*s)[:MaxItemValueText], "")
				cut = true
			}
		}
	}
	return cut
}
