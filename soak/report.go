package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

// summary is the one-line progress report of a row.
func summary(r row) string {
	if r.err != nil && r.delivery <= 0 {
		return "error: " + r.err.Error()
	}
	if r.delivery <= 0 {
		return verdictText(r) + ": nothing delivered"
	}
	return fmt.Sprintf("%s: %.0f spans/s over %s (traced in %s, handed over in %s)", verdictText(r), r.spansPerSecond(), r.delivery.Round(time.Millisecond),
		r.load.Produced.Round(time.Millisecond), r.load.Elapsed.Round(time.Millisecond))
}

func verdictText(r row) string {
	switch {
	case r.err != nil:
		return "ERROR"
	case !r.scenario.strict && r.ok():
		return "ok*"
	case !r.scenario.strict:
		return "fails*"
	case r.ok():
		return "ok"
	}
	return "FAIL"
}

// printReport prints one row per scenario and front end, notes, then the
// latency and side-by-side comparisons.
func printReport(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tfront end\tverdict\truns\tmissing\topen\tfailed\tduplicate\tout of order\tevents lost\textra events\treq/run\tdelivery\tspans/s\tpeak RSS MiB\tCPU s\t")
	var notes []string
	for _, r := range rows {
		v := r.verdict
		cells := []any{r.scenario.name, r.frontEnd, verdictText(r), r.scenario.runs}
		if r.frontEnd == otlphttpFE {
			cells = append(cells, "-", "-", "-", "-", "-", fmt.Sprintf("%d spans", r.sinkLost), "-", "-")
		} else {
			cells = append(cells, v.missing, v.open, v.failed, v.duplicates, v.outOfOrder, v.lost, v.extra,
				fmt.Sprintf("%.2f", float64(v.requests)/float64(v.runs)))
		}
		delivery, rate := "-", "-"
		if r.delivery > 0 {
			delivery, rate = r.delivery.Round(10*time.Millisecond).String(), fmt.Sprintf("%.0f", r.spansPerSecond())
		}
		cells = append(cells, delivery, rate,
			fmt.Sprintf("%.0f", float64(r.maxRSS)/(1<<20)), fmt.Sprintf("%.1f", r.cpu.Seconds()))
		for _, c := range cells {
			fmt.Fprintf(tw, "%v\t", c)
		}
		fmt.Fprintln(tw)

		name := r.scenario.name + " " + string(r.frontEnd)
		if r.err != nil {
			notes = append(notes, name+": "+r.err.Error())
		}
		if r.killed != "" {
			notes = append(notes, name+": "+r.killed)
		}
		if r.load.ShutdownError != "" {
			notes = append(notes, name+": Shutdown returned: "+r.load.ShutdownError)
		}
		if v.stray > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d run records for runs nobody traced", name, v.stray))
		}
		if r.load.Dropped > 0 {
			notes = append(notes, fmt.Sprintf("%s: the processor dropped %d span starts and ends", name, r.load.Dropped))
		}
		if !r.scenario.strict {
			notes = append(notes, fmt.Sprintf("%s: at most %d records per run, %d open records with events, %d runs recorded twice and %d named in the log as possibly held open (relaxed rules: ≤ 2, 0, at most as many as named)",
				name, v.maxRecords, v.openWithRun, v.duplicates, r.mayExistLogged))
		}
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nruns: missing (no record), open (still running), failed (closed as failed; every root ends OK),")
	fmt.Fprintln(w, "duplicate (more than one record), out of order; spans/s counts every span traced over the")
	fmt.Fprintln(w, "time from the first span to the last run closed: read it where the verdict is ok.")
	if slices.ContainsFunc(rows, func(r row) bool { return !r.scenario.strict }) {
		fmt.Fprintln(w, "\n* relaxed rules, reported only: a server slower than the client's timeout, or a crash while it answers slowly (see scenarios.go)")
	}
	for _, n := range notes {
		fmt.Fprintln(w, "- "+n)
	}
	printComparisons(w, rows)
}

// printComparisons prints the 50 ms against 0 ms time ratio per front end
// (the target is at most 2x), and the collector's exporter against
// otlphttp in the same build.
func printComparisons(w io.Writer, rows []row) {
	find := func(scenario string, fe frontEnd) (row, bool) {
		for _, r := range rows {
			if r.scenario.name == scenario && r.frontEnd == fe && r.delivery > 0 {
				return r, true
			}
		}
		return row{}, false
	}
	rate := func(scenario string, fe frontEnd) string {
		if r, ok := find(scenario, fe); ok {
			return fmt.Sprintf("%.0f", r.spansPerSecond())
		}
		return "-"
	}
	fmt.Fprintln(w, "\nlatency hidden? delivered spans/s at 0 and 50 ms (target: 50 ms takes at most 2x the time)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "front end\t0 ms\t50 ms\ttime ratio\t")
	for _, fe := range oursAndPeer {
		_, has0 := find(latency0, fe)
		_, has50 := find(latency50, fe)
		if !has0 && !has50 {
			continue
		}
		ratio := "-"
		if zero, ok := find(latency0, fe); ok {
			if fifty, ok := find(latency50, fe); ok {
				ratio = strconv.FormatFloat(fifty.delivery.Seconds()/zero.delivery.Seconds(), 'f', 1, 64) + "x"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", fe, rate(latency0, fe), rate(latency50, fe), ratio)
	}
	_ = tw.Flush()

	_, sat0 := find(saturation0, collectorFE)
	_, sat50 := find(saturation50, collectorFE)
	if sat0 || sat50 {
		printSaturation(w, find, rate)
	}

	if _, ok := find(latency0, otlphttpFE); !ok {
		if _, ok := find(latency50, otlphttpFE); !ok {
			return
		}
	}
	fmt.Fprintln(w, "\ncollector, side by side in one build: delivered spans/s")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "latency\tagentos\totlphttp\t")
	for _, sc := range []string{latency0, latency50} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", sc, rate(sc, collectorFE), rate(sc, otlphttpFE))
	}
	_ = tw.Flush()
}

// printSaturation prints the collector's throughput against the SDK
// exporter's in the saturation rows, with the collector's tail.
func printSaturation(w io.Writer, find func(string, frontEnd) (row, bool), rate func(string, frontEnd) string) {
	fmt.Fprintln(w, "\ncollector against the SDK exporter at saturation: delivered spans/s (target: at least 0.8x);")
	fmt.Fprintln(w, "tail: how long the collector delivered after it had acknowledged every span (a backlog, or its grace period and tick)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\texporter\tcollector\tratio\ttail\t")
	for _, sc := range []string{saturation0, saturation50} {
		ratio, tail := "-", "-"
		c, okc := find(sc, collectorFE)
		e, oke := find(sc, exporterFE)
		if okc && oke {
			ratio = strconv.FormatFloat(c.spansPerSecond()/e.spansPerSecond(), 'f', 2, 64) + "x"
		}
		if okc {
			tail = c.tail().Round(10 * time.Millisecond).String()
		}
		if okc || oke {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", sc, rate(sc, exporterFE), rate(sc, collectorFE), ratio, tail)
		}
	}
	_ = tw.Flush()
}
