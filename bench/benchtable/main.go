// Command benchtable reads `go test -bench` output on stdin and prints, for
// each benchmark with an "ours=" and a "peer=" sub-benchmark, our figure,
// the peer's and their ratio, metric by metric. Other benchmark lines are
// printed as they are.
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

func parse(r io.Reader) (pairs map[string][2]*result, order []string, others []*result) {
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
	return pairs, order, others
}

func main() {
	pairs, order, others := parse(os.Stdin)
	w := os.Stdout
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

func num(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
