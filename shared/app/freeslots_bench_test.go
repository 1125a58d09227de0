package app

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// BenchmarkFreeSlotsLargest: the largest request the API takes, 500
// mailboxes in 20 groups over 62 days at 5 minutes (17,856 candidates),
// each mailbox with a meeting a working day.
func BenchmarkFreeSlotsLargest(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	busy := map[string][]domain.BusyInterval{}
	var all []string
	for i := range 500 {
		m := fmt.Sprintf("m%03d", i)
		all = append(all, m)
		for d := range 62 {
			s := day0.AddDate(0, 0, d).Add(time.Duration(8*60+rng.IntN(9*60)) * time.Minute)
			busy[m] = append(busy[m], domain.BusyInterval{Start: s, End: s.Add(time.Hour), Status: domain.BusyBusy})
		}
	}
	var groups []SlotGroup
	for g := range 20 {
		kind, n := SlotGroupAny, 1
		if g%2 == 0 {
			kind, n = SlotGroupAll, 0
		}
		groups = append(groups, SlotGroup{Kind: kind, Count: n, Mailboxes: all[g*25 : g*25+25]})
	}
	q := SlotQuery{Start: day0, End: day0.AddDate(0, 0, 62), Meeting: 30 * time.Minute, Step: 5 * time.Minute, Groups: groups, Max: MaxFreeSlots}
	b.ResetTimer()
	for range b.N {
		FreeSlots(q, busy)
	}
}
