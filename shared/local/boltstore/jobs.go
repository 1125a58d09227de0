package boltstore

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// bJobs holds the progress of returning sync jobs, in the tenant's bucket
// (so PurgeTenant's DeleteBucket removes it): jobID → jobRecord.
var bJobs = []byte("jobs")

var _ domain.JobProgressStore = (*Store)(nil)

type jobRecord struct {
	Expires time.Time `json:"expires"`
	Done    []string  `json:"done"` // sorted, no duplicates
}

func checkJob(tenantID, jobID string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	return storeplan.CheckJobID(jobID)
}

// MarkJobDone adds mailboxes to the job's done set and moves its expiry to
// now+ttl. An expired record starts afresh; the tenant's other expired
// records are deleted on the way (marks are rare, the bucket small).
func (s *Store) MarkJobDone(_ context.Context, tenantID, jobID string, mailboxes []string, ttl time.Duration) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	set, err := storeplan.JobMark(jobID, mailboxes, ttl)
	if err != nil {
		return err
	}
	if len(set) == 0 {
		return nil
	}
	now := s.clock.Now()
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tenantBucketRW(tx, tenantID, bJobs)
		if err != nil {
			return err
		}
		var rec jobRecord
		var expired [][]byte
		err = b.ForEach(func(k, v []byte) error {
			var r jobRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			switch {
			case !now.Before(r.Expires):
				expired = append(expired, slices.Clone(k))
			case string(k) == jobID:
				rec = r
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Deleting inside ForEach would upset its cursor.
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		rec.Done = append(rec.Done, set...)
		slices.Sort(rec.Done)
		rec.Done = slices.Compact(rec.Done)
		rec.Expires = now.Add(ttl)
		return put(b, []byte(jobID), rec)
	})
}

// JobDone returns the job's done set; an expired record is absent.
func (s *Store) JobDone(_ context.Context, tenantID, jobID string) ([]string, error) {
	if err := checkJob(tenantID, jobID); err != nil {
		return nil, err
	}
	var rec jobRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := get(tenantBucket(tx, tenantID, bJobs), []byte(jobID), &rec)
		return err
	})
	if err != nil || !s.clock.Now().Before(rec.Expires) {
		return nil, err
	}
	return rec.Done, nil
}
