package boltstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestOpenPageSize: a new store file gets PageSize pages, and a file made
// with the 4 KB pages of earlier versions keeps them and still serves
// what it holds and what is written to it.
func TestOpenPageSize(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		make func(t *testing.T, path string) // nil: no file yet
		want int
	}{
		{"new file", nil, PageSize},
		{"file with 4 KB pages", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
		}, 4096},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mailbridge.db")
			if tc.make != nil {
				tc.make(t, path)
			}
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.db.Info().PageSize; got != tc.want {
				t.Errorf("page size %d, want %d", got, tc.want)
			}
			if err := s.CreateTenant(ctx, domain.Tenant{ID: "acme", Status: domain.TenantActive}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if s, err = Open(path, Options{}); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.GetTenant(ctx, "acme"); err != nil {
				t.Fatalf("tenant written before reopening: %v", err)
			}
			if got := s.db.Info().PageSize; got != tc.want {
				t.Errorf("page size after reopening %d, want %d", got, tc.want)
			}
		})
	}
}

// TestOpenDamagedOrHeld: a store file that cannot be read gets an error
// that says what is wrong and what to do (never a panic, never blamed on
// another process), and a file another process holds says so.
func TestOpenDamagedOrHeld(t *testing.T) {
	good := func(t *testing.T) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "mailbridge.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTenant(context.Background(), domain.Tenant{ID: "acme", Status: domain.TenantActive}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		return path
	}
	cases := []struct {
		name   string
		damage func(t *testing.T, path string)
		want   []string
	}{
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 100); err != nil {
				t.Fatal(err)
			}
		}, []string{"damaged", "move it aside"}},
		{"zeroed meta pages", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(make([]byte, 2*PageSize), 0); err != nil {
				t.Fatal(err)
			}
		}, []string{"damaged", "restore it from a backup"}},
		{"not a store", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("not a bolt file\n", 1000)), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"damaged"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := good(t)
			tc.damage(t, path)
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("a damaged store opened")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "another mailbridge process") {
				t.Errorf("damage blamed on another process: %v", err)
			}
		})
	}
	t.Run("held by another process", func(t *testing.T) {
		path := good(t)
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = Open(path, Options{})
		if err == nil || !strings.Contains(err.Error(), "another mailbridge process holds it") {
			t.Fatalf("second open = %v, want it to name the other process", err)
		}
	})
}
