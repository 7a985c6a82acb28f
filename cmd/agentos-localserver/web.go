package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

//go:embed web
var webFiles embed.FS

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"clock":    clock,
	"datetime": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05.000") },
	"rfc3339":  func(t time.Time) string { return t.Format(time.RFC3339Nano) },
	"short":    short,
}).ParseFS(webFiles, "web/*.html"))

// web serves the pages that show the recorded runs. It reads the store
// directly: pages never go through the ingest API's lock.
type web struct {
	store  localserver.Store
	url    string   // the server's base URL, for the empty page's hint
	agents []string // registered agent ids, sorted
	log    *slog.Logger
}

// How often a page that shows an open run reloads itself.
const refreshEvery = 2 * time.Second

// maxListed bounds the runs listed, so that a long-lived database keeps
// the page light; filtering by status reaches older ones.
const maxListed = 500

func (p *web) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.index)
	mux.HandleFunc("GET /runs/{id}", p.run)
	assets, _ := fs.Sub(webFiles, "web/assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
}

type (
	indexPage struct {
		Title   string
		Refresh int // milliseconds; 0: the page stays as it is
		Filters []filterLink
		Status  string
		Runs    []runRow
		Total   int
		Matched int // runs of the status asked for, listed or not
		URL     string
		Agents  []string
	}
	filterLink struct {
		Label, Href string
		Count       int
		Current     bool
	}
	runRow struct {
		localserver.RunSummary
		Start    time.Time
		Duration string
	}
)

var statuses = []string{localserver.StatusRunning, localserver.StatusCompleted, localserver.StatusFailed}

// index lists the runs, newest first, optionally of one status.
func (p *web) index(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(statuses, status) {
		http.Error(w, "unknown status: want running, completed or failed", http.StatusBadRequest)
		return
	}
	summaries, err := p.store.Summaries()
	if err != nil {
		p.fail(w, err)
		return
	}
	page := indexPage{Title: "Runs", Status: status, Total: len(summaries), URL: p.url, Agents: p.agents}
	counts := map[string]int{}
	for _, s := range slices.Backward(summaries) {
		counts[s.Status]++
		if status == "" || s.Status == status {
			start, duration := span(s)
			page.Runs = append(page.Runs, runRow{RunSummary: s, Start: start, Duration: duration})
		}
	}
	// Newest first by when they started, not by when the server heard of
	// them: the SDK exporter sends runs in parallel once they have ended.
	slices.SortStableFunc(page.Runs, func(a, b runRow) int { return b.Start.Compare(a.Start) })
	page.Matched = len(page.Runs)
	page.Runs = page.Runs[:min(len(page.Runs), maxListed)]
	page.Filters = append(page.Filters, filterLink{Label: "all", Href: "/", Count: len(summaries), Current: status == ""})
	for _, st := range statuses {
		page.Filters = append(page.Filters, filterLink{Label: st, Href: "/?status=" + st, Count: counts[st], Current: status == st})
	}
	// While runs are open, or before the first arrives, the list changes.
	if counts[localserver.StatusRunning] > 0 || len(summaries) == 0 {
		page.Refresh = int(refreshEvery.Milliseconds())
	}
	p.render(w, "index.html", page)
}

// span is when a run started and how long it took. Event times are the
// agent's clock, and a run sent after it ended (as the SDK exporter does)
// reaches the server later than it happened, so a run starts at its first
// event if that is earlier than its run/start, and ends at its last event.
func span(s localserver.RunSummary) (start time.Time, duration string) {
	start = s.StartedAt
	if !s.FirstEventAt.IsZero() && s.FirstEventAt.Before(start) {
		start = s.FirstEventAt
	}
	if s.Status == localserver.StatusRunning {
		return start, "running"
	}
	end := s.EndedAt
	if s.EventCount > 0 {
		end = s.LastEventAt
	}
	return start, clock(max(end.Sub(start), 0))
}

type (
	runPage struct {
		Title        string
		Refresh      int
		Run          localserver.Run
		Start        time.Time
		Duration     string
		Input        string
		Output       string
		ErrorDetail  string
		Models       []string
		InputTokens  int64
		OutputTokens int64
		LLMCalls     int
		Events       []eventRow
	}
	eventRow struct {
		localserver.RecordedEvent
		Level   string // the event's, or info when it has none
		Family  string // the type's first part, such as llm or tool
		Offset  string
		Facts   []fact
		Payload string
	}
	fact struct{ Key, Value string }
)

// run shows one run and its timeline.
func (p *web) run(w http.ResponseWriter, r *http.Request) {
	run, ok, err := p.store.Run(strings.ToLower(r.PathValue("id")))
	if err != nil {
		p.fail(w, err)
		return
	}
	if !ok {
		http.Error(w, "no run "+r.PathValue("id"), http.StatusNotFound)
		return
	}
	page := runPage{Title: "Run " + short(run.ID), Run: run,
		Input: pretty(run.Input), Output: pretty(run.Output), ErrorDetail: pretty(run.ErrorDetail)}
	if run.Status == localserver.StatusRunning {
		page.Refresh = int(refreshEvery.Milliseconds())
	}
	summary := localserver.RunSummary{StartedAt: run.StartedAt, EndedAt: run.EndedAt, Status: run.Status, EventCount: len(run.Events)}
	for _, e := range run.Events {
		t := e.Time()
		if summary.FirstEventAt.IsZero() || t.Before(summary.FirstEventAt) {
			summary.FirstEventAt = t
		}
		if t.After(summary.LastEventAt) {
			summary.LastEventAt = t
		}
	}
	page.Start, page.Duration = span(summary)
	for _, e := range run.Events {
		row := eventRow{RecordedEvent: e, Level: cmpOr(e.Level, "info"), Payload: pretty(e.Payload),
			Offset: "+" + clock(e.Time().Sub(page.Start))}
		row.Family, _, _ = strings.Cut(e.Type, ".")
		row.Facts = facts(e.Payload)
		if e.Type == "llm.response" {
			page.addUsage(e.Payload)
		}
		page.Events = append(page.Events, row)
	}
	p.render(w, "run.html", page)
}

// addUsage counts the model and tokens of an llm.response payload.
func (page *runPage) addUsage(payload json.RawMessage) {
	var usage struct {
		Model        string `json:"model"`
		InputTokens  int64  `json:"input_tokens"`
		OutputTokens int64  `json:"output_tokens"`
	}
	if json.Unmarshal(payload, &usage) != nil {
		return
	}
	page.LLMCalls++
	page.InputTokens += usage.InputTokens
	page.OutputTokens += usage.OutputTokens
	if usage.Model != "" && !slices.Contains(page.Models, usage.Model) {
		page.Models = append(page.Models, usage.Model)
	}
}

// factKeys are the payload fields a reader looks for first.
var factKeys = []string{"model", "input_tokens", "output_tokens", "tool", "agent", "name", "duration_ms", "error", "exception.message"}

func facts(payload json.RawMessage) []fact {
	var fields map[string]json.RawMessage
	if json.Unmarshal(payload, &fields) != nil {
		return nil
	}
	var out []fact
	for _, k := range factKeys {
		v, ok := fields[k]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		out = append(out, fact{k, s})
	}
	return out
}

// pretty indents JSON; what is not JSON is shown as it is.
func pretty(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// clock formats a duration for people, to the microsecond under a second
// and the millisecond under a minute.
func clock(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000)
	case d < time.Minute:
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func short(id string) string { id, _, _ = strings.Cut(id, "-"); return id }

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func (p *web) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&b, name, data); err != nil {
		p.fail(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Everything the pages need is served from here: nothing else may load.
	h.Set("Content-Security-Policy", "default-src 'self'")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

func (p *web) fail(w http.ResponseWriter, err error) {
	p.log.Error("rendering a page", slog.Any("error", err))
	http.Error(w, "reading the runs: "+err.Error(), http.StatusInternalServerError)
}
