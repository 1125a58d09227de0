package ewssim_test

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// sink is a reusable ResponseWriter, so benchmarks measure the simulator
// rather than response recording.
type sink struct {
	header http.Header
	Code   int
	Body   bytes.Buffer
}

func (s *sink) Header() http.Header         { return s.header }
func (s *sink) Write(b []byte) (int, error) { return s.Body.Write(b) }
func (s *sink) WriteHeader(code int)        { s.Code = code }

// serveDirect runs one request through the handler in process (no
// loopback network).
func serveDirect(h http.Handler, out *sink, user, pass, body string) *sink {
	req := httptest.NewRequest(http.MethodPost, ewssim.EWSPath, strings.NewReader(body))
	req.SetBasicAuth(user, pass)
	out.header, out.Code = http.Header{}, 0
	out.Body.Reset()
	h.ServeHTTP(out, req)
	return out
}

var syncStateRE = []byte("<m:SyncState>")

func nextState(b []byte) string {
	i := bytes.Index(b, syncStateRE)
	if i < 0 {
		return ""
	}
	rest := b[i+len(syncStateRE):]
	return string(rest[:bytes.IndexByte(rest, '<')])
}

// BenchmarkSyncFolderItems512 pages a full sync of a 50,000-item mailbox at
// MaxChangesReturned=512 with the Default shape (what a first sync costs
// the simulator).
func BenchmarkSyncFolderItems512(b *testing.B) {
	sim := ewssim.New(ewssim.Options{MaxConcurrency: -1})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 1, ItemsPerMailbox: 50000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	h := sim.Handler()
	mbx := ds.Mailboxes[0]
	items := 0
	state := ""
	out := &sink{}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		body := envelope(impersonate(mbx), strings.Replace(syncItemsBody(dist("inbox", ""), state, 512), "IdOnly", "Default", 1))
		rec := serveDirect(h, out, ds.Account.Username, ds.Account.Password, body)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
		resp := rec.Body.Bytes()
		items += bytes.Count(resp, []byte("<t:Create>"))
		if bytes.Contains(resp, []byte("<m:IncludesLastItemInRange>true")) {
			state = ""
		} else {
			state = nextState(resp)
		}
	}
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkGetItem100 fetches 100 calendar items per call.
func BenchmarkGetItem100(b *testing.B) {
	sim := ewssim.New(ewssim.Options{MaxConcurrency: -1})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 1, ItemsPerMailbox: 1000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	refs, err := sim.ListItems(ds.Mailboxes[0], "calendar")
	if err != nil || len(refs) < 100 {
		b.Fatalf("%d calendar items: %v", len(refs), err)
	}
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = refs[i].ID
	}
	body := envelope(impersonate(ds.Mailboxes[0]), getItemBody(ids...))
	h := sim.Handler()
	out := &sink{}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if rec := serveDirect(h, out, ds.Account.Username, ds.Account.Password, body); rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkConcurrentCallsOverHTTP is the sync pipeline's load: small
// incremental SyncFolderItems calls for many mailboxes at once, through a
// real loopback server.
func BenchmarkConcurrentCallsOverHTTP(b *testing.B) {
	sim := ewssim.New(ewssim.Options{})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 200, ItemsPerMailbox: 20, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := sim.Start(false)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	client := srv.Client()
	b.ReportAllocs()
	b.ResetTimer()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := ds.Mailboxes[int(n.Add(1))%len(ds.Mailboxes)]
			req, _ := http.NewRequest(http.MethodPost, srv.EWSURL, strings.NewReader(envelope(impersonate(m), syncItemsBody(dist("calendar", ""), "", 50))))
			req.SetBasicAuth(ds.Account.Username, ds.Account.Password)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var v struct{}
			if err := xml.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("status %d: %v", resp.StatusCode, err)
			}
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkGenerateMemory reports the heap a generated dataset keeps: a
// 50,000-item mailbox and 10,000 small mailboxes.
func BenchmarkGenerateMemory(b *testing.B) {
	for _, tc := range []struct {
		name            string
		mailboxes, each int
	}{{"1x50000", 1, 50000}, {"10000x5", 10000, 5}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				sim := ewssim.New(ewssim.Options{})
				if _, err := sim.Generate(ewssim.GenOptions{Mailboxes: tc.mailboxes, ItemsPerMailbox: tc.each, Seed: 1}); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB")
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(tc.mailboxes*tc.each), "B/item")
				runtime.KeepAlive(sim)
			}
		})
	}
}
