// Package filesecrets is the embedded domain.SecretStore for the local run:
// every tenant's credential encrypted with AES-256-GCM under a 32-byte key
// read from a key file, in one JSON file (mode 0600) that holds no
// plaintext. Each ciphertext is bound to its tenant id (GCM additional
// data), so moving one tenant's entry to another fails to decrypt.
//
// It refuses to start without a key file, except in demo mode, where it
// generates a key beside the secrets file and says loudly that this
// protects nothing. A key that does not match the file is refused at Open
// with a message saying so. One process uses the file at a time (the local
// run is one process).
package filesecrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// Options configure a Store.
type Options struct {
	// Path is the secrets file; created if absent.
	Path string
	// KeyFile holds the 32-byte key: raw, or as 64 hex characters. It must
	// not be readable by group or others.
	KeyFile string
	// Demo allows running without KeyFile: a key is generated (once) at
	// Path + ".demo-key" and a warning is written to Warn.
	Demo bool
	// Warn receives the demo-mode warning; nil means os.Stderr.
	Warn io.Writer
}

// Store is a domain.SecretStore in one encrypted file.
type Store struct {
	path string
	aead cipher.AEAD
	mu   sync.Mutex
}

var _ domain.SecretStore = (*Store)(nil)

// file is the on-disk form. Check is a known value encrypted under the key,
// so a wrong key is detected at Open rather than at the first read.
type file struct {
	Version int               `json:"version"`
	Check   string            `json:"check"`
	Tenants map[string]string `json:"tenants"` // tenant id → base64(nonce ‖ ciphertext)
}

const (
	checkValue = "mailbridge secrets key check"
	checkAD    = "mailbridge/check"
)

func tenantAD(id string) []byte { return []byte("mailbridge/tenant/" + id) }

// Open opens or creates the secrets file.
func Open(opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("filesecrets: the secrets file path is required")
	}
	keyFile := opts.KeyFile
	if keyFile == "" {
		if !opts.Demo {
			return nil, fmt.Errorf("filesecrets: no key file: credentials are encrypted at rest and need a 32-byte key; "+
				"create one with `head -c 32 /dev/urandom > %s.key && chmod 600 %s.key` and pass it as the key file, "+
				"or run in demo mode", opts.Path, opts.Path)
		}
		keyFile = opts.Path + ".demo-key"
		if err := ensureDemoKey(keyFile); err != nil {
			return nil, err
		}
		w := opts.Warn
		if w == nil {
			w = os.Stderr
		}
		fmt.Fprintf(w, "\n*** filesecrets: DEMO MODE: credentials are encrypted with a key generated and stored next to them (%s).\n"+
			"*** This protects nothing. Give a key file for real credentials.\n\n", keyFile)
	}
	key, err := readKey(keyFile)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	s := &Store{path: opts.Path, aead: aead}
	f, err := s.load()
	if errors.Is(err, fs.ErrNotExist) {
		check, err := s.seal([]byte(checkValue), []byte(checkAD))
		if err != nil {
			return nil, err
		}
		return s, s.save(&file{Version: 1, Check: check, Tenants: map[string]string{}})
	}
	if err != nil {
		return nil, err
	}
	if v, err := s.open(f.Check, []byte(checkAD)); err != nil || string(v) != checkValue {
		return nil, fmt.Errorf("filesecrets: %s was not encrypted with the key in %s (wrong key file?)", opts.Path, keyFile)
	}
	return s, nil
}

func ensureDemoKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600)
}

func readKey(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("filesecrets: key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("filesecrets: key file %s is readable by others (mode %v); run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("filesecrets: key file: %w", err)
	}
	if len(raw) == 32 {
		return raw, nil
	}
	if key, err := hex.DecodeString(strings.TrimSpace(string(raw))); err == nil && len(key) == 32 {
		return key, nil
	}
	return nil, fmt.Errorf("filesecrets: key file %s must hold 32 bytes, raw or as 64 hex characters (create one with `head -c 32 /dev/urandom > %s`)", path, path)
}

func (s *Store) seal(plain, ad []byte) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, ad)), nil
}

func (s *Store) open(sealed string, ad []byte) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return nil, errors.New("malformed ciphertext")
	}
	n := s.aead.NonceSize()
	return s.aead.Open(nil, b[:n], b[n:], ad)
}

func (s *Store) load() (*file, error) {
	data, err := os.ReadFile(s.path)
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil || f.Version != 1 {
		return nil, fmt.Errorf("filesecrets: %s is not a Mailbridge secrets file", s.path)
	}
	if f.Tenants == nil {
		f.Tenants = map[string]string{}
	}
	return &f, nil
}

// save writes the file atomically: a crash leaves the old or the new one.
func (s *Store) save(f *file) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".secrets-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

// PutCredential creates or replaces the tenant's credential.
func (s *Store) PutCredential(_ context.Context, tenantID string, c domain.Credential) error {
	if err := storeplan.CheckTenantID(tenantID); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	plain, err := domain.MarshalCredential(c)
	if err != nil {
		return fmt.Errorf("filesecrets: encode credential: %w", err)
	}
	sealed, err := s.seal(plain, tenantAD(tenantID))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load()
	if err != nil {
		return err
	}
	f.Tenants[tenantID] = sealed
	return s.save(f)
}

// GetCredential returns ErrNotFound when none is stored.
func (s *Store) GetCredential(_ context.Context, tenantID string) (domain.Credential, error) {
	if err := storeplan.CheckTenantID(tenantID); err != nil {
		return domain.Credential{}, err
	}
	s.mu.Lock()
	f, err := s.load()
	s.mu.Unlock()
	if err != nil {
		return domain.Credential{}, err
	}
	sealed, ok := f.Tenants[tenantID]
	if !ok {
		return domain.Credential{}, fmt.Errorf("credential of tenant %s: %w", tenantID, domain.ErrNotFound)
	}
	plain, err := s.open(sealed, tenantAD(tenantID))
	if err != nil {
		return domain.Credential{}, &domain.Error{Code: domain.CodeInternal,
			Message: fmt.Sprintf("credential of tenant %s in %s does not decrypt (tampered or moved)", tenantID, s.path)}
	}
	c, err := domain.UnmarshalCredential(plain)
	if err != nil {
		return domain.Credential{}, &domain.Error{Code: domain.CodeInternal,
			Message: fmt.Sprintf("credential of tenant %s is not a Mailbridge credential", tenantID)}
	}
	return c, nil
}

// DeleteCredential removes the credential at once (there is no recovery
// window locally); ErrNotFound when none is stored.
func (s *Store) DeleteCredential(_ context.Context, tenantID string) error {
	if err := storeplan.CheckTenantID(tenantID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := f.Tenants[tenantID]; !ok {
		return fmt.Errorf("credential of tenant %s: %w", tenantID, domain.ErrNotFound)
	}
	delete(f.Tenants, tenantID)
	return s.save(f)
}
