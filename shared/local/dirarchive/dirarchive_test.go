package dirarchive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

func TestPutIsWriteOnceAndExists(t *testing.T) {
	ctx := context.Background()
	s, err := New(filepath.Join(t.TempDir(), "archive"))
	if err != nil {
		t.Fatal(err)
	}
	key := domain.ArchiveKey("acme", "Ann@Acme.example", "AAMk/id+1==")
	if ok, err := s.Exists(ctx, key); err != nil || ok {
		t.Fatalf("Exists before Put = %v, %v; want false", ok, err)
	}
	first := []byte("Subject: one\r\n\r\nbody\r\n")
	if err := s.Put(ctx, key, first); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Exists(ctx, key); err != nil || !ok {
		t.Fatalf("Exists after Put = %v, %v; want true", ok, err)
	}
	// A redelivered put of the same key leaves the first write.
	if err := s.Put(ctx, key, []byte("other")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.Dir, filepath.FromSlash(key)))
	if err != nil || !bytes.Equal(got, first) {
		t.Fatalf("stored = %q, %v; want the first write", got, err)
	}
	// No temporary file is left beside it.
	entries, _ := os.ReadDir(filepath.Dir(filepath.Join(s.Dir, filepath.FromSlash(key))))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the key", len(entries))
	}
}

func TestKeysOutsideTheDirectoryAreRefused(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "../escape.eml", "/etc/passwd", "a/../../b.eml", `a\..\b.eml`} {
		t.Run(key, func(t *testing.T) {
			if err := s.Put(context.Background(), key, []byte("x")); err == nil {
				t.Fatalf("Put(%q) succeeded", key)
			}
		})
	}
}

func TestDeleteTenantRemovesOnlyThatTenant(t *testing.T) {
	ctx := context.Background()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	gone := domain.ArchiveKey("acme", "ann@acme.example", "AAMk/1")
	kept := domain.ArchiveKey("acme2", "ann@acme2.example", "AAMk/1")
	for _, k := range []string{gone, kept} {
		if err := s.Put(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	// Twice: a retried offboarding finds nothing and is done; so is a
	// tenant that never archived.
	for _, id := range []string{"acme", "acme", "never"} {
		if err := s.DeleteTenant(ctx, id); err != nil {
			t.Fatalf("DeleteTenant(%s): %v", id, err)
		}
	}
	if ok, _ := s.Exists(ctx, gone); ok {
		t.Error("acme's message is still archived")
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "acme")); !os.IsNotExist(err) {
		t.Errorf("acme's directory is still there (%v)", err)
	}
	if ok, _ := s.Exists(ctx, kept); !ok {
		t.Error("acme2's message was deleted with acme's")
	}
}

func TestDeleteTenantRefusesIDsOutsideTheDirectory(t *testing.T) {
	root := t.TempDir()
	s, err := New(filepath.Join(root, "archive"))
	if err != nil {
		t.Fatal(err)
	}
	// A file beside the archive that an escaping id would reach.
	beside := filepath.Join(root, "keep")
	if err := os.WriteFile(beside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", ".", "..", "../keep", "a/b", `..\keep`, "/etc"} {
		t.Run(id, func(t *testing.T) {
			if err := s.DeleteTenant(context.Background(), id); err == nil {
				t.Fatalf("DeleteTenant(%q) succeeded", id)
			}
		})
	}
	if _, err := os.Stat(beside); err != nil {
		t.Fatalf("a file outside the archive went: %v", err)
	}
	if _, err := os.Stat(s.Dir); err != nil {
		t.Fatalf("the archive directory itself went: %v", err)
	}
}
