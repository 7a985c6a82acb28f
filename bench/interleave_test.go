package bench

import (
	"runtime"
	"testing"
	"time"
)

// side is one contender of an interleaved benchmark. prepare builds round
// i's input outside the measurement; round does all its work, delivery
// included, and returns the spans it sent.
type side struct {
	name    string // metric prefix: ours, peer or limit
	prepare func(i int) any
	round   func(in any) int
}

// totals is what one side has cost over its rounds.
type totals struct {
	cpu, wall      time.Duration
	bytes, mallocs uint64
	spans          int
}

// interleave runs the sides round by round (the order rotating each
// iteration), so load on a shared machine drifts the same way for all.
// GC runs as it would in production: most of a round's garbage is
// collected within the round (assists and background marking triggered by
// its own allocation); a forced GC per round would empty sync.Pools and
// charge every round a full mark of the heap.
// It reports, per side, process CPU (user+sys, all goroutines) per span,
// wall time, bytes and allocations per span.
func interleave(b *testing.B, sides ...side) {
	b.Helper()
	tot := make([]totals, len(sides))
	var before, after runtime.MemStats
	runtime.GC()
	for i := 0; b.Loop(); i++ {
		for k := range sides {
			j := (i + k) % len(sides)
			s := sides[j]
			b.StopTimer()
			in := s.prepare(i)
			runtime.ReadMemStats(&before)
			b.StartTimer()
			cpu0, wall0 := processCPU(), time.Now()
			n := s.round(in)
			wall, cpu := time.Since(wall0), processCPU()-cpu0
			runtime.ReadMemStats(&after)
			t := &tot[j]
			t.cpu += cpu
			t.wall += wall
			t.bytes += after.TotalAlloc - before.TotalAlloc
			t.mallocs += after.Mallocs - before.Mallocs
			t.spans += n
		}
	}
	for j, s := range sides {
		t, n := tot[j], float64(tot[j].spans)
		if n == 0 {
			continue
		}
		b.ReportMetric(float64(t.cpu.Nanoseconds())/n, s.name+"-cpu-ns/span")
		b.ReportMetric(float64(t.wall.Nanoseconds())/n, s.name+"-ns/span")
		b.ReportMetric(float64(t.bytes)/n, s.name+"-B/span")
		b.ReportMetric(float64(t.mallocs)/n, s.name+"-allocs/span")
	}
}

// runsPerRound keeps rounds near 512 spans whatever the run's size.
func runsPerRound(spansPerRun int) int { return max(1, 512/spansPerRun) }

var shapes = []struct {
	name string
	sh   shape
}{
	{"spans=8/prompt=100B", shape{8, 100}},
	{"spans=50/prompt=100B", shape{50, 100}},
	{"spans=200/prompt=100B", shape{200, 100}},
	{"spans=8/prompt=10KB", shape{8, 10 << 10}},
	{"spans=50/prompt=10KB", shape{50, 10 << 10}},
	{"spans=200/prompt=10KB", shape{200, 10 << 10}},
}
