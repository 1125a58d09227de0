// Package dirarchive is the local run's archive store (domain.ArchiveStore):
// each key is a file under a directory, written to a temporary file in the
// same directory and renamed into place, so a reader never sees half a
// message and a crash leaves at most a temporary file (never a key).
package dirarchive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Store keeps archived MIME under Dir.
type Store struct {
	Dir string
}

var _ domain.ArchiveStore = (*Store)(nil)

// New returns a store under dir, created (0700) if absent.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("archive directory: %w", err)
	}
	return &Store{Dir: dir}, nil
}

// path is key's file; a key that would leave the directory is refused
// (keys are domain.ArchiveKey's, so this only guards against a bug).
func (s *Store) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || !filepath.IsLocal(key) {
		return "", fmt.Errorf("archive key %q is not a relative path inside the archive", key)
	}
	return filepath.Join(s.Dir, filepath.FromSlash(key)), nil
}

// Exists reports whether key's file is there.
func (s *Store) Exists(_ context.Context, key string) (bool, error) {
	p, err := s.path(key)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("archive: %w", err)
}

// Put writes mime under key unless it is there: a temporary file, synced,
// then linked into place (os.Link fails on an existing key, so the first
// write wins even when two jobs race), then the temporary file removed.
func (s *Store) Put(_ context.Context, key string, mime []byte) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	f, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(mime)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("archive: writing %s: %w", key, err)
	}
	if err := os.Link(tmp, p); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("archive: storing %s: %w", key, err)
	}
	return nil
}

// DeleteTenant removes the tenant's directory (every key under
// "<tenantID>/"); an absent one is done. An id that is not one plain
// name inside the directory is refused, as keys are.
func (s *Store) DeleteTenant(_ context.Context, tenantID string) error {
	if tenantID == "." || strings.ContainsAny(tenantID, `/\`) {
		return fmt.Errorf("archive: tenant id %q does not name one directory inside the archive", tenantID)
	}
	p, err := s.path(tenantID)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("archive: deleting tenant %s: %w", tenantID, err)
	}
	return nil
}
