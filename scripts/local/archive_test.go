package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// TestArchiveExportWritesTheDataDirectory: in the local run, a tenant
// turned to archive through the API has each new message's MIME written
// under <data>/archive, where its feed entry says, and offboarding the
// tenant through the API removes <data>/archive/<tenant>.
func TestArchiveExportWritesTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cfg := testConfig(dir)
	cfg.demo.Mailboxes, cfg.demo.Items = 2, 10
	var out bytes.Buffer
	s, err := openStack(ctx, cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	scanStack(t, s)
	defer s.close()
	now := time.Now()
	if _, err := s.runOnce(ctx, now); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PATCH", s.apiURL+"/tenants/demo", strings.NewReader(`{"archive":{"enabled":true}}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tn struct {
		Archive struct {
			Enabled bool      `json:"enabled"`
			Since   time.Time `json:"since"`
		} `json:"archive"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tn)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !tn.Archive.Enabled {
		t.Fatalf("PATCH archive on: %d %+v %v", resp.StatusCode, tn, err)
	}
	mb := s.demo.dataset.Mailboxes[0]
	ref, err := s.demo.sim.AddItem(mb, "inbox", ewssim.Item{Subject: "Quarterly report", Received: tn.Archive.Since.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.runOnce(ctx, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	feed := readFeed(t, s.apiURL, "/tenants/demo/mailboxes/"+mb+"/changes")
	key := ""
	for _, c := range feed {
		if c.Item != nil && c.Item.Subject == "Quarterly report" {
			key = c.Item.ArchiveKey
		}
	}
	id := ref.ID
	if s.demo.graph != nil {
		if id, err = s.demo.sim.ImmutableID(ref.ID); err != nil {
			t.Fatal(err)
		}
	}
	if want := domain.ArchiveKey("demo", mb, id); key != want {
		t.Fatalf("the new message's feed entry names %q, want %q", key, want)
	}
	got, err := os.ReadFile(filepath.Join(dir, "archive", filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.demo.sim.MIMEOf(ref.ID)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("archived %d bytes, Exchange's MIME %d (%v)", len(got), len(want), err)
	}

	// Offboarding the tenant through the API deletes its archive
	// directory (the local run's API has the archive store).
	req, _ = http.NewRequest("DELETE", s.apiURL+"/tenants/demo", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /tenants/demo: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "archive", "demo")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after the offboarding <data>/archive/demo is still there (%v)", err)
	}
}
