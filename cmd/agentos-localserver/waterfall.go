package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// The waterfall: the run's spans rebuilt from its events (every payload
// the bridge sends carries span_id, parent_span_id and span_name), nested
// by parent, each a bar on the run's time axis.
const (
	maxWaterfallRows = 500
	maxRowEvents     = 20 // listed in a row's detail; the timeline has them all
	maxListedEvents  = 1000
	maxRowMarks      = 50
	maxMarks         = 2000
	axisWidth        = 1000.0 // the bars' SVG user units
	maxDepthClass    = 24     // deeper rows are indented as this one
)

type (
	spanRow struct {
		ID, ParentID, Name string
		Kind               string // run, llm, tool, agent, step or span
		Status             string // ok, error or open
		Depth              int
		Start, End         time.Time
		Model              string
		InputTokens        int64
		OutputTokens       int64
		HasTokens          bool
		Tool               string
		Events             []spanEvent
		MoreEvents         int
		Marks              []spanMark
		X, W               string // the bar, in axis units
		Offset, Duration   string

		children []*spanRow
		first    int64 // sequence number of its first event, to order ties
		started  bool  // a start event was seen
		ended    bool
	}
	spanEvent struct {
		Seq         int64
		Type, Level string
		Offset      string
		Src         string // where its payload is fetched from
		Href        string // where it is on the timeline
		at          time.Time
	}
	spanMark struct {
		X, Level, Title string
		at              time.Time
	}
	waterfall struct {
		Rows      []*spanRow
		Ticks     []string
		Truncated int // rows left out
		Partial   bool
	}
)

// eventSpan is what the waterfall reads from a payload.
type eventSpan struct {
	SpanID       string   `json:"span_id"`
	ParentSpanID string   `json:"parent_span_id"`
	SpanName     string   `json:"span_name"`
	Model        string   `json:"model"`
	Tool         string   `json:"tool"`
	Agent        string   `json:"agent"`
	Name         string   `json:"name"`
	InputTokens  *int64   `json:"input_tokens"`
	OutputTokens *int64   `json:"output_tokens"`
	DurationMS   *float64 `json:"duration_ms"`
}

// eventRole says whether an event type starts a span, ends one, or is a
// mark on it (a span event), and of which kind its span is.
func eventRole(typ string) (kind string, start, end bool) {
	family, verb, _ := strings.Cut(typ, ".")
	switch family {
	case "llm", "tool", "agent", "step":
	default:
		return "", false, false
	}
	switch verb {
	case "request", "called", "started":
		return family, true, false
	case "response", "returned", "completed", "failed":
		return family, false, true
	}
	return "", false, false
}

// buildWaterfall lays out run's spans from events on the axis from start
// to end.
// payloadSrc and href give where an event's payload is fetched from and
// where the event is shown.
func buildWaterfall(run *localserver.Run, sum localserver.RunSummary, events []localserver.RecordedEvent, partial bool, payloadSrc, href func(seq int64) string) waterfall {
	var rootInfo struct {
		SpanID    string `json:"span_id"`
		Name      string `json:"name"`
		StartedAt string `json:"started_at"`
	}
	_ = json.Unmarshal(run.Input, &rootInfo)
	root := &spanRow{ID: rootInfo.SpanID, Name: cmpOr(rootInfo.Name, "run"), Kind: "run", Start: sum.Start(), started: true}
	if t, err := time.Parse(time.RFC3339Nano, rootInfo.StartedAt); err == nil && t.Year() > 1 && t.Before(root.Start) {
		root.Start = t
	}
	switch run.Status {
	case localserver.StatusFailed:
		root.Status = "error"
	case localserver.StatusRunning:
		root.Status = "open"
	default:
		root.Status = "ok"
	}
	spans := map[string]*spanRow{}
	if root.ID != "" {
		spans[root.ID] = root
	}
	var order []*spanRow
	last := root.Start
	listed, marks := 0, 0
	for _, e := range events {
		t := e.Time()
		if t.After(last) {
			last = t
		}
		var p eventSpan
		_ = json.Unmarshal(e.Payload, &p)
		s := root
		if p.SpanID != "" {
			if s = spans[p.SpanID]; s == nil {
				s = &spanRow{ID: p.SpanID, ParentID: p.ParentSpanID, Kind: "span", Status: "open", first: e.SequenceNumber, Start: t, End: t}
				spans[p.SpanID] = s
				order = append(order, s)
			}
		}
		if s.Name == "" {
			s.Name = p.SpanName
		}
		kind, isStart, isEnd := eventRole(e.Type)
		if s != root && kind != "" {
			s.Kind = kind
		}
		level := cmpOr(e.Level, "info")
		ev := spanEvent{Seq: e.SequenceNumber, Type: e.Type, Level: level, Src: payloadSrc(e.SequenceNumber), Href: href(e.SequenceNumber), at: t}
		if len(s.Events) < maxRowEvents && listed < maxListedEvents {
			s.Events = append(s.Events, ev)
			listed++
		} else {
			s.MoreEvents++
		}
		switch {
		case s == root && (isStart || isEnd):
		case isStart:
			s.Start, s.started = t, true
			if !s.ended {
				s.End = t
			}
		case isEnd:
			s.End, s.ended = t, true
			if !s.started {
				s.Start = t
				if p.DurationMS != nil && *p.DurationMS > 0 {
					s.Start = t.Add(-time.Duration(*p.DurationMS * float64(time.Millisecond)))
				}
			}
			s.Status = "ok"
			if level == "error" || strings.HasSuffix(e.Type, ".failed") {
				s.Status = "error"
			}
		default:
			if len(s.Marks) < maxRowMarks && marks < maxMarks {
				s.Marks = append(s.Marks, spanMark{Level: level, Title: text(fmt.Sprintf("#%d %s", e.SequenceNumber, e.Type)), at: t})
				marks++
			}
			if t.Before(s.Start) && s != root {
				s.Start = t
			}
		}
		if p.Model != "" {
			s.Model = text(p.Model)
		}
		if p.InputTokens != nil || p.OutputTokens != nil {
			s.HasTokens = true
			s.InputTokens += deref(p.InputTokens)
			s.OutputTokens += deref(p.OutputTokens)
		}
		if p.Tool != "" {
			s.Tool = text(p.Tool)
		}
	}
	root.End = last
	if end := sum.End(); !end.IsZero() && end.After(last) {
		root.End = end
	}
	// Open spans last until the run's end, as far as it is known.
	for _, s := range order {
		if !s.ended && root.End.After(s.End) {
			s.End = root.End
		}
	}
	// Nest by parent; a parent never seen (not sent, or outside the events
	// read) leaves its span under the run.
	for _, s := range order {
		parent := spans[s.ParentID]
		if parent == nil || parent == s {
			parent = root
		}
		parent.children = append(parent.children, s)
	}
	w := waterfall{Partial: partial}
	axis := newAxis(root.Start, root.End)
	seen := map[*spanRow]bool{}
	var walk func(s *spanRow, d int)
	walk = func(s *spanRow, d int) {
		if seen[s] {
			return // a cycle of parents
		}
		seen[s] = true
		if len(w.Rows) == maxWaterfallRows {
			w.Truncated++
		} else {
			s.Depth = d
			axis.place(s)
			w.Rows = append(w.Rows, s)
		}
		slices.SortStableFunc(s.children, func(a, b *spanRow) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			return int(a.first - b.first)
		})
		for _, c := range s.children {
			walk(c, d+1)
		}
	}
	walk(root, 0)
	// Spans whose parents form a cycle never hang under the run: list them
	// at its level rather than lose them.
	for _, s := range order {
		if !seen[s] {
			walk(s, 1)
		}
	}
	w.Ticks = axis.ticks()
	return w
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

type axis struct{ start, end time.Time }

func newAxis(start, end time.Time) axis {
	if !end.After(start) {
		end = start.Add(time.Millisecond)
	}
	return axis{start, end}
}

func (a axis) x(t time.Time) float64 {
	f := float64(t.Sub(a.start)) / float64(a.end.Sub(a.start))
	return min(max(f, 0), 1) * axisWidth
}

func (a axis) place(s *spanRow) {
	x0, x1 := a.x(s.Start), a.x(s.End)
	w := max(x1-x0, 2) // always visible
	x0 = min(x0, axisWidth-w)
	s.X, s.W = fmt.Sprintf("%.2f", x0), fmt.Sprintf("%.2f", w)
	s.Offset = offset(s.Start.Sub(a.start))
	s.Duration = clock(s.End.Sub(s.Start))
	if s.Status == "open" {
		s.Duration = "open"
	}
	for i, e := range s.Events {
		s.Events[i].Offset = offset(e.at.Sub(a.start))
	}
	for i, m := range s.Marks {
		s.Marks[i].X = fmt.Sprintf("%.2f", min(max(a.x(m.at)-1.5, 0), axisWidth-3))
	}
}

// ticks labels the axis at a fifth of its length each.
func (a axis) ticks() []string {
	var out []string
	for i := range 5 {
		out = append(out, "+"+clock(a.end.Sub(a.start)*time.Duration(i)/4))
	}
	return out
}

// DepthClass bounds the indentation of deeply nested rows.
func (s *spanRow) DepthClass() int { return min(s.Depth, maxDepthClass) }
