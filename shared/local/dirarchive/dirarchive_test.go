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
