package main

// Benchmarks (a)-(c) of `make bench` (scripts/bench.sh), run on the local
// stack: the same openStack as `make run`, with the demo sized and shaped
// per figure. Each prints its figure, bound and ratio as benchmark metrics
// and as a "figure:" line that bench.sh collects. Run one per process
// (peak RSS is the process's).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// benchDir is the data directory. BENCH_DATA_ON_TMPFS=1 puts it on
// /dev/shm, which takes the disk's fsync out of the figure.
func benchDir(b *testing.B) string {
	if os.Getenv("BENCH_DATA_ON_TMPFS") == "1" {
		d, err := os.MkdirTemp("/dev/shm", "mailbridge-bench-")
		if err == nil {
			b.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return b.TempDir()
}

// dataWhere names where benchDir puts the data, for the figure's name.
func dataWhere() string {
	if os.Getenv("BENCH_DATA_ON_TMPFS") == "1" {
		return "data on tmpfs"
	}
	return "data on disk"
}

func benchStack(b *testing.B, workers int, o demoOptions) *stack {
	b.Helper()
	cfg := runConfig{once: true, workers: workers, interval: time.Minute, addr: "127.0.0.1:0", data: benchDir(b), demo: o}
	s, err := openStack(context.Background(), cfg, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.close)
	return s
}

// tickAt runs one tick at minute k after start and returns its report and
// the EWS calls the simulator answered (and throttled) meanwhile.
func tickAt(b *testing.B, s *stack, start time.Time, k int) (tickReport, int64, int64) {
	b.Helper()
	s.demo.sim.ResetStats()
	r, err := s.runOnce(context.Background(), start.Add(time.Duration(k)*time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	if r.Failed != 0 || r.Done != r.Enqueued {
		b.Fatalf("tick %d: %+v: every job must succeed", k, r)
	}
	st := s.demo.sim.Stats()
	return r, st.TotalCalls(), st.Throttled
}

func figure(b *testing.B, name, value, bound string, ratio float64, goal string) {
	b.Logf("figure: %s | %s | %s | %.3f | %s", name, value, bound, ratio, goal)
	fmt.Printf("figure: %s | %s | %s | %.3f | %s\n", name, value, bound, ratio, goal)
}

// (a) A delegate tenant of 500 mailboxes × 3 folders on a simulator that
// allows 27 concurrent calls per service account at 50 ms each: the best
// possible rate is 27 / 50 ms = 540 calls/s. The tenant runs 25 concurrent
// jobs (the recommended maximum: 2 calls of the account's 27 stay free for
// verify, probe and calendar writes); a job makes one call at a time.
func BenchmarkDelegateThroughput(b *testing.B) {
	const jobs, capacity, latency = 25, 27, 50 * time.Millisecond
	s := benchStack(b, 32, demoOptions{
		Mailboxes: 500, Items: 12, Latency: latency, MaxConcurrency: capacity,
		Mode: domain.AccessDelegate, MaxJobs: jobs,
		Folders: []string{domain.FolderInbox, domain.FolderSentItems, domain.FolderCalendar},
	})
	start := time.Now().Truncate(time.Minute)
	tickAt(b, s, start, 0) // initial sync, not measured
	perCall := bareCallTime(b, s)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// 25 jobs: the recommended maximum when the account also writes
		// calendars; 27: the cap itself, for an account that only syncs.
		for k, n := range []int{jobs, capacity} {
			if _, err := s.tenants.Update(context.Background(), demoTenantID, app.TenantPatch{MaxConcurrentJobs: &n}); err != nil {
				b.Fatal(err)
			}
			r, calls, throttled := tickAt(b, s, start, 2*i+k+1)
			rate := float64(calls) / r.Took.Seconds()
			best := float64(capacity) / latency.Seconds()
			pct := 100 * float64(throttled) / float64(calls)
			b.ReportMetric(rate/best, fmt.Sprintf("ratio-%djobs", n))
			figure(b, fmt.Sprintf("(a) delegate tenant, 500 mailboxes x 3 folders incremental, %d concurrent jobs, %s", n, dataWhere()),
				fmt.Sprintf("%.0f calls/s (%d calls in %.2fs)", rate, calls, r.Took.Seconds()),
				fmt.Sprintf("27 / 50ms = %.0f calls/s", best), rate/best, ">= 0.9")
			// What no client can beat: n one-call-at-a-time jobs on a
			// simulator whose calls take perCall, not 50 ms.
			ceiling := float64(n) / perCall.Seconds() / best
			fmt.Printf("note: (a) %d jobs: a bare EWS client sees %.2f ms per call of this simulator (50 ms latency plus its HTTP, XML and timer overhead), so %d one-call-at-a-time jobs can reach at most %.3f of 27/50ms; achieved %.3f = %.1f%% of that ceiling\n",
				n, float64(perCall.Microseconds())/1000, n, ceiling, rate/best, 100*rate/best/ceiling)
			figure(b, fmt.Sprintf("(a) throttled calls, %d concurrent jobs, %s", n, dataWhere()),
				fmt.Sprintf("%d of %d = %.2f%%", throttled, calls, pct), "1%", pct, "<= 1")
		}
	}
}

// bareCallTime is the mean time of one SyncFolderHierarchy call to the
// stack's simulator from a bare EWS client, one call after the other: the
// simulator's real per-call time, against which the jobs' rate is judged.
func bareCallTime(b *testing.B, s *stack) time.Duration {
	b.Helper()
	acct := s.demo.dataset.Account
	c, err := ews.New(ews.Config{URL: s.demo.server.EWSURL, Auth: ews.BasicAuth(acct.Username, acct.Password), URLGuard: &urlguard.Policy{DevLoopback: true}})
	if err != nil {
		b.Fatal(err)
	}
	target := ews.Target{Mailbox: s.demo.dataset.Mailboxes[0], Mode: ews.ModeDelegate}
	const calls = 40
	began := time.Now()
	for range calls {
		if _, err := c.SyncFolderHierarchy(context.Background(), target, ""); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(began) / calls
}

// (b) An impersonation tenant of 10,000 mailboxes on the local stack at
// 20 ms per call: a tick's wall time against calls × latency ÷ workers, and
// the process's peak RSS. Both the first (initial) tick and an incremental
// one are measured.
func BenchmarkImpersonation10k(b *testing.B) {
	const workers, latency = 32, 20 * time.Millisecond
	s := benchStack(b, workers, demoOptions{Mailboxes: 10_000, Items: 8, Latency: latency, Mode: domain.AccessImpersonation})
	start := time.Now().Truncate(time.Minute)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, name := range []string{"initial", "incremental"} {
			cpu0 := cpuTime()
			r, calls, _ := tickAt(b, s, start, 2*i+k)
			cpu := cpuTime() - cpu0
			bound := time.Duration(calls) * latency / workers
			ratio := r.Took.Seconds() / bound.Seconds()
			b.ReportMetric(ratio, name+"-ratio")
			figure(b, fmt.Sprintf("(b) impersonation tenant, 10,000 mailboxes, %s tick, %d workers, 20ms/call, %s", name, workers, dataWhere()),
				fmt.Sprintf("%.1fs (%d calls, %d feed entries; this process used %.0fs of CPU, simulator included)", r.Took.Seconds(), calls, r.Appended, cpu.Seconds()),
				fmt.Sprintf("calls x 20ms / %d = %.1fs", workers, bound.Seconds()), ratio, "<= 1.25")
			memoryNote(b, s, "(b) after the "+name+" tick")
		}
	}
	b.StopTimer()
	rss := peakRSS(b)
	b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
	figure(b, "(b) peak RSS of the process (store, queue, API, simulator with 10,000 mailboxes)",
		fmt.Sprintf("%d MB", rss>>20), "512 MB", float64(rss)/float64(512<<20), "<= 1")
}

// (c) The initial sync of one mailbox of 50,000 items (no latency):
// items per second into the store and the feed.
func BenchmarkInitialSync50k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := benchStack(b, 1, demoOptions{Mailboxes: 1, Items: 50_000, Mode: domain.AccessImpersonation})
		b.StartTimer()
		r, calls, _ := tickAt(b, s, time.Now(), 0)
		rate := float64(r.Appended) / r.Took.Seconds()
		b.ReportMetric(rate, "items/s")
		figure(b, "(c) initial sync of one mailbox of 50,000 items, "+dataWhere(),
			fmt.Sprintf("%.0f items/s (%d items in %.2fs, %d EWS calls)", rate, r.Appended, r.Took.Seconds(), calls),
			"10,000 items/s", rate/10_000, ">= 1")
		b.StopTimer()
		s.close()
	}
}

// memoryNote prints where the process's memory is after a tick: the bolt
// file (mmapped; on tmpfs its pages count in RSS), the Go heap in use and
// allocated (no forced collection: that would change the peak), and the
// resident set now and at its peak.
func memoryNote(b *testing.B, s *stack, when string) {
	b.Helper()
	var bolt int64
	if fi, err := os.Stat(filepath.Join(s.cfg.data, "mailbridge.db")); err == nil {
		bolt = fi.Size()
	}
	free, pending, psize := s.store.FreePages()
	fmt.Printf("note: %s: bolt free pages %d MB, pending %d MB\n", when, free*psize>>20, pending*psize>>20)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("note: %s: bolt file %d MB, heap in use %d MB (%d MB allocated), RSS %d MB (anonymous %d MB, file %d MB, shared memory %d MB), peak RSS %d MB\n",
		when, bolt>>20, ms.HeapInuse>>20, ms.HeapAlloc>>20, procStatus(b, "VmRSS:")>>20,
		procStatus(b, "RssAnon:")>>20, procStatus(b, "RssFile:")>>20, procStatus(b, "RssShmem:")>>20, procStatus(b, "VmHWM:")>>20)
	if p := os.Getenv("BENCH_HEAPPROFILE"); p != "" {
		if f, err := os.Create(p + "." + strings.Fields(when)[3]); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
}

// cpuTime is the CPU time (user + system) this process has used: with the
// simulator in the same process, a tick that needs more CPU than the cores
// give it cannot reach the latency bound.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS(b *testing.B) int64 { return procStatus(b, "VmHWM:") }

// procStatus is a kB field of /proc/self/status (VmHWM:, VmRSS:), in bytes.
func procStatus(b *testing.B, field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal(field + " not found")
	return 0
}
