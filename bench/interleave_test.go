package bench

import (
	"flag"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
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
	// sink, when set, receives this side's requests and no other side's,
	// and runs is how many runs a round sends: the connections the sink
	// accepts are then reported per 1,000 runs.
	sink *childSink
	runs int
}

// counted is s with its connections counted at sink, runs runs a round.
func (s side) counted(sink *childSink, runs int) side {
	s.sink, s.runs = sink, runs
	return s
}

// totals is what one side has cost over its rounds.
type totals struct {
	cpu, wall      time.Duration
	gc             time.Duration // memory management CPU during its rounds (the scavenger)
	bytes, mallocs uint64
	spans          int
	rounds         []roundCost
	// conns counts the connections the side's sink accepted after its
	// first round (steady state), firstConns those of the first round.
	conns, firstConns int64
}

// roundCost is one round of one side, for the spread across rounds.
type roundCost struct {
	cpu, gc time.Duration
	bytes   uint64
	spans   int
}

// onlySides keeps the sides named (comma-separated): a CPU profile of one
// side, for instance -sides=ours -cpuprofile cpu.out.
var onlySides = flag.String("sides", "", "run only these sides of interleaved benchmarks (comma-separated: ours,peer,limit)")

// spreadBlocks is how many blocks of rounds a median and spread are
// reported over.
const spreadBlocks = 5

// interleave runs the sides round by round (the order rotating each
// iteration), so load on a shared machine drifts the same way for all.
//
// The garbage collector would run in the background whenever the heap
// says so, and the CPU it spends during one side's round is mostly owed to
// the others' allocations; its own account of that CPU comes only when a
// cycle ends, often in another round. So it is off during rounds, and the
// harness collects between rounds, outside the measurement, when the heap
// has grown as far as GOGC would let it (the same pace as the collector's
// own). The CPU of those collections, and of the scavenger, which still
// runs, is charged back to each side in proportion to the bytes it
// allocated; the harness's own allocations (preparing the input) keep
// their share.
//
// It reports, per side, process CPU (user+sys, all goroutines) per span
// with memory management so attributed, the memory management part alone,
// wall time, bytes and allocations per span; the median, min and max over
// blocks of rounds of CPU per span and of its ratio to each other side's
// in the same rounds; and, for sides with a sink of their own, the
// connections it accepted per 1,000 runs.
func interleave(b *testing.B, sides ...side) {
	b.Helper()
	if *onlySides != "" {
		keep := strings.Split(*onlySides, ",")
		sides = slices.DeleteFunc(sides, func(s side) bool { return !slices.Contains(keep, s.name) })
		if len(sides) == 0 {
			b.Skipf("no side named in -sides=%s", *onlySides)
		}
	}
	tot := make([]totals, len(sides))
	var before, after runtime.MemStats
	gogc := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(gogc)
	if gogc < 0 {
		gogc = 100
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	// nextGC is the heap size at which the collector would start a cycle.
	nextGC := func(live uint64) uint64 { return max(live+live*uint64(gogc)/100, 4<<20) }
	trigger := nextGC(before.HeapAlloc)
	var collecting time.Duration // CPU of the collections between rounds
	allocStart := totalAlloc()
	for i := 0; b.Loop(); i++ {
		for k := range sides {
			j := (i + k) % len(sides)
			s := sides[j]
			b.StopTimer()
			in := s.prepare(i)
			var conns0 int64
			if s.sink != nil {
				conns0 = s.sink.conns(b)
			}
			runtime.ReadMemStats(&before)
			if before.HeapAlloc >= trigger {
				c0 := processCPU()
				runtime.GC()
				collecting += processCPU() - c0
				runtime.ReadMemStats(&before)
				trigger = nextGC(before.HeapAlloc)
			}
			gc0 := memoryManagementCPU()
			b.StartTimer()
			cpu0, wall0 := processCPU(), time.Now()
			n := s.round(in)
			wall, cpu := time.Since(wall0), processCPU()-cpu0
			b.StopTimer()
			gc := memoryManagementCPU() - gc0
			runtime.ReadMemStats(&after)
			t := &tot[j]
			if s.sink != nil {
				if opened := s.sink.conns(b) - conns0; i == 0 {
					t.firstConns = opened
				} else {
					t.conns += opened
				}
			}
			b.StartTimer()
			r := roundCost{cpu: cpu, gc: gc, bytes: after.TotalAlloc - before.TotalAlloc, spans: n}
			t.rounds = append(t.rounds, r)
			t.cpu += cpu
			t.wall += wall
			t.gc += gc
			t.bytes += r.bytes
			t.mallocs += after.Mallocs - before.Mallocs
			t.spans += n
		}
	}
	memCPU := collecting
	for _, t := range tot {
		memCPU += t.gc
	}
	loopAlloc := totalAlloc() - allocStart
	// attributed is CPU with memory management charged by bytes allocated.
	attributed := func(cpu, gc time.Duration, bytes uint64) time.Duration {
		owed := time.Duration(float64(memCPU) * float64(bytes) / float64(max(loopAlloc, 1)))
		return cpu - gc + owed
	}
	for j, s := range sides {
		t, n := tot[j], float64(tot[j].spans)
		if n == 0 {
			continue
		}
		owed := time.Duration(float64(memCPU) * float64(t.bytes) / float64(max(loopAlloc, 1)))
		cpu := attributed(t.cpu, t.gc, t.bytes)
		b.ReportMetric(float64(cpu.Nanoseconds())/n, s.name+"-cpu-ns/span")
		b.ReportMetric(float64(owed.Nanoseconds())/n, s.name+"-gc-cpu-ns/span")
		b.ReportMetric(float64(t.wall.Nanoseconds())/n, s.name+"-ns/span")
		b.ReportMetric(float64(t.bytes)/n, s.name+"-B/span")
		b.ReportMetric(float64(t.mallocs)/n, s.name+"-allocs/span")
		if s.sink != nil && len(t.rounds) > 1 {
			b.ReportMetric(float64(t.conns)*1000/float64(s.runs*(len(t.rounds)-1)), s.name+"-conns/1000runs")
			b.ReportMetric(float64(t.firstConns), s.name+"-conns-first-round")
		}
	}
	// The spread: the rounds after the first (which fills connection pools
	// and caches), in spreadBlocks consecutive blocks, so that one round
	// disturbed by the machine's other load moves one block, diluted.
	steady := len(tot[0].rounds) - 1
	if steady < spreadBlocks {
		b.Logf("%d rounds per side after the first: too few for a median and spread over %d blocks (raise -benchtime)", steady, spreadBlocks)
		return
	}
	b.ReportMetric(float64(steady), "rounds")
	perBlock := make([][]float64, len(sides)) // attributed CPU ns per span
	for j := range sides {
		for k := range spreadBlocks {
			var sum roundCost
			for _, r := range tot[j].rounds[1+k*steady/spreadBlocks : 1+(k+1)*steady/spreadBlocks] {
				sum.cpu += r.cpu
				sum.gc += r.gc
				sum.bytes += r.bytes
				sum.spans += r.spans
			}
			perBlock[j] = append(perBlock[j], float64(attributed(sum.cpu, sum.gc, sum.bytes).Nanoseconds())/float64(max(sum.spans, 1)))
		}
	}
	for j, s := range sides {
		reportSpread(b, s.name+"-cpu-ns/span", perBlock[j])
		for k, o := range sides {
			if k <= j {
				continue
			}
			ratios := make([]float64, spreadBlocks)
			for i := range ratios {
				ratios[i] = perBlock[j][i] / perBlock[k][i]
			}
			reportSpread(b, s.name+"/"+o.name+"-cpu", ratios)
		}
	}
}

// reportSpread reports the median, min and max of xs as name-median,
// name-min and name-max.
func reportSpread(b *testing.B, name string, xs []float64) {
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	b.ReportMetric(median, name+"-median")
	b.ReportMetric(sorted[0], name+"-min")
	b.ReportMetric(sorted[len(sorted)-1], name+"-max")
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
