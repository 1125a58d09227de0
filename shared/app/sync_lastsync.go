package app

import (
	"fmt"
	"time"
)

// ParseLastSyncRefresh reads the operator's setting of
// Syncer.LastSyncRefresh (MAILBRIDGE_LASTSYNC_REFRESH, docs/configuration.md):
// a Go duration from 1s to MaxLastSyncRefresh, or "0" or "every" for every
// sync (LastSyncEverySync). The cost of each setting is in
// docs/configuration.md.
func ParseLastSyncRefresh(s string) (time.Duration, error) {
	if s == "every" || s == "0" {
		return LastSyncEverySync, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration (such as 15m or 1h) nor every")
	}
	if d == 0 {
		return LastSyncEverySync, nil
	}
	if d < time.Second || d > MaxLastSyncRefresh {
		return 0, fmt.Errorf("must be every (or 0), or between 1s and %v", MaxLastSyncRefresh)
	}
	return d, nil
}
