// sync_archive.go owns archive export in the sync: before a page's
// changes are stored, the MIME of each new message of a tenant with
// archive on is written to the archive (domain.ArchiveStore) and the item
// names its key (Item.ArchiveKey), so the feed entry, written in the same
// store transaction as the item, lists it. Archiving comes first: a crash
// or a failure between the archive and the store leaves the page to the
// job's redelivery (its checkpoint did not move), which finds the object
// there (Exists) and stores the page; nothing is skipped and nothing is
// written twice. docs/items.md "Archive export".

package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// ErrArchiveNotConfigured: a tenant has archive on, but this deployment
// was started without an archive store. The job fails (and is
// redelivered) rather than store messages it should have archived.
var ErrArchiveNotConfigured = errors.New("sync: the tenant has archive export on, but no archive store is configured (MAILBRIDGE_ARCHIVE_BUCKET)")

// Archive defaults: the largest MIME archived and how many MIME reads a
// process runs at once. A read is held in memory until it is stored, so
// the two bound the memory archiving takes in a sync worker (2 × 25 MB in
// the 256 MB Lambda, whatever the number of syncs it runs).
const (
	DefaultArchiveMaxBytes int64 = 25 << 20
	DefaultArchiveReads          = 2
)

func (s *Syncer) archiveMaxBytes() int64 {
	switch {
	case s.ArchiveMaxBytes <= 0:
		return DefaultArchiveMaxBytes
	case s.ArchiveMaxBytes > domain.MaxArchiveBytes:
		return domain.MaxArchiveBytes
	}
	return s.ArchiveMaxBytes
}

// archiveSlot takes one of the process's MIME read slots; release gives
// it back.
func (s *Syncer) archiveSlot(ctx context.Context) (release func(), err error) {
	s.archiveOnce.Do(func() {
		n := s.ArchiveReads
		if n <= 0 {
			n = DefaultArchiveReads
		}
		s.archiveSem = make(chan struct{}, n)
	})
	select {
	case s.archiveSem <- struct{}{}:
		return func() { <-s.archiveSem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// archivePage archives the new messages among changes (in place: each
// archived item gets its ArchiveKey). It stops at the first failure, which
// the job's redelivery (or its requeue, when Exchange throttled) retries:
// the page is not stored before all of its messages are archived.
func (r *syncRun) archivePage(ctx context.Context, changes []domain.ItemChange) error {
	for i := range changes {
		c := &changes[i]
		if c.Kind == domain.ChangeDelete || !r.tenant.Archives(c.Item) {
			continue
		}
		if err := r.archiveItem(ctx, c.Item); err != nil {
			return err
		}
	}
	return nil
}

// archiveItem writes one message's MIME unless its key is stored: a HEAD
// first, so an update of an archived message or a redelivered page costs
// no Exchange request.
func (r *syncRun) archiveItem(ctx context.Context, it *domain.Item) error {
	if r.s.Archive == nil {
		return ErrArchiveNotConfigured
	}
	key := domain.ArchiveKey(r.tenant.ID, r.mbox.Address, it.ID)
	ok, err := r.s.Archive.Exists(ctx, key)
	if err != nil {
		return fmt.Errorf("sync: archive: %w", err)
	}
	if ok {
		it.ArchiveKey = key
		return nil
	}
	release, err := r.s.archiveSlot(ctx)
	if err != nil {
		return err
	}
	mime, err := r.readMIME(ctx, it.ID)
	if err == nil {
		err = r.s.Archive.Put(ctx, key, mime)
		if err != nil {
			err = fmt.Errorf("sync: archive: %w", err)
		}
	}
	release()
	var tooLarge *domain.ContentTooLargeError
	switch {
	case errors.As(err, &tooLarge):
		it.ArchiveSkipped = domain.ArchiveSkippedTooLarge
		r.s.logger().Warn("sync: archive: message over the size limit, not archived", "tenant", r.tenant.ID, "mailbox", r.mbox.Address, "limit", tooLarge.Limit)
		return nil
	case domain.IsNotFound(err):
		it.ArchiveSkipped = domain.ArchiveSkippedGone
		return nil
	case err != nil:
		return err
	}
	it.ArchiveKey = key
	r.mu.Lock()
	r.res.Archived++
	r.mu.Unlock()
	return nil
}

// readMIME reads a message's MIME through the tenant's content reader
// (one Exchange request, counted as one), opened on first use with the
// job's credential.
func (r *syncRun) readMIME(ctx context.Context, itemID string) ([]byte, error) {
	if r.content == nil {
		if r.s.Content == nil {
			return nil, ErrArchiveNotConfigured
		}
		cr, err := r.s.Content.ConnectContent(ctx, r.tenant, r.cred)
		if err != nil {
			return nil, err
		}
		r.content = cr
	}
	var buf bytes.Buffer
	max := r.s.archiveMaxBytes()
	_, err := callAccess(r, func() (struct{}, error) {
		return struct{}{}, r.content.StreamMIME(ctx, r.ref, itemID, max, func(_ domain.Attachment, size int64) (io.Writer, error) {
			if size > max {
				return nil, &domain.ContentTooLargeError{Size: size, Limit: max}
			}
			if size > 0 {
				buf.Grow(int(size))
			}
			return &domain.LimitWriter{W: &buf, N: max}, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
