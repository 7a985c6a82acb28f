package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

func main() {
	role := flag.String("role", "", "internal: `load` runs as the load generator child")
	loadJSON := flag.String("load", "", "internal: the load generator's configuration")
	only := flag.String("only", "", "run only the scenarios whose name matches this `regexp`")
	frontEnds := flag.String("frontends", "", "comma-separated `list` of front ends to run (exporter,processor,collector,otlphttp); empty: each scenario's own")
	runsScale := flag.Float64("scale", 1, "multiply every scenario's runs by this `factor`")
	deadlineScale := flag.Float64("deadline-scale", 1, "multiply every scenario's deadline by this `factor`")
	workers := flag.Int("workers", 8, "goroutines tracing runs in parallel in each load generator")
	collectorBin := flag.String("collector", "", "otelcol-agentos binary (default: .e2e/otelcol-agentos/otelcol-agentos, built if missing)")
	flag.Parse()

	if *role == "load" {
		if err := runLoad(*loadJSON); err != nil {
			fmt.Fprintln(os.Stderr, "soak load:", err)
			os.Exit(2)
		}
		return
	}
	selected, err := selectScenarios(*only, *frontEnds, *runsScale, *deadlineScale)
	if err == nil {
		var ok bool
		ok, err = soakAll(selected, *collectorBin, *workers)
		if err == nil && !ok {
			os.Exit(1)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
}

// selectScenarios applies the flags to the scenario table.
func selectScenarios(only, frontEnds string, runsScale, deadlineScale float64) ([]scenario, error) {
	match, err := regexp.Compile(only)
	if err != nil {
		return nil, fmt.Errorf("-only: %w", err)
	}
	var keep []frontEnd
	for _, f := range strings.Split(frontEnds, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !slices.Contains(oursAndPeer, frontEnd(f)) {
			return nil, fmt.Errorf("-frontends: unknown front end %q", f)
		}
		keep = append(keep, frontEnd(f))
	}
	if runsScale <= 0 || deadlineScale <= 0 {
		return nil, errors.New("-scale and -deadline-scale must be positive")
	}
	var out []scenario
	for _, sc := range scenarios {
		if !match.MatchString(sc.name) {
			continue
		}
		if keep != nil {
			sc.frontEnds = slices.DeleteFunc(slices.Clone(sc.frontEnds), func(f frontEnd) bool { return !slices.Contains(keep, f) })
		}
		sc.runs = max(1, int(float64(sc.runs)*runsScale))
		sc.deadline = time.Duration(float64(sc.deadline) * deadlineScale)
		if len(sc.frontEnds) > 0 {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no scenario selected")
	}
	return out, nil
}

// soakAll runs every selected row, prints the table, and reports whether
// every row kept its rules.
func soakAll(selected []scenario, collectorBin string, workers int) (bool, error) {
	began := time.Now()
	root, err := moduleRoot()
	if err != nil {
		return false, err
	}
	if collectorBin == "" {
		collectorBin = filepath.Join(root, ".e2e", "otelcol-agentos", "otelcol-agentos")
	}
	s := &soak{root: root, collectorBin: collectorBin, logDir: filepath.Join(root, ".e2e", "soak"), workers: workers}
	if s.self, err = os.Executable(); err != nil {
		return false, err
	}
	if err := os.MkdirAll(s.logDir, 0o755); err != nil {
		return false, err
	}
	if slices.ContainsFunc(selected, func(sc scenario) bool {
		return slices.Contains(sc.frontEnds, collectorFE) || slices.Contains(sc.frontEnds, otlphttpFE)
	}) {
		if err := ensureCollector(root, collectorBin); err != nil {
			return false, err
		}
	}
	if s.agentos, err = startAgentOS(); err != nil {
		return false, err
	}
	defer s.agentos.close()
	if s.sink, err = startSink(); err != nil {
		return false, err
	}
	defer s.sink.close()

	var rows []row
	for _, sc := range selected {
		for _, fe := range sc.frontEnds {
			fmt.Fprintf(os.Stderr, "soak: %s through %s (%d runs, deadline %s)\n", sc.name, fe, sc.runs, sc.deadline)
			r := s.run(sc, fe)
			fmt.Fprintf(os.Stderr, "soak:   %s\n", summary(r))
			rows = append(rows, r)
		}
	}
	printReport(os.Stdout, rows)
	fmt.Printf("\nsoak took %s; logs in %s\n", time.Since(began).Round(time.Second), s.logDir)
	return !slices.ContainsFunc(rows, func(r row) bool { return !r.ok() && (r.scenario.strict || r.err != nil) }), nil
}

// moduleRoot is the nearest directory up from here with a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the module: run from the repository (make soak)")
		}
		dir = parent
	}
}
