package localserver

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// RunSummary is a run without its events, for listings: what a list of
// runs shows and filters on. Stores keep it apart from the run, so that a
// listing never reads inputs, outputs or events.
type RunSummary struct {
	ID, AgentID, TriggerType, ExternalRunID string
	Status                                  string
	ErrorMessage                            string
	EventCount                              int
	StartedAt, EndedAt                      time.Time // server receipt times
	// The earliest and latest Time of the run's events; zero without events.
	FirstEventAt, LastEventAt time.Time

	ErrorEvents               int    // events at level error
	LLMCalls                  int    // llm.response events
	InputTokens, OutputTokens int64  // summed over llm.response payloads
	Models                    string // of llm.response payloads, comma-separated, at most maxModels
	// The start of the text of the run's input and output, for a glance.
	InputPreview, OutputPreview string
}

const (
	previewRunes = 160
	maxModels    = 4
	// searchBytes bounds the text of a run's input, output and error that
	// a search looks into, so that searching 10,000 runs stays a scan of
	// a few tens of MB.
	searchBytes = 4 << 10
)

// Start is when the run started, as far as anyone can tell: event times
// are the agent's clock, and a run sent after it ended (as the SDK
// exporter does) reaches the server later than it happened, so a run
// starts at its first event if that is earlier than its run/start.
func (s RunSummary) Start() time.Time {
	if !s.FirstEventAt.IsZero() && s.FirstEventAt.Before(s.StartedAt) {
		return s.FirstEventAt
	}
	return s.StartedAt
}

// End is when the run ended: its last event, or without events its
// run/complete or run/fail; zero while it runs.
func (s RunSummary) End() time.Time {
	switch {
	case s.Status == StatusRunning:
		return time.Time{}
	case s.EventCount > 0 && s.LastEventAt.After(s.Start()):
		return s.LastEventAt
	}
	return s.EndedAt
}

// Time is when the event happened: its occurred_at, or without one (or
// with one the server cannot read, or a zero one) the time the server
// received it, as AgentOS stamps events that carry none.
func (e RecordedEvent) Time() time.Time {
	if e.OccurredAt != "" {
		if t, err := time.Parse(time.RFC3339Nano, e.OccurredAt); err == nil && t.Year() > 1 {
			return t
		}
	}
	return e.ReceivedAt
}

// summarize is the summary of r as far as its own fields go; widen adds
// its events.
func summarize(r *Run) RunSummary {
	return RunSummary{ID: r.ID, AgentID: r.AgentID, TriggerType: r.TriggerType, ExternalRunID: r.ExternalRunID,
		Status: r.Status, ErrorMessage: r.ErrorMessage, StartedAt: r.StartedAt, EndedAt: r.EndedAt,
		InputPreview: preview(r.Input), OutputPreview: preview(r.Output)}
}

// refresh takes the fields of r into s, keeping what s knows of events.
func (s *RunSummary) refresh(r *Run) {
	n := summarize(r)
	n.EventCount, n.FirstEventAt, n.LastEventAt = s.EventCount, s.FirstEventAt, s.LastEventAt
	n.ErrorEvents, n.LLMCalls, n.InputTokens, n.OutputTokens, n.Models = s.ErrorEvents, s.LLMCalls, s.InputTokens, s.OutputTokens, s.Models
	*s = n
}

// widen adds events to the summary.
func (s *RunSummary) widen(events []RecordedEvent) {
	for _, e := range events {
		t := e.Time()
		if s.FirstEventAt.IsZero() || t.Before(s.FirstEventAt) {
			s.FirstEventAt = t
		}
		if t.After(s.LastEventAt) {
			s.LastEventAt = t
		}
		if e.Level == "error" {
			s.ErrorEvents++
		}
		if e.Type == "llm.response" {
			s.addUsage(e.Payload)
		}
	}
	s.EventCount += len(events)
}

func (s *RunSummary) addUsage(payload json.RawMessage) {
	var usage struct {
		Model        string `json:"model"`
		InputTokens  int64  `json:"input_tokens"`
		OutputTokens int64  `json:"output_tokens"`
	}
	s.LLMCalls++
	// A payload of another shape counts as a call without tokens.
	_ = json.Unmarshal(payload, &usage)
	s.InputTokens += usage.InputTokens
	s.OutputTokens += usage.OutputTokens
	m := strings.TrimSpace(usage.Model)
	if m == "" || len(m) > 100 {
		return
	}
	models := strings.Split(s.Models, ", ")
	if s.Models == "" {
		models = nil
	}
	if len(models) < maxModels && !slices.Contains(models, m) {
		s.Models = strings.Join(append(models, m), ", ")
	}
}

// preview is the start of the text in raw JSON: its strings, joined by
// spaces, so that {"messages":[{"role":"user","content":"hi"}]} reads
// "user hi".
func preview(raw json.RawMessage) string {
	// What people wrote first (the messages' content), else every string.
	s := jsonTextOf(raw, previewRunes*4, contentKeys)
	if s == "" {
		s = jsonText(raw, previewRunes*4)
	}
	return truncateRunes(s, previewRunes)
}

// contentKeys hold what people wrote or read, in the shapes of GenAI
// messages, OpenAI's and most agents' own inputs.
var contentKeys = map[string]bool{"content": true, "text": true, "prompt": true, "query": true, "question": true,
	"message": true, "input": true, "output": true, "response": true, "answer": true, "result": true}

// jsonText collects the string values (not the keys) of raw, up to about
// limit bytes. What is not JSON is taken as it is.
func jsonText(raw json.RawMessage, limit int) string { return jsonTextOf(raw, limit, nil) }

// jsonTextOf is jsonText of the values of keys only, if keys is not nil.
func jsonTextOf(raw json.RawMessage, limit int, keys map[string]bool) string {
	if len(raw) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var b strings.Builder
	// Keys are told apart by position: in an object, every other string.
	var inObject []bool
	var afterKey []bool
	var lastKey []string
	for b.Len() < limit {
		tok, err := dec.Token()
		if err != nil {
			if b.Len() == 0 && !json.Valid(raw) {
				return string(raw[:min(len(raw), limit)])
			}
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				inObject = append(inObject, v == '{')
				afterKey = append(afterKey, false)
				lastKey = append(lastKey, "")
			default:
				inObject, afterKey, lastKey = inObject[:len(inObject)-1], afterKey[:len(afterKey)-1], lastKey[:len(lastKey)-1]
			}
			if n := len(afterKey); n > 0 && (v == '}' || v == ']') {
				afterKey[n-1] = false
			}
			continue
		case string:
			n := len(inObject)
			if n > 0 && inObject[n-1] && !afterKey[n-1] {
				afterKey[n-1], lastKey[n-1] = true, v // a key
				continue
			}
			if s := strings.TrimSpace(v); s != "" && (keys == nil || n > 0 && keys[lastKey[n-1]]) {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(s)
			}
		}
		if n := len(afterKey); n > 0 && inObject[n-1] {
			afterKey[n-1] = false
		}
	}
	return b.String()
}

func truncateRunes(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// searchText is what a search of the run looks into, lower case.
func searchText(r *Run) string {
	var b strings.Builder
	for _, s := range []string{r.ID, r.AgentID, r.ExternalRunID, truncateRunes(r.ErrorMessage, searchBytes),
		jsonText(r.Input, searchBytes), jsonText(r.Output, searchBytes)} {
		b.WriteString(strings.ToLower(s))
		b.WriteByte('\n')
	}
	return b.String()
}
