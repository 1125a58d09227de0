package storeplan

import (
	"slices"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// SnapshotAddresses validates the addresses of a GetSyncSnapshots call (the
// adapter checks the tenant id its own way) and returns them sorted, each
// once. A call serves one sync job, so it names at most
// domain.MaxJobMailboxes.
func SnapshotAddresses(addresses []string) ([]string, error) {
	if len(addresses) == 0 {
		return nil, domain.Invalid("addresses", "at least one mailbox address is required")
	}
	if len(addresses) > domain.MaxJobMailboxes {
		return nil, domain.Invalid("addresses", "at most %d mailboxes can be read at once, got %d", domain.MaxJobMailboxes, len(addresses))
	}
	if slices.Contains(addresses, "") {
		return nil, domain.Invalid("addresses", "a mailbox address is empty")
	}
	want := slices.Clone(addresses)
	slices.Sort(want)
	return slices.Compact(want), nil
}
