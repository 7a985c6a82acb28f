// Command benchtable reads `go test -bench` output on stdin and prints:
//   - for interleaved benchmarks (metrics prefixed ours-, peer-, limit-),
//     CPU per span of each side with ours/peer and ours/limit, then wall
//     time, bytes and allocations per span;
//   - for scaling benchmarks (ours- metrics only), one row per case with
//     its CPU per span relative to the first case of its kind;
//   - for each benchmark with an "ours=" and a "peer=" sub-benchmark, our
//     figure, the peer's and their ratio, metric by metric.
//
// Other benchmark lines are printed as they are.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

type result struct {
	name    string
	metrics map[string]float64
	order   []string
}

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parse(r io.Reader) (pairs map[string][2]*result, order []string, interleaved, promptSizes, others []*result) {
	pairs = map[string][2]*result{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		res := &result{name: m[1], metrics: map[string]float64{}}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res.metrics[f[i+1]] = v
			res.order = append(res.order, f[i+1])
		}
		parent, sub, ok := strings.Cut(res.name, "/")
		switch {
		case hasMetric(res, "ours10KB-cpu-ns/span"):
			promptSizes = append(promptSizes, res)
		case hasMetric(res, "ours-cpu-ns/span"):
			interleaved = append(interleaved, res)
		case ok && strings.HasPrefix(sub, "ours="):
			p := pairs[parent]
			if p[0] == nil && p[1] == nil {
				order = append(order, parent)
			}
			p[0] = res
			pairs[parent] = p
		case ok && strings.HasPrefix(sub, "peer="):
			p := pairs[parent]
			if p[0] == nil && p[1] == nil {
				order = append(order, parent)
			}
			p[1] = res
			pairs[parent] = p
		default:
			others = append(others, res)
		}
	}
	return pairs, order, interleaved, promptSizes, others
}

func hasMetric(r *result, m string) bool { _, ok := r.metrics[m]; return ok }

func main() {
	pairs, order, interleaved, promptSizes, others := parse(os.Stdin)
	w := os.Stdout
	printInterleaved(w, interleaved)
	printPromptSizes(w, promptSizes)
	for _, name := range order {
		p := pairs[name]
		if p[0] == nil || p[1] == nil {
			continue
		}
		ours := strings.TrimPrefix(strings.SplitN(p[0].name, "/", 2)[1], "ours=")
		peer := strings.TrimPrefix(strings.SplitN(p[1].name, "/", 2)[1], "peer=")
		fmt.Fprintf(w, "\n%s: %s (ours) vs %s\n", strings.TrimPrefix(name, "Benchmark"), ours, peer)
		fmt.Fprintf(w, "  %-14s %14s %14s %9s\n", "metric", "ours", "peer", "ours/peer")
		for _, metric := range []string{"ns/span", "B/span", "allocs/span", "cpu-ns/span", "spans/s", "dropped/span"} {
			o, okO := p[0].metrics[metric]
			q, okP := p[1].metrics[metric]
			if !okO && !okP {
				continue
			}
			ratio := "-"
			if okO && okP && q != 0 {
				ratio = fmt.Sprintf("%.2fx", o/q)
			}
			fmt.Fprintf(w, "  %-14s %14s %14s %9s\n", metric, num(o, okO), num(q, okP), ratio)
		}
	}
	if len(others) > 0 {
		fmt.Fprintln(w, "\nOther measurements")
		for _, r := range others {
			var parts []string
			for _, m := range r.order {
				if m == "ns/op" || m == "B/op" || m == "allocs/op" {
					continue
				}
				parts = append(parts, fmt.Sprintf("%s %s", num(r.metrics[m], true), m))
			}
			fmt.Fprintf(w, "  %-40s %s\n", strings.TrimPrefix(r.name, "Benchmark"), strings.Join(parts, "  "))
		}
	}
}

// count is a metric that counts whole things.
func count(r *result, m string) string {
	v, ok := r.metrics[m]
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func num(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// sideNames says who the sides are where "ours" and "peer" alone would
// mislead.
var sideNames = map[string]string{
	"BenchmarkInterleavedCollectorVsSDK": "ours (the Collector exporter), peer (the SDK exporter) and limit (a minimal client)",
}

// printInterleaved prints the interleaved benchmarks, grouped by their
// top-level name, then the scaling ones (no peer).
func printInterleaved(w io.Writer, rs []*result) {
	var groups []string
	byGroup := map[string][]*result{}
	for _, r := range rs {
		g, _, _ := strings.Cut(r.name, "/")
		if byGroup[g] == nil {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], r)
	}
	for _, g := range groups {
		rows := byGroup[g]
		if !hasMetric(rows[0], "peer-cpu-ns/span") {
			printScaling(w, g, rows)
			continue
		}
		sides := "ours and peer"
		if hasMetric(rows[0], "limit-cpu-ns/span") {
			sides = "ours, peer and limit (a minimal client)"
		}
		if d, ok := sideNames[g]; ok {
			sides = d
		}
		fmt.Fprintf(w, "\n%s: process CPU per span, %s in alternating rounds\n", strings.TrimPrefix(g, "Benchmark"), sides)
		fmt.Fprintf(w, "  %-50s %10s %10s %9s %10s %10s\n", "case", "ours", "peer", "ours/peer", "limit", "ours/limit")
		for _, r := range rows {
			fmt.Fprintf(w, "  %-50s %10s %10s %9s %10s %10s\n", caseName(r),
				metric(r, "ours-cpu-ns/span"), metric(r, "peer-cpu-ns/span"), ratio(r, "ours-cpu-ns/span", "peer-cpu-ns/span"),
				metric(r, "limit-cpu-ns/span"), ratio(r, "ours-cpu-ns/span", "limit-cpu-ns/span"))
		}
		fmt.Fprintf(w, "  same rounds, per span: the CPU above that is garbage collection (charged by bytes allocated), wall ns, B and allocs (ours / peer / limit):\n")
		fmt.Fprintf(w, "  %-50s %22s %22s %9s %22s %9s %20s\n", "case", "gc cpu ns", "wall ns", "ours/peer", "B", "ours/peer", "allocs")
		for _, r := range rows {
			fmt.Fprintf(w, "  %-50s %22s %22s %9s %22s %9s %20s\n", caseName(r), triple(r, "gc-cpu-ns/span"),
				triple(r, "ns/span"), ratio(r, "ours-ns/span", "peer-ns/span"),
				triple(r, "B/span"), ratio(r, "ours-B/span", "peer-B/span"), triple(r, "allocs/span"))
		}
		printSpread(w, rows)
		printConns(w, rows)
		if hasMetric(rows[0], "ours-dropped/span") {
			fmt.Fprintf(w, "  dropped/span (ours / peer; the figures count only if both are 0):\n")
			for _, r := range rows {
				fmt.Fprintf(w, "  %-50s %22s\n", caseName(r), triple(r, "dropped/span"))
			}
		}
	}
}

// printSpread shows CPU per span and its ratios as median [min..max] over
// 5 blocks of the rounds after the first, each ratio taken within the same
// rounds, when the benchmark had enough rounds.
func printSpread(w io.Writer, rows []*result) {
	if !hasMetric(rows[0], "rounds") {
		return
	}
	sides := []string{"ours", "peer"}
	if hasMetric(rows[0], "limit-cpu-ns/span") {
		sides = append(sides, "limit")
	}
	var cols []string
	for _, s := range sides {
		cols = append(cols, s+" cpu-ns/span")
	}
	for i := range sides {
		for _, o := range sides[i+1:] {
			cols = append(cols, sides[i]+"/"+o)
		}
	}
	fmt.Fprintf(w, "  median [min..max] over 5 blocks of the rounds after the first (ratios within the same rounds):\n")
	fmt.Fprintf(w, "  %-50s %6s", "case", "rounds")
	for _, c := range cols {
		fmt.Fprintf(w, " %22s", c)
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "  %-50s %6s", caseName(r), count(r, "rounds"))
		for _, s := range sides {
			fmt.Fprintf(w, " %22s", spread(r, s+"-cpu-ns/span"))
		}
		for i := range sides {
			for _, o := range sides[i+1:] {
				fmt.Fprintf(w, " %22s", spread(r, sides[i]+"/"+o+"-cpu"))
			}
		}
		fmt.Fprintln(w)
	}
}

// spread is "median [min..max]" of a metric reported with reportSpread.
func spread(r *result, m string) string {
	if !hasMetric(r, m+"-median") {
		return "-"
	}
	return fmt.Sprintf("%s [%s..%s]", metric(r, m+"-median"), metric(r, m+"-min"), metric(r, m+"-max"))
}

// printConns shows the new connections each side's sink accepted per
// 1,000 runs after the first round, and in the first round.
func printConns(w io.Writer, rows []*result) {
	if !hasMetric(rows[0], "ours-conns/1000runs") {
		return
	}
	fmt.Fprintf(w, "  new connections per 1,000 runs after the first round (opened in the first round), ours / peer / limit:\n")
	for _, r := range rows {
		var parts []string
		for _, s := range []string{"ours", "peer", "limit"} {
			if hasMetric(r, s+"-conns/1000runs") {
				parts = append(parts, fmt.Sprintf("%s (%s)", metric(r, s+"-conns/1000runs"), count(r, s+"-conns-first-round")))
			}
		}
		fmt.Fprintf(w, "  %-50s %s\n", caseName(r), strings.Join(parts, " / "))
	}
}

// printPromptSizes shows what a 10 KB prompt costs per span against a
// 100 B one, for ours and for the minimal client, from rounds that
// alternated in one run.
func printPromptSizes(w io.Writer, rows []*result) {
	if len(rows) == 0 {
		return
	}
	g, _, _ := strings.Cut(rows[0].name, "/")
	fmt.Fprintf(w, "\n%s: process CPU per span, 100 B and 10 KB prompts in alternating rounds\n", strings.TrimPrefix(g, "Benchmark"))
	fmt.Fprintf(w, "  %-24s %10s %10s %10s %10s %10s %10s\n", "case", "ours 100B", "ours 10KB", "10KB/100B", "limit 100B", "limit 10KB", "10KB/100B")
	for _, r := range rows {
		fmt.Fprintf(w, "  %-24s %10s %10s %10s %10s %10s %10s\n", caseName(r),
			metric(r, "ours100B-cpu-ns/span"), metric(r, "ours10KB-cpu-ns/span"), ratio(r, "ours10KB-cpu-ns/span", "ours100B-cpu-ns/span"),
			metric(r, "limit100B-cpu-ns/span"), metric(r, "limit10KB-cpu-ns/span"), ratio(r, "limit10KB-cpu-ns/span", "limit100B-cpu-ns/span"))
	}
}

// printScaling shows whether cost per span stays flat: each row's CPU per
// span against the previous row of the same kind (the text before "="),
// so growth from one size to the next stands out.
func printScaling(w io.Writer, g string, rows []*result) {
	fmt.Fprintf(w, "\n%s: cost per span as runs grow and as more runs are open at once\n", strings.TrimPrefix(g, "Benchmark"))
	fmt.Fprintf(w, "  %-24s %12s %10s %12s %10s %12s\n", "case", "cpu-ns/span", "vs prev", "wall ns/span", "B/span", "allocs/span")
	prev := map[string]float64{}
	for _, r := range rows {
		c := caseName(r)
		kind, _, _ := strings.Cut(c, "=")
		cpu := r.metrics["ours-cpu-ns/span"]
		rel := "-"
		if p := prev[kind]; p != 0 {
			rel = fmt.Sprintf("%.2fx", cpu/p)
		}
		prev[kind] = cpu
		fmt.Fprintf(w, "  %-24s %12s %10s %12s %10s %12s\n", c, metric(r, "ours-cpu-ns/span"), rel,
			metric(r, "ours-ns/span"), metric(r, "ours-B/span"), metric(r, "ours-allocs/span"))
	}
}

func caseName(r *result) string {
	_, c, ok := strings.Cut(r.name, "/")
	if !ok {
		return r.name
	}
	return c
}

func metric(r *result, m string) string {
	v, ok := r.metrics[m]
	return num(v, ok)
}

func ratio(r *result, a, b string) string {
	x, okA := r.metrics[a]
	y, okB := r.metrics[b]
	if !okA || !okB || y == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", x/y)
}

// triple is a metric for ours, peer and limit: "o / p / l".
func triple(r *result, m string) string {
	parts := []string{metric(r, "ours-"+m), metric(r, "peer-"+m)}
	if hasMetric(r, "limit-"+m) {
		parts = append(parts, metric(r, "limit-"+m))
	}
	return strings.Join(parts, " / ")
}
