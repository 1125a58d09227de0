package storeplan

import (
	"fmt"
	"maps"
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

// up is an upsert of EWS id id (key ck) in folder, immutable id imm.
func up(id, ck, folder, imm string) domain.ItemChange {
	c := ch("update", id, ck)
	c.Item.FolderID, c.ImmutableID = folder, imm
	return c
}

// gone is a removal known by its immutable id, reported by folder.
func gone(imm, folder string) domain.ItemChange {
	return domain.ItemChange{Kind: domain.ChangeDelete, ImmutableID: imm, FolderID: folder}
}

func TestPlanIndexed(t *testing.T) {
	live := map[string]ItemState{"e1": {Keys: []string{"1"}, Folder: "A"}}
	idx := map[string]string{"X": "e1"}
	for _, tc := range []struct {
		name    string
		stored  map[string]ItemState
		index   map[string]string
		changes []domain.ItemChange
		want    []string // entries, then "alias X e" for index writes no entry carries
	}{
		{"a removal deletes the item the index names", live, idx, []domain.ItemChange{gone("X", "A")}, []string{"delete e1 1"}},
		{"a removal unknown to the index is nothing", live, idx, []domain.ItemChange{gone("Y", "A")}, nil},
		{"a removal from another folder is nothing", live, idx, []domain.ItemChange{gone("X", "B")}, nil},
		{"a move read in the new folder first", live, idx, []domain.ItemChange{up("e2", "2", "B", "X"), gone("X", "A")},
			[]string{"delete e1 1", "update e2 2 X"}},
		{"a move read in the old folder first", live, idx, []domain.ItemChange{gone("X", "A"), up("e2", "2", "B", "X")},
			[]string{"delete e1 1", "update e2 2 X"}},
		{"a move whose old id is already deleted", map[string]ItemState{"e1": {Keys: []string{"1"}, Folder: "A", Deleted: true}}, idx,
			[]domain.ItemChange{up("e2", "2", "B", "X")}, []string{"update e2 2 X"}},
		{"an unchanged item fills the index", live, nil, []domain.ItemChange{up("e1", "1", "A", "X")}, []string{"alias X e1"}},
		{"an unchanged, indexed item is nothing", live, idx, []domain.ItemChange{up("e1", "1", "A", "X")}, nil},
		{"an update keeps its index entry", live, idx, []domain.ItemChange{up("e1", "3", "A", "X")}, []string{"update e1 3 X"}},
		{"a replay after a later move leaves the index alone",
			map[string]ItemState{"e1": {Keys: []string{"1"}, Folder: "A", Deleted: true}, "e2": {Keys: []string{"2"}, Folder: "B"}},
			map[string]string{"X": "e2"}, []domain.ItemChange{up("e1", "1", "A", "X"), gone("X", "A")}, nil},
		{"a new item fills the index with its create", nil, nil, []domain.ItemChange{up("e1", "1", "A", "X")}, []string{"update e1 1 X"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, _, aliases := PlanIndexed(tc.changes, tc.stored, tc.index)
			var got []string
			for _, e := range entries {
				kind := e.Kind
				if kind == domain.ChangeCreate {
					kind = domain.ChangeUpdate // the kind is Plan's business, tested above
				}
				s := fmt.Sprintf("%s %s %s", kind, e.ItemID, e.ChangeKey)
				if e.Alias != "" {
					s += " " + e.Alias
				}
				got = append(got, s)
			}
			for _, x := range slices.Sorted(maps.Keys(aliases)) {
				got = append(got, "alias "+x+" "+aliases[x])
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("PlanIndexed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateImmutableDelete(t *testing.T) {
	if err := Validate("t", "m", []domain.ItemChange{gone("X", "A")}); err != nil {
		t.Fatalf("a delete by immutable id: %v", err)
	}
	both := gone("X", "A")
	both.ItemID = "e1"
	if err := Validate("t", "m", []domain.ItemChange{both}); err == nil {
		t.Fatal("a delete by immutable id with an item id was accepted")
	}
	if err := Validate("t", "m", []domain.ItemChange{{Kind: domain.ChangeDelete}}); err == nil {
		t.Fatal("a delete without any id was accepted")
	}
}
