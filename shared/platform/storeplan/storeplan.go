// Package storeplan holds the rules both store adapters share: validating
// a batch of item changes and deciding which of them are news for the
// change feed, given what is stored. Keeping the rules in one place keeps
// the DynamoDB and embedded stores from drifting apart.
package storeplan

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Page size limits for every List/Read call.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Limit turns a caller's limit into the one used: DefaultLimit for zero or
// less, at most MaxLimit.
func Limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// KeepKeys is how many of an item's recent change keys are remembered.
const KeepKeys = 4

// ItemState is what a store keeps of an item to decide idempotency: its
// recent change keys (newest last), and whether the last change was a delete
// (a tombstone that remembers the keys, so a replayed create after a delete
// is not news). Exchange never reuses a change key, so a key seen before is
// a replay, even when a newer one has been stored since (a replayed batch
// holding two versions of one item).
//
// Folder is the folder of the latest version (kept by a tombstone too): with
// ids that survive moves, a move is a delete from one folder and an upsert
// into another, reported in either order.
type ItemState struct {
	Keys    []string
	Deleted bool
	Folder  string
	// Kind is the item's kind, kept by its tombstone so a delete can say
	// what went away; empty for items stored before it was kept.
	Kind domain.ItemKind
}

// movedAway reports whether a delete reported by folder is about an item
// stored in another folder, where it moved (nothing to delete).
func (s ItemState) movedAway(folder string) bool {
	return folder != "" && s.Folder != "" && folder != s.Folder
}

// ChangeKey is the newest key.
func (s ItemState) ChangeKey() string {
	if len(s.Keys) == 0 {
		return ""
	}
	return s.Keys[len(s.Keys)-1]
}

func (s ItemState) seen(key string) bool { return slices.Contains(s.Keys, key) }

func (s ItemState) with(key string) []string {
	keys := append(slices.Clone(s.Keys), key)
	if len(keys) > KeepKeys {
		keys = keys[len(keys)-KeepKeys:]
	}
	return keys
}

// Entry is one change that is news and goes to the feed.
type Entry struct {
	Kind      domain.ChangeKind
	ItemID    string
	ChangeKey string       // for deletes, the key of the deleted version
	State     ItemState    // the item's state after this entry
	Item      *domain.Item // nil for deletes
	// Alias, when set, is an immutable id the index must map to ItemID
	// once this entry's item is stored, in the same transaction.
	Alias string
}

// Validate checks a batch before anything is stored.
func Validate(tenantID, mailbox string, changes []domain.ItemChange) error {
	if tenantID == "" {
		return domain.Invalid("tenantId", "tenant id is required")
	}
	if mailbox == "" {
		return domain.Invalid("mailbox", "mailbox is required")
	}
	for i, c := range changes {
		switch {
		case c.Kind == domain.ChangeDelete && c.ImmutableID != "":
			// Known by its immutable id only: the index names the item.
			if c.ItemID != "" {
				return domain.Invalid("changes.itemId", "change %d: a delete by immutable id names no item id", i)
			}
			continue
		case c.ItemID == "":
			return domain.Invalid("changes.itemId", "change %d has no item id", i)
		}
		switch c.Kind {
		case domain.ChangeCreate, domain.ChangeUpdate:
			if c.ChangeKey == "" {
				return domain.Invalid("changes.changeKey", "change %d (%s of %s) has no change key", i, c.Kind, c.ItemID)
			}
			if c.Item == nil {
				return domain.Invalid("changes.item", "change %d (%s of %s) has no item", i, c.Kind, c.ItemID)
			}
			if c.Item.ID != c.ItemID {
				return domain.Invalid("changes.item.id", "change %d: item id %q differs from the change's %q", i, c.Item.ID, c.ItemID)
			}
			if c.Item.ChangeKey != "" && c.Item.ChangeKey != c.ChangeKey {
				return domain.Invalid("changes.item.changeKey", "change %d: item change key differs from the change's", i)
			}
		case domain.ChangeDelete:
		default:
			return domain.Invalid("changes.kind", "change %d has kind %q; want create, update or delete", i, c.Kind)
		}
	}
	return nil
}

// Plan is PlanIndexed for a batch without immutable ids.
func Plan(changes []domain.ItemChange, stored map[string]ItemState) ([]Entry, map[string]ItemState) {
	entries, final, _ := PlanIndexed(changes, stored, nil)
	return entries, final
}

// ImmutableIDs are the immutable ids of the batch, whose index entries a
// store reads before PlanIndexed.
func ImmutableIDs(changes []domain.ItemChange) []string {
	var ids []string
	seen := map[string]bool{}
	for _, c := range changes {
		if c.ImmutableID != "" && !seen[c.ImmutableID] {
			seen[c.ImmutableID] = true
			ids = append(ids, c.ImmutableID)
		}
	}
	return ids
}

// ItemIDs are the ids of the stored items PlanIndexed needs: the batch's
// and those the index names for its immutable ids (index: as read).
func ItemIDs(changes []domain.ItemChange, index map[string]string) []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, c := range changes {
		add(c.ItemID)
		add(index[c.ImmutableID])
	}
	return ids
}

// EntryAliases is the index entries that entries carry (Entry.Alias), the
// last entry's winning for an immutable id.
func EntryAliases(entries []Entry) map[string]string {
	out := map[string]string{}
	for _, e := range entries {
		if e.Alias != "" {
			out[e.Alias] = e.ItemID
		}
	}
	return out
}

// PlanIndexed walks the batch in order against the stored states (by item
// id; absent = never stored) and the mailbox's immutable-id index (immutable
// id → stored item id; absent = none), and returns the entries that are
// news, the resulting state of every item an entry touches, and the index
// entries to write that no entry carries. The stored state, not the
// change's kind, decides create versus update: a resync from scratch
// reports everything as created, and only items whose key changed are
// updates.
//
// The index serves ids that change when an item moves (EWS ids read over
// Graph) while Graph names removals by the immutable id. A delete by
// immutable id deletes the item the index names, under the usual folder
// rule. An upsert that is news and whose immutable id maps to another live
// item is a move that gave the item a new id: the feed gets a delete of the
// old id, then a create of the new one, as EWS reports a move, so the
// consumer's copy is keyed as Exchange's item now is, whichever folder is
// read first (read after, the old folder's removal finds the item stored in
// the new folder and deletes nothing). An upsert that is a replay only adds
// a missing index entry (the first Graph sync of items stored over EWS): it
// must not follow an index that a later move already moved on.
func PlanIndexed(changes []domain.ItemChange, stored map[string]ItemState, index map[string]string) ([]Entry, map[string]ItemState, map[string]string) {
	state := make(map[string]ItemState, len(stored))
	known := make(map[string]bool, len(stored))
	for id, st := range stored {
		state[id], known[id] = st, true
	}
	idx := maps.Clone(index)
	if idx == nil {
		idx = map[string]string{}
	}
	final := map[string]ItemState{}
	aliases := map[string]string{} // index writes no entry carries
	var out []Entry
	del := func(id string, st ItemState) {
		deleted := st.ChangeKey()
		st = ItemState{Keys: st.Keys, Deleted: true, Folder: st.Folder, Kind: st.Kind}
		out = append(out, Entry{Kind: domain.ChangeDelete, ItemID: id, ChangeKey: deleted, State: st})
		state[id], known[id], final[id] = st, true, st
	}
	for _, c := range changes {
		switch c.Kind {
		case domain.ChangeDelete:
			id := c.ItemID
			if c.ImmutableID != "" {
				id = idx[c.ImmutableID]
			}
			st, ok := state[id], known[id]
			if !ok || st.Deleted || st.movedAway(c.FolderID) {
				continue
			}
			del(id, st)
		default:
			st, ok := state[c.ItemID], known[c.ItemID]
			// A seen key is a replay, unless the item comes back from
			// another folder than the one its delete came from: a move
			// whose delete was applied first.
			movedBack := ok && st.Deleted && st.movedAway(c.Item.FolderID)
			if ok && st.seen(c.ChangeKey) && !movedBack {
				if x := c.ImmutableID; x != "" && idx[x] == "" {
					idx[x], aliases[x] = c.ItemID, c.ItemID
				}
				continue
			}
			if old := idx[c.ImmutableID]; c.ImmutableID != "" && old != "" && old != c.ItemID {
				if ost := state[old]; known[old] && !ost.Deleted {
					del(old, ost)
				}
			}
			kind := domain.ChangeUpdate
			if !ok || st.Deleted {
				kind = domain.ChangeCreate
			}
			item := *c.Item
			item.ChangeKey = c.ChangeKey
			keys := st.Keys
			if !st.seen(c.ChangeKey) {
				keys = st.with(c.ChangeKey)
			}
			st = ItemState{Keys: keys, Folder: c.Item.FolderID, Kind: c.Item.Kind}
			e := Entry{Kind: kind, ItemID: c.ItemID, ChangeKey: c.ChangeKey, Item: &item, State: st}
			if x := c.ImmutableID; x != "" {
				e.Alias = x
				idx[x] = c.ItemID
				delete(aliases, x)
			}
			out = append(out, e)
			state[c.ItemID], known[c.ItemID] = st, true
			final[c.ItemID] = st
		}
	}
	return out, final, aliases
}

// tenantIDPattern is what adapters accept as a tenant id where it becomes
// part of a name (secret names, file keys): no separators or path parts.
// The API's own rule (shared/app) is stricter.
var tenantIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckTenantID refuses a tenant id that could not safely become part of a
// resource name.
func CheckTenantID(id string) error {
	if !tenantIDPattern.MatchString(id) || strings.Contains(id, "..") {
		return domain.Invalid("tenantId", "tenant id must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return nil
}
