package bench

import (
	"runtime"
	"runtime/metrics"
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
//
// The garbage collector and the scavenger run in the background, whenever
// the heap says so: the CPU they spend during one side's round is mostly
// owed to the others' allocations (a side that allocates more would have
// its collection charged to its peers). So their CPU is taken out of each
// round's process CPU in proportion to the round's wall time, and charged
// back to each side in proportion to the bytes it allocated; the harness's
// own allocations (preparing the input) keep their share.
//
// It reports, per side, process CPU (user+sys, all goroutines) per span
// with memory management so attributed, the memory management part alone,
// wall time, bytes and allocations per span.
func interleave(b *testing.B, sides ...side) {
	b.Helper()
	tot := make([]totals, len(sides))
	var before, after runtime.MemStats
	runtime.GC()
	loopStart, memCPUStart, allocStart := time.Now(), memoryManagementCPU(), totalAlloc()
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
	loopWall := time.Since(loopStart)
	memCPU := memoryManagementCPU() - memCPUStart
	loopAlloc := totalAlloc() - allocStart
	for j, s := range sides {
		t, n := tot[j], float64(tot[j].spans)
		if n == 0 {
			continue
		}
		owed := time.Duration(float64(memCPU) * float64(t.bytes) / float64(max(loopAlloc, 1)))
		ranDuring := time.Duration(float64(memCPU) * float64(t.wall) / float64(loopWall))
		cpu := t.cpu - ranDuring + owed
		b.ReportMetric(float64(cpu.Nanoseconds())/n, s.name+"-cpu-ns/span")
		b.ReportMetric(float64(owed.Nanoseconds())/n, s.name+"-gc-cpu-ns/span")
		b.ReportMetric(float64(t.wall.Nanoseconds())/n, s.name+"-ns/span")
		b.ReportMetric(float64(t.bytes)/n, s.name+"-B/span")
		b.ReportMetric(float64(t.mallocs)/n, s.name+"-allocs/span")
	}
}

// memoryManagementCPU is the CPU the garbage collector and the scavenger
// have spent, by the runtime's own account (updated as each cycle ends).
func memoryManagementCPU() time.Duration {
	samples := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/scavenge/total:cpu-seconds"}}
	metrics.Read(samples)
	var seconds float64
	for _, s := range samples {
		seconds += s.Value.Float64()
	}
	return time.Duration(seconds * float64(time.Second))
}

func totalAlloc() uint64 {
	samples := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(samples)
	return samples[0].Value.Uint64()
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
