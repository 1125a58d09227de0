package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/mailbridge/mailbridge/shared/testsupport/openapicheck"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestLocalServesAvailability: the local run serves POST
// /tenants/{id}/availability for the demo tenant on both protocols, in the
// protocol's batches, every demo mailbox answering.
func TestLocalServesAvailability(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     func(dir string) runConfig
		batches int
	}{
		{"ews", testConfig, 1},
		{"graph", graphTestConfig, (demoMailboxes + 19) / 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s, err := openStack(context.Background(), tc.cfg(t.TempDir()), &out)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			ms, _ := json.Marshal(s.demo.dataset.Mailboxes)
			start := time.Now().UTC().Truncate(time.Hour)
			body := fmt.Sprintf(`{"mailboxes":%s,"start":%q,"end":%q,"meetingMinutes":30,"timeZone":"Europe/Berlin"}`,
				ms, start.Format(time.RFC3339), start.Add(14*24*time.Hour).Format(time.RFC3339))
			resp, err := openapicheck.Client(t).Post(s.apiURL+"/tenants/demo/availability", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("availability = %d %s", resp.StatusCode, raw)
			}
			var got struct {
				Batches   int `json:"batches"`
				Mailboxes []struct {
					Mailbox string `json:"mailbox"`
					Status  string `json:"status"`
					Busy    []any  `json:"busy"`
				} `json:"mailboxes"`
			}
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			// People lookup, as the first demo mailbox: the second one by
			// its address.
			{
				ds := s.demo.dataset.Mailboxes
				resp, err := http.Get(s.apiURL + "/tenants/demo/mailboxes/" + ds[0] + "/people?q=" + url.QueryEscape(ds[1]))
				if err != nil {
					t.Fatal(err)
				}
				var page struct {
					People []struct {
						Address string `json:"address"`
						Kind    string `json:"kind"`
					} `json:"people"`
				}
				err = json.NewDecoder(resp.Body).Decode(&page)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || len(page.People) != 1 || page.People[0].Address != ds[1] || page.People[0].Kind != "user" {
					t.Errorf("GET .../people?q=%s = %d %+v (%v); want %s, a user", ds[1], resp.StatusCode, page, err, ds[1])
				}
			}
			// The demo's rooms, through the room routes.
			for path, want := range map[string]int{"/tenants/demo/roomlists": 2, "/tenants/demo/rooms": 8, "/tenants/demo/rooms?roomList=rooms-hq@contoso.com": 5} {
				resp, err := openapicheck.Client(t).Get(s.apiURL + path)
				if err != nil {
					t.Fatal(err)
				}
				var page map[string][]map[string]any
				err = json.NewDecoder(resp.Body).Decode(&page)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || len(page["roomLists"])+len(page["rooms"]) != want {
					t.Errorf("GET %s = %d %v (%v); want %d entries", path, resp.StatusCode, page, err, want)
				}
			}
			busy := 0
			for _, m := range got.Mailboxes {
				if m.Status != "ok" {
					t.Errorf("%s: %s", m.Mailbox, m.Status)
				}
				busy += len(m.Busy)
			}
			if got.Batches != tc.batches || len(got.Mailboxes) != demoMailboxes || busy == 0 {
				t.Errorf("%d batches, %d mailboxes, %d busy intervals; want %d batches, %d mailboxes with meetings", got.Batches, len(got.Mailboxes), busy, tc.batches, demoMailboxes)
			}
		})
	}
}
