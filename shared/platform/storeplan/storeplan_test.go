package storeplan

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

func ch(kind domain.ChangeKind, id, ck string) domain.ItemChange {
	c := domain.ItemChange{Kind: kind, ItemID: id, ChangeKey: ck}
	if kind != domain.ChangeDelete {
		c.Item = &domain.Item{ID: id, Kind: domain.KindMessage}
	}
	return c
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stored  map[string]ItemState
		changes []domain.ItemChange
		want    []string
	}{
		{"new items are creates", nil, []domain.ItemChange{ch("create", "a", "1"), ch("update", "b", "1")}, []string{"create a 1", "create b 1"}},
		{"same key is not news", map[string]ItemState{"a": {Keys: []string{"1"}}}, []domain.ItemChange{ch("create", "a", "1")}, nil},
		{"new key on a stored item is an update", map[string]ItemState{"a": {Keys: []string{"1"}}}, []domain.ItemChange{ch("create", "a", "2")}, []string{"update a 2"}},
		{"delete of unknown is not news", nil, []domain.ItemChange{ch("delete", "a", "")}, nil},
		{"delete keeps the deleted key", map[string]ItemState{"a": {Keys: []string{"7"}}}, []domain.ItemChange{ch("delete", "a", "")}, []string{"delete a 7"}},
		{"tombstone absorbs a replayed create", map[string]ItemState{"a": {Keys: []string{"1"}, Deleted: true}}, []domain.ItemChange{ch("create", "a", "1"), ch("delete", "a", "")}, nil},
		{"re-create after delete", map[string]ItemState{"a": {Keys: []string{"1"}, Deleted: true}}, []domain.ItemChange{ch("update", "a", "2")}, []string{"create a 2"}},
		{"an older key replayed after a newer one", map[string]ItemState{"a": {Keys: []string{"1", "2"}}}, []domain.ItemChange{ch("create", "a", "1"), ch("update", "a", "2")}, nil},
		{"only the newest keys are kept", map[string]ItemState{"a": {Keys: []string{"1", "2", "3", "4"}}}, []domain.ItemChange{ch("update", "a", "5"), ch("update", "a", "1")}, []string{"update a 5", "update a 1"}},
		{"within one batch", nil, []domain.ItemChange{ch("create", "a", "1"), ch("create", "a", "1"), ch("update", "a", "2"), ch("delete", "a", ""), ch("delete", "a", "")}, []string{"create a 1", "update a 2", "delete a 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, final := Plan(tc.changes, tc.stored)
			var got []string
			for _, e := range entries {
				got = append(got, fmt.Sprintf("%s %s %s", e.Kind, e.ItemID, e.ChangeKey))
				if len(final[e.ItemID].Keys) == 0 {
					t.Fatalf("no final state for %s", e.ItemID)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Plan = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	for in, want := range map[int]int{-1: DefaultLimit, 0: DefaultLimit, 5: 5, MaxLimit: MaxLimit, MaxLimit + 1: MaxLimit} {
		if got := Limit(in); got != want {
			t.Errorf("Limit(%d) = %d, want %d", in, got, want)
		}
	}
}
