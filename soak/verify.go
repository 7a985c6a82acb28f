package main

import (
	"encoding/json"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// verdict is what the server recorded for a row's expected runs.
type verdict struct {
	runs       int // expected
	missing    int // runs without any record
	lost       int // expected events no record received
	extra      int // events received again, or not expected at all
	open       int // runs with a record still running
	outOfOrder int // runs with a record whose events break the timeline's order
	duplicates int // runs with more than one record
	failed     int // runs closed as failed (every root ends OK)
	stray      int // records of runs the row never traced
	requests   int // every request the server received
	lastClose  time.Time

	// For the relaxed rules.
	maxRecords  int // records of the run with the most
	openWithRun int // open records that received something after run/start
}

// violations counts broken invariants under the strict rules.
func (v verdict) violations() int {
	return v.missing + v.lost + v.extra + v.open + v.outOfOrder + v.duplicates + v.failed + v.stray
}

// relaxedOK is the rule for a server slower than the client's timeout: at
// most 2 records per run, every event delivered, nothing out of order, and
// only records the bridge never learned the id of (nothing after run/start)
// may stay open.
func (v verdict) relaxedOK() bool {
	return v.maxRecords <= 2 && v.lost == 0 && v.outOfOrder == 0 && v.openWithRun == 0
}

// verify checks runs against the runs a row traced: prefix's trace ids
// 0..n-1, each with the timeline of a run of spans spans.
func verify(runs []localserver.Run, stats localserver.Stats, prefix [8]byte, n, spans int) verdict {
	v := verdict{runs: n}
	for _, c := range stats.Requests {
		v.requests += c
	}
	want := timeline(spans)
	position := make(map[expectedEvent]int, len(want))
	for i, e := range want {
		position[e] = i
	}
	byExternal := map[string][]localserver.Run{}
	for _, r := range runs {
		byExternal[r.ExternalRunID] = append(byExternal[r.ExternalRunID], r)
	}
	for i := range n {
		records := byExternal[traceID(prefix, i).String()]
		delete(byExternal, traceID(prefix, i).String())
		v.maxRecords = max(v.maxRecords, len(records))
		v.missing += count(len(records) == 0)
		if len(records) > 1 {
			v.duplicates++
		}
		received := make([]bool, len(want))
		open, failed, disordered := false, false, false
		for _, r := range records {
			switch r.Status {
			case localserver.StatusRunning:
				open = true
				if len(r.Events) > 0 {
					v.openWithRun++
				}
			case localserver.StatusFailed:
				failed = true
			}
			if r.EndedAt.After(v.lastClose) {
				v.lastClose = r.EndedAt
			}
			if !inOrder(r.Events, position, received, &v.extra) {
				disordered = true
			}
		}
		for _, ok := range received {
			if !ok {
				v.lost++
			}
		}
		v.open += count(open)
		v.failed += count(failed)
		v.outOfOrder += count(disordered)
	}
	for _, records := range byExternal {
		v.stray += len(records)
	}
	return v
}

// inOrder walks a record's events in sequence order, marks each expected
// one received, counts repeats and unknown events into extra, and reports
// whether their timestamps never go back and their timeline positions only
// go forward.
func inOrder(events []localserver.RecordedEvent, position map[expectedEvent]int, received []bool, extra *int) bool {
	ok, last, lastAt := true, -1, time.Time{}
	for _, e := range events {
		var p struct {
			SpanID string `json:"span_id"`
		}
		_ = json.Unmarshal(e.Payload, &p)
		i, known := position[expectedEvent{p.SpanID, e.Type}]
		if !known || received[i] {
			// Counted as extra; a repeat (a batch sent again after an
			// ambiguous failure) says nothing about the order.
			*extra++
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, e.OccurredAt)
		if err != nil || at.Before(lastAt) {
			ok = false
		}
		lastAt = at
		received[i] = true
		if i < last {
			ok = false
		}
		last = i
	}
	return ok
}

func count(b bool) int {
	if b {
		return 1
	}
	return 0
}
