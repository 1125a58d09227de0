package main

// Benchmark (h) of `make bench`: POST /tenants/{id}/availability over 200
// rooms for 14 days on the local stack, the simulator answering each
// Exchange call after 100 ms, for an EWS and a Graph demo tenant: p50 and
// p95 of the API call's latency against the goal of 1 s at p95.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

const (
	benchRooms        = 200
	benchRoomsLatency = 100 * time.Millisecond
	benchRoomsCalls   = 40
)

func BenchmarkAvailability200Rooms(b *testing.B) {
	for _, p := range []struct {
		name string
		cfg  func(dir string) runConfig
	}{{"EWS", testConfig}, {"Graph", graphTestConfig}} {
		cfg := p.cfg(b.TempDir())
		cfg.demo.Mailboxes, cfg.demo.Items, cfg.demo.Latency = 10, 4, benchRoomsLatency
		var out bytes.Buffer
		s, err := openStack(context.Background(), cfg, &out)
		if err != nil {
			b.Fatal(err)
		}
		// 200 rooms, each with 0-40 one-hour meetings over the 14 days.
		start := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		rng := rand.New(rand.NewPCG(8, 8))
		var rooms []string
		for i := range benchRooms {
			a := fmt.Sprintf("bench-room-%03d@contoso.com", i)
			if err := s.demo.sim.AddRoom(ewssim.Room{Address: a, DisplayName: fmt.Sprintf("Bench %d", i), Capacity: 6}); err != nil {
				b.Fatal(err)
			}
			for range rng.IntN(41) {
				st := start.Add(time.Duration(rng.IntN(14*24)) * time.Hour)
				if _, err := s.demo.sim.AddItem(a, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Booked", Start: st, End: st.Add(time.Hour),
					Organizer: ewssim.Address{Email: a}}); err != nil {
					b.Fatal(err)
				}
			}
			rooms = append(rooms, a)
		}
		if p.name == "Graph" {
			// The app's RBAC scope must hold the rooms (getSchedule asks
			// through a batch's first mailbox).
			if err := s.demo.sim.SetImpersonationScope(demoGraphClientID, slices.Concat(s.demo.dataset.Mailboxes, rooms), false); err != nil {
				b.Fatal(err)
			}
		}
		ms, _ := json.Marshal(rooms)
		body := fmt.Sprintf(`{"mailboxes":%s,"start":%q,"end":%q,"meetingMinutes":60,"slotMinutes":30,"timeZone":"Europe/Berlin",`+
			`"workingHours":{"start":"08:00","end":"18:00"},"groups":[{"kind":"any","count":1,"mailboxes":%s}]}`,
			ms, start.Format(time.RFC3339), start.Add(14*24*time.Hour).Format(time.RFC3339), ms)
		call := func() (time.Duration, availabilityAnswer) {
			t0 := time.Now()
			resp, err := http.Post(s.apiURL+"/tenants/demo/availability", "application/json", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			d := time.Since(t0)
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("availability = %d %s", resp.StatusCode, raw)
			}
			var a availabilityAnswer
			if err := json.Unmarshal(raw, &a); err != nil {
				b.Fatal(err)
			}
			return d, a
		}
		_, first := call() // warm: the token, the connections
		failed := 0
		for _, m := range first.Mailboxes {
			if m.Status != "ok" {
				failed++
			}
		}
		if failed > 0 || len(first.Slots) == 0 {
			b.Fatalf("%s: %d of %d rooms failed, %d slots", p.name, failed, benchRooms, len(first.Slots))
		}
		var lat []time.Duration
		b.ResetTimer()
		for range benchRoomsCalls {
			d, _ := call()
			lat = append(lat, d)
		}
		b.StopTimer()
		s.close()
		slices.Sort(lat)
		p50, p95 := lat[len(lat)/2], lat[(len(lat)*95+99)/100-1]
		fmt.Printf("figure: (h) availability, %d rooms x 14 days, %s, %v per call, %d calls of %d batches, p50 %.3fs | p95 %.3fs | 1s | %.2f | <= 1\n",
			benchRooms, p.name, benchRoomsLatency, benchRoomsCalls, first.Batches, p50.Seconds(), p95.Seconds(), p95.Seconds())
		fmt.Printf("note: (h) %s: %d slots offered, latency min %.3fs max %.3fs; the ideal is one call's latency (%v): the batches run at once\n",
			p.name, len(first.Slots), lat[0].Seconds(), lat[len(lat)-1].Seconds(), benchRoomsLatency)
	}
}

type availabilityAnswer struct {
	Batches   int `json:"batches"`
	Mailboxes []struct {
		Status string `json:"status"`
	} `json:"mailboxes"`
	Slots []json.RawMessage `json:"slots"`
}
