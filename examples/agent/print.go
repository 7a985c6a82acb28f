package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// printRuns renders runs as the AgentOS timeline would show them.
func printRuns(w io.Writer, runs []localserver.Run) {
	// Runs are delivered in parallel; show them in the order they started.
	slices.SortStableFunc(runs, func(a, b localserver.Run) int {
		return strings.Compare(startedAt(a.Input), startedAt(b.Input))
	})
	fmt.Fprintf(w, "AgentOS received %d run(s)\n", len(runs))
	for i, r := range runs {
		fmt.Fprintf(w, "\n━━ run %d  %s  [%s]  agent %s  trigger %s\n", i+1, r.ID, strings.ToUpper(r.Status), r.AgentID, r.TriggerType)
		fmt.Fprintf(w, "   input   %s\n", brief(r.Input, 110))
		var first time.Time
		for _, e := range r.Events {
			at, err := time.Parse(time.RFC3339Nano, e.OccurredAt)
			if err == nil && first.IsZero() {
				first = at
			}
			offset := ""
			if err == nil {
				offset = fmt.Sprintf("+%8.3fms", float64(at.Sub(first).Microseconds())/1000)
			}
			level := e.Level
			if level == "" {
				level = "info"
			}
			fmt.Fprintf(w, "   #%-3d %s %s  %-5s %-15s %s\n", e.SequenceNumber, e.OccurredAt, offset, level, e.Type, eventDetail(e.Payload))
		}
		switch r.Status {
		case "completed":
			fmt.Fprintf(w, "   output  %s\n", brief(r.Output, 110))
		case "failed":
			fmt.Fprintf(w, "   error   %s\n", r.ErrorMessage)
		}
	}
}

// eventDetail picks the fields a reader looks for first.
func eventDetail(payload json.RawMessage) string {
	var p map[string]any
	if json.Unmarshal(payload, &p) != nil {
		return ""
	}
	var parts []string
	for _, k := range []string{"model", "tool", "agent", "name", "input_tokens", "output_tokens", "input", "output", "error", "exception.message", "cache.key"} {
		if v, ok := p[k]; ok {
			b, _ := json.Marshal(v)
			parts = append(parts, k+"="+string(b))
		}
	}
	return truncate(strings.Join(parts, " "), 100)
}

func startedAt(input json.RawMessage) string {
	var in struct {
		StartedAt string `json:"started_at"`
	}
	_ = json.Unmarshal(input, &in)
	return in.StartedAt
}

func brief(raw json.RawMessage, n int) string {
	if len(raw) == 0 {
		return "-"
	}
	return truncate(string(raw), n)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
