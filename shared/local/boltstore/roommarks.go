package boltstore

import (
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// bRoomMarks holds room meetings' check-ins and releases, in the tenant's
// bucket (so PurgeTenant's DeleteBucket removes it): room NUL itemID →
// domain.RoomMark. An expired mark is absent and replaced when written.
var bRoomMarks = []byte("roommarks")

var _ domain.RoomMarkStore = (*Store)(nil)

func roomMarkKey(room, itemID string) []byte { return []byte(room + "\x00" + itemID) }

func checkRoomMark(tenantID, room, itemID string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	if room == "" || itemID == "" {
		return errors.New("boltstore: a room mark needs a room and an item id")
	}
	return nil
}

// PutRoomMark stores m unless a live mark of the meeting exists, in one
// transaction, and returns the mark that stands.
func (s *Store) PutRoomMark(_ context.Context, m domain.RoomMark) (domain.RoomMark, bool, error) {
	if err := checkRoomMark(m.TenantID, m.Room, m.ItemID); err != nil {
		return m, false, err
	}
	now := s.clock.Now()
	stored, existed := m, false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tenantBucketRW(tx, m.TenantID, bRoomMarks)
		if err != nil {
			return err
		}
		var old domain.RoomMark
		found, err := get(b, roomMarkKey(m.Room, m.ItemID), &old)
		if err != nil {
			return err
		}
		if found && now.Before(old.Expires) {
			stored, existed = old, true
			return nil
		}
		return put(b, roomMarkKey(m.Room, m.ItemID), m)
	})
	return stored, existed, err
}

// GetRoomMark returns the live mark of a meeting.
func (s *Store) GetRoomMark(_ context.Context, tenantID, room, itemID string) (domain.RoomMark, bool, error) {
	if err := checkRoomMark(tenantID, room, itemID); err != nil {
		return domain.RoomMark{}, false, err
	}
	var m domain.RoomMark
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, err = get(tenantBucket(tx, tenantID, bRoomMarks), roomMarkKey(room, itemID), &m)
		return err
	})
	if err != nil || !found || !s.clock.Now().Before(m.Expires) {
		return domain.RoomMark{}, false, err
	}
	return m, true, nil
}
