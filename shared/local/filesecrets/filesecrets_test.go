package filesecrets

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

var ctx = context.Background()

func writeKey(t *testing.T, dir, name string, fill byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, bytes.Repeat([]byte{fill}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func open(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) domain.SecretStore {
		dir := t.TempDir()
		return open(t, Options{Path: filepath.Join(dir, "secrets.json"), KeyFile: writeKey(t, dir, "key", 7)})
	})
}

var cred = domain.Credential{Kind: domain.AuthBasic, Username: "svc@acme.example", Password: "pw-File-13579bdf"}

func TestFileHoldsNoPlaintextAndIsPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.json")
	s := open(t, Options{Path: path, KeyFile: writeKey(t, dir, "key", 1)})
	oauth := domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: "acme", ClientID: "app", ClientSecret: "cs-File-2468ace0"}
	for id, c := range map[string]domain.Credential{"acme": cred, "globex": oauth} {
		if err := s.PutCredential(ctx, id, c); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.NoSecretIn(t, "the secrets file", string(data), cred, oauth)
	if strings.Contains(string(data), "svc@acme.example") {
		t.Error("the file shows the username in clear")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %v, want 0600", perm)
	}
	// And it survives a restart.
	again := open(t, Options{Path: path, KeyFile: filepath.Join(dir, "key")})
	got, err := again.GetCredential(ctx, "globex")
	if err != nil || !reflect.DeepEqual(got, oauth) {
		t.Fatalf("after reopening: %s, %v", got, err)
	}
}

func TestKeyProblemsAreClearAndChangeNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.json")
	s := open(t, Options{Path: path, KeyFile: writeKey(t, dir, "right", 1)})
	if err := s.PutCredential(ctx, "acme", cred); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("0123"), 0o600)
	open600 := writeKey(t, dir, "shared", 1)
	os.Chmod(open600, 0o644)
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"wrong key", Options{Path: path, KeyFile: writeKey(t, dir, "wrong", 2)}, "wrong key file"},
		{"no key outside demo mode", Options{Path: path}, "no key file"},
		{"missing key file", Options{Path: path, KeyFile: filepath.Join(dir, "absent")}, "no such file"},
		{"key of the wrong size", Options{Path: path, KeyFile: short}, "must hold 32 bytes"},
		{"key readable by others", Options{Path: path, KeyFile: open600}, "chmod 600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want an error saying %q", err, tc.want)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Fatal("a refused Open changed the secrets file")
			}
		})
	}
	t.Run("no key outside demo mode creates no file", func(t *testing.T) {
		fresh := filepath.Join(t.TempDir(), "secrets.json")
		if _, err := Open(Options{Path: fresh}); err == nil {
			t.Fatal("opened without a key")
		}
		if _, err := os.Stat(fresh); err == nil {
			t.Fatal("a refused Open created the file")
		}
	})
}

func TestHexKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.hex")
	os.WriteFile(keyFile, []byte(hex.EncodeToString(bytes.Repeat([]byte{9}, 32))+"\n"), 0o600)
	s := open(t, Options{Path: filepath.Join(dir, "s.json"), KeyFile: keyFile})
	if err := s.PutCredential(ctx, "acme", cred); err != nil {
		t.Fatal(err)
	}
	raw := writeKey(t, dir, "key.raw", 9) // the same key, raw
	again := open(t, Options{Path: filepath.Join(dir, "s.json"), KeyFile: raw})
	if _, err := again.GetCredential(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
}

func TestDemoModeWarnsAndKeepsItsKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.json")
	var warn bytes.Buffer
	s := open(t, Options{Path: path, Demo: true, Warn: &warn})
	if !strings.Contains(warn.String(), "DEMO MODE") || !strings.Contains(warn.String(), "protects nothing") {
		t.Fatalf("demo warning %q is not loud enough", warn.String())
	}
	if err := s.PutCredential(ctx, "acme", cred); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path + ".demo-key")
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("demo key: %v, %v", info, err)
	}
	again := open(t, Options{Path: path, Demo: true, Warn: &warn})
	got, err := again.GetCredential(ctx, "acme")
	if err != nil || !reflect.DeepEqual(got, cred) {
		t.Fatalf("after a demo restart: %s, %v", got, err)
	}
}

func TestTamperedOrMovedEntriesDoNotDecrypt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.json")
	s := open(t, Options{Path: path, KeyFile: writeKey(t, dir, "key", 3)})
	for _, id := range []string{"acme", "globex"} {
		if err := s.PutCredential(ctx, id, cred); err != nil {
			t.Fatal(err)
		}
	}
	var f file
	data, _ := os.ReadFile(path)
	json.Unmarshal(data, &f)
	f.Tenants["globex"] = f.Tenants["acme"] // acme's entry moved to globex
	data, _ = json.Marshal(f)
	os.WriteFile(path, data, 0o600)
	_, err := s.GetCredential(ctx, "globex")
	if err == nil {
		t.Fatal("a moved entry decrypted for another tenant")
	}
	storetest.NoSecretIn(t, "error", err.Error(), cred)
	if _, err := s.GetCredential(ctx, "acme"); err != nil {
		t.Fatalf("acme's own entry: %v", err)
	}
}
