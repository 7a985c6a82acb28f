package bench

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

const batchSize = 512 // spans per export: 64 runs of 8 spans

var prompt = `[{"role":"user","parts":[{"type":"text","content":"What is the weather in Paris today, and should I take an umbrella?"}]}]`

// cost measures allocation across the whole process (delivery goroutines
// included) and reports it per span.
type cost struct {
	before runtime.MemStats
	start  time.Time
	cpu    time.Duration // process CPU time (all goroutines) at start
	// excluded is what pause/resume kept out: setup inside the loop.
	excludedBytes, excludedMallocs uint64
	paused                         runtime.MemStats
}

// pause and resume bracket setup work inside the loop (a new batch), so its
// allocations are not charged to the code measured.
func (c *cost) pause() { runtime.ReadMemStats(&c.paused) }

func (c *cost) resume() {
	var now runtime.MemStats
	runtime.ReadMemStats(&now)
	c.excludedBytes += now.TotalAlloc - c.paused.TotalAlloc
	c.excludedMallocs += now.Mallocs - c.paused.Mallocs
}

func startCost() *cost {
	c := &cost{}
	runtime.GC()
	runtime.ReadMemStats(&c.before)
	c.start = time.Now()
	c.cpu = processCPU()
	return c
}

// reportWall uses the wall time since startCost, for work that ends after
// the timed loop (delivery finished by Shutdown).
func (c *cost) reportWall(b *testing.B, spans int) { c.reportTime(b, spans, time.Since(c.start)) }

func (c *cost) reportTime(b *testing.B, spans int, elapsed time.Duration) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	n := float64(spans)
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/span")
	b.ReportMetric(float64(after.TotalAlloc-c.before.TotalAlloc-c.excludedBytes)/n, "B/span")
	b.ReportMetric(float64(after.Mallocs-c.before.Mallocs-c.excludedMallocs)/n, "allocs/span")
	b.ReportMetric(n/elapsed.Seconds(), "spans/s")
	b.ReportMetric(float64((processCPU()-c.cpu).Nanoseconds())/n, "cpu-ns/span")
}

// processCPU is the user and system CPU time of the whole process: work
// done on background goroutines counts, not only the caller's.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
