package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// bCalRetries holds the calendar writes the local run has accepted and
// not yet finished (shared/local/localretry, the stand-in for the SQS
// queue and the Step Functions executions that keep them in AWS):
// requestID 0x00 attempt (8 bytes, big endian; 0 is the first attempt,
// 1-3 the retries) → domain.CalendarRetry. A top-level bucket: a write of
// a purged tenant still runs and gives up (tenant not found).
var bCalRetries = []byte("calretries")

func calRetryKey(r domain.CalendarRetry) []byte {
	return join(r.Request.ID, u64(uint64(r.RetriesDone)))
}

func checkCalRetry(r domain.CalendarRetry) error {
	if r.Request.ID == "" {
		return domain.Invalid("requestId", "a calendar retry needs the request's id")
	}
	if r.RetriesDone < 0 || r.RetryAt.IsZero() {
		return domain.Invalid("retriesDone", "attempt %d at %v is not a scheduled attempt", r.RetriesDone, r.RetryAt)
	}
	return nil
}

// SaveCalendarRetry stores r unless an attempt of the same request and
// number is stored; it reports whether it stored r (false: a redelivery).
func (s *Store) SaveCalendarRetry(_ context.Context, r domain.CalendarRetry) (bool, error) {
	if err := checkCalRetry(r); err != nil {
		return false, err
	}
	added := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCalRetries)
		k := calRetryKey(r)
		if b.Get(k) != nil {
			return nil
		}
		added = true
		return put(b, k, r)
	})
	return added, err
}

// AdvanceCalendarRetry removes the retry that was made (done) and, when
// the writer asked for another, stores next, in one transaction: a crash
// leaves either the retry that was made (it is made again) or the next.
func (s *Store) AdvanceCalendarRetry(_ context.Context, done domain.CalendarRetry, next *domain.CalendarRetry) error {
	if next != nil {
		if err := checkCalRetry(*next); err != nil {
			return err
		}
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCalRetries)
		if err := b.Delete(calRetryKey(done)); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		return put(b, calRetryKey(*next), *next)
	})
}

// PendingCalendarRetries returns every stored retry, by request id and
// number. A record that does not decode is left out and reported in
// damaged (one *domain.CorruptRecordError each) so the others still run.
func (s *Store) PendingCalendarRetries(_ context.Context) (out []domain.CalendarRetry, damaged []error, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bCalRetries).ForEach(func(k, v []byte) error {
			var r domain.CalendarRetry
			if err := json.Unmarshal(v, &r); err != nil || checkCalRetry(r) != nil {
				if err == nil {
					err = errors.New("not a scheduled attempt")
				}
				damaged = append(damaged, &domain.CorruptRecordError{Record: "calendar retry", Key: calRetryName(k), Err: err})
				return nil
			}
			out = append(out, r)
			return nil
		})
	})
	return out, damaged, err
}

// calRetryName names a stored attempt by its key: "<request id> retry
// <n>", or "<request id> first attempt".
func calRetryName(k []byte) string {
	i := bytes.IndexByte(k, 0)
	if i < 0 || len(k)-i-1 != 8 {
		return fmt.Sprintf("%q", k)
	}
	if n := binary.BigEndian.Uint64(k[i+1:]); n > 0 {
		return fmt.Sprintf("%s retry %d", k[:i], n)
	}
	return fmt.Sprintf("%s first attempt", k[:i])
}
