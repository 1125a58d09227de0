package api

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

// FuzzAvailability: whatever the body, POST /tenants/{id}/availability
// answers 200 with one answer per mailbox and slots inside the window and
// in time order, or a 4xx JSON error; never a 5xx, never a change to the
// stores.
func FuzzAvailability(f *testing.F) {
	f.Add(availabilityBody(""))
	f.Add(`{"mailboxes":["a@contoso.com","b@contoso.com"],"start":"2026-12-01T00:00:00+14:00","end":"2026-12-02T00:00:00-12:00","meetingMinutes":5,"slotMinutes":7,"timeZone":"Pacific/Kiritimati"}`)
	f.Add(`{"mailboxes":["a@contoso.com"],"start":"2026-03-29T00:00:00Z","end":"2026-03-30T00:00:00Z","meetingMinutes":1440,"slotMinutes":1440,"timeZone":"Europe/Berlin","workingHours":{"start":"00:00","end":"24:00","days":["sunday"]}}`)
	f.Add(`{"mailboxes":["a@contoso.com"],"start":"2026-12-01T00:00:00Z","end":"2027-01-31T00:00:00Z","meetingMinutes":5,"slotMinutes":5,"groups":[{"kind":"any","count":1,"mailboxes":["a@contoso.com"]}]}`)
	rec := &recordingScheduler{}
	e := newEnv(f, func(d *Deps) {
		d.Logger = slog.New(slog.DiscardHandler)
		d.Availability = rec
	})
	e.onboard("contoso", basicCred("svc", "Fuzz-avail-pw-1"))
	e.quiet = true
	before := e.snapshotBut("availability.read")
	f.Fuzz(func(t *testing.T, body string) {
		e.t = t
		w := e.do(req{method: "POST", path: "/tenants/contoso/availability", body: body})
		switch {
		case w.Code == 200:
			var got availabilityResponse
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("200 that is not an answer: %v", err)
			}
			var in struct {
				Mailboxes []string `json:"mailboxes"`
			}
			_ = json.Unmarshal([]byte(body), &in)
			if len(got.Mailboxes) != len(in.Mailboxes) || len(got.Slots) > 1000 {
				t.Fatalf("%d answers for %d mailboxes, %d slots", len(got.Mailboxes), len(in.Mailboxes), len(got.Slots))
			}
			var last time.Time
			for _, s := range got.Slots {
				if s.Start.Before(got.Start) || s.End.After(got.End) || !s.End.After(s.Start) || !s.Start.After(last) {
					t.Fatalf("slot %v-%v outside the window %v-%v or out of order", s.Start, s.End, got.Start, got.End)
				}
				last = s.Start
			}
		case w.Code >= 400 && w.Code < 500:
			var eb errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Message == "" {
				t.Fatalf("%d without a JSON error: %s", w.Code, w.Body)
			}
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		if e.snapshotBut("availability.read") != before {
			t.Fatalf("an availability request changed the store (beyond its audit entry): %s", body)
		}
	})
}
