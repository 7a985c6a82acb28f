package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

//go:embed web
var webFiles embed.FS

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"clock":    clock,
	"datetime": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05.000") },
	"rfc3339":  func(t time.Time) string { return t.Format(time.RFC3339Nano) },
	"short":    short,
	"text":     text,
	"clean":    clean,
	"long":     func(s string) string { return clean(cut(s, messageMaxRunes)) },
}).ParseFS(webFiles, "web/*.html"))

// web serves the pages that show the recorded runs. It reads the store
// directly: pages never go through the ingest API's lock.
type web struct {
	store  localserver.Store
	url    string   // the server's base URL, for the empty page's hint
	agents []string // registered agent ids, sorted
	log    *slog.Logger
}

// How often a page asks whether what it shows has changed.
const pollEvery = 2 * time.Second

// Bounds of the run page: events shown per page of the timeline, and
// events read for the waterfall.
const (
	timelinePage       = 200
	maxTasks           = 200
	maxWaterfallEvents = 5000
)

func (p *web) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.index)
	mux.HandleFunc("GET /runs/{id}", p.run)
	mux.HandleFunc("GET /runs/{id}/payload", p.payload)
	mux.HandleFunc("GET /_local/changes", p.changes)
	assets, _ := fs.Sub(webFiles, "web/assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
}

type (
	indexPage struct {
		Title   string
		Poll    int    // milliseconds between checks for changes; 0: none
		Watch   string // what the change check asks about
		Version string // its answer when the page was made
		Filters []filterLink
		Query   listQuery
		Agents  []string
		Runs    []runRow
		Listing localserver.Listing
		First   int // position of the first run listed, from 1
		Last    int
		Newer   string
		Older   string
		Newest  string
		URL     string
	}
	listQuery struct {
		Status, Agent, Text, From, To string
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

// The form's datetime-local fields, in the server's time zone (the
// browser's, on the developer's machine).
const localMinute = "2006-01-02T15:04"

// index lists the runs, newest first, a page at a time, filtered by the
// query.
func (p *web) index(w http.ResponseWriter, r *http.Request) {
	form := r.URL.Query()
	lq := listQuery{Status: form.Get("status"), Agent: strings.TrimSpace(form.Get("agent")), Text: form.Get("q"),
		From: form.Get("from"), To: form.Get("to")}
	if lq.Status != "" && !slices.Contains(statuses, lq.Status) {
		http.Error(w, "unknown status: want running, completed or failed", http.StatusBadRequest)
		return
	}
	q := localserver.Query{Status: lq.Status, AgentID: lq.Agent, Text: lq.Text,
		Before: form.Get("before"), After: form.Get("after")}
	for _, b := range []struct {
		value string
		to    *time.Time
	}{{lq.From, &q.From}, {lq.To, &q.To}} {
		if b.value == "" {
			continue
		}
		t, err := time.ParseInLocation(localMinute, b.value, time.Local)
		if err != nil {
			http.Error(w, "from and to take a time such as 2026-05-01T14:30", http.StatusBadRequest)
			return
		}
		*b.to = t
	}
	// Read before the list: a change in between reloads the page once
	// more, rather than never.
	version := p.version("")
	l, err := p.store.List(q)
	if errors.Is(err, localserver.ErrBadCursor) {
		http.Error(w, "this page link is malformed: start again from the newest runs", http.StatusBadRequest)
		return
	}
	if err != nil {
		p.fail(w, err)
		return
	}
	page := indexPage{Title: "Runs", Query: lq, Agents: p.agents, Listing: l, URL: p.url,
		Poll: int(pollEvery.Milliseconds()), Watch: "/_local/changes", Version: version}
	for _, s := range l.Runs {
		page.Runs = append(page.Runs, runRow{RunSummary: s, Start: s.Start(), Duration: duration(s)})
	}
	link := func(set map[string]string) string {
		v := url.Values{}
		for k, val := range map[string]string{"status": lq.Status, "agent": lq.Agent, "q": lq.Text, "from": lq.From, "to": lq.To} {
			if val != "" {
				v.Set(k, val)
			}
		}
		for k, val := range set {
			if val == "" {
				v.Del(k)
			} else {
				v.Set(k, val)
			}
		}
		if len(v) == 0 {
			return "/"
		}
		return "/?" + v.Encode()
	}
	all := 0
	for _, n := range l.Counts {
		all += n
	}
	page.Filters = append(page.Filters, filterLink{Label: "all", Href: link(map[string]string{"status": ""}), Count: all, Current: lq.Status == ""})
	for _, st := range statuses {
		page.Filters = append(page.Filters, filterLink{Label: st, Href: link(map[string]string{"status": st}), Count: l.Counts[st], Current: lq.Status == st})
	}
	if l.Newer != "" {
		page.Newer = link(map[string]string{"after": l.Newer})
		page.Newest = link(nil)
	}
	if l.Older != "" {
		page.Older = link(map[string]string{"before": l.Older})
	}
	page.First, page.Last = l.Offset+1, l.Offset+len(l.Runs)
	if !slices.Contains(p.agents, lq.Agent) && lq.Agent != "" {
		page.Agents = append(slices.Clone(p.agents), lq.Agent)
	}
	p.render(w, "index.html", page)
}

// duration is how long a run took, for people.
func duration(s localserver.RunSummary) string {
	if s.Status == localserver.StatusRunning {
		return "running"
	}
	return clock(s.End().Sub(s.Start()))
}

type (
	runPage struct {
		Title     string
		Poll      int
		Watch     string
		Version   string
		Run       localserver.Run
		Summary   localserver.RunSummary
		Start     time.Time
		Duration  string
		Input     content
		Output    content
		Detail    jsonView
		Waterfall waterfall
		Tasks     []agentosapi.Task
		MoreTasks int
		Events    []eventRow
		// The timeline's page: events from FirstSeq on, with links to the
		// pages around it.
		FirstSeq, LastSeq int64
		Prev, Next        string
	}
	eventRow struct {
		Seq        int64
		Type       string
		Level      string // the event's, or info when it has none
		Family     string // the type's first part, such as llm or tool
		OccurredAt string
		Offset     string
		SpanID     string
		Facts      []fact
		Content    content
		Raw        jsonView
	}
	fact struct{ Key, Value string }
	// content is a payload's main part as people read it: a conversation,
	// a JSON value, or a text.
	content struct {
		Label    string
		Messages []message
		More     int // messages left out
		JSON     jsonView
		Text     string
	}
)

// run shows one run: its waterfall and a page of its timeline.
func (p *web) run(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(r.PathValue("id"))
	version := p.version(id)
	sum, ok, err := p.store.Summary(id)
	if err != nil {
		p.fail(w, err)
		return
	}
	if !ok {
		http.Error(w, "no run "+clean(cut(r.PathValue("id"), 40)), http.StatusNotFound)
		return
	}
	run, _, err := p.store.Head(id)
	if err != nil {
		p.fail(w, err)
		return
	}
	from, _ := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64)
	from = max(from, 1)
	// The waterfall needs the run's first events whatever page of the
	// timeline is shown; the first page of it is among them.
	head, err := p.store.Events(id, 1, maxWaterfallEvents)
	if err != nil {
		p.fail(w, err)
		return
	}
	events := head[:min(len(head), timelinePage)]
	if from > 1 {
		if events, err = p.store.Events(id, from, timelinePage); err != nil {
			p.fail(w, err)
			return
		}
	}
	src := func(part string) string { return "/runs/" + run.ID + "/payload?part=" + part }
	eventSrc := func(seq int64) string { return "/runs/" + run.ID + "/payload?event=" + strconv.FormatInt(seq, 10) }
	b := &budget{left: pageInlineBytes}
	page := runPage{Title: "Run " + short(run.ID), Run: run, Summary: sum, Start: sum.Start(), Duration: duration(sum),
		FirstSeq: from}
	page.Input = conversationOr(run.Input, []string{"input_messages", "messages", "prompt"}, src("input"), b)
	page.Output = conversationOr(run.Output, []string{"output_messages", "messages", "response"}, src("output"), b)
	page.Detail = viewJSON(run.ErrorDetail, src("error_detail"), b)
	page.Tasks = run.Tasks[:min(len(run.Tasks), maxTasks)]
	page.MoreTasks = len(run.Tasks) - len(page.Tasks)
	if run.Status == localserver.StatusRunning {
		page.Poll, page.Watch, page.Version = int(pollEvery.Milliseconds()), "/_local/changes?run="+run.ID, version
	}
	eventHref := func(seq int64) string {
		if seq >= from && seq < from+timelinePage {
			return fmt.Sprintf("#e%d", seq)
		}
		return fmt.Sprintf("/runs/%s?from=%d#e%d", run.ID, seq, seq)
	}
	page.Waterfall = buildWaterfall(&run, sum, head, sum.EventCount > len(head), eventSrc, eventHref)
	for _, e := range events {
		page.Events = append(page.Events, p.eventRow(e, page.Start, eventSrc(e.SequenceNumber), b))
	}
	if n := len(events); n > 0 {
		page.LastSeq = events[n-1].SequenceNumber
		if page.LastSeq < int64(sum.EventCount) {
			page.Next = fmt.Sprintf("/runs/%s?from=%d", run.ID, page.LastSeq+1)
		}
	}
	if from > 1 {
		page.Prev = fmt.Sprintf("/runs/%s?from=%d", run.ID, max(from-timelinePage, 1))
	}
	p.render(w, "run.html", page)
}

func (p *web) eventRow(e localserver.RecordedEvent, start time.Time, src string, b *budget) eventRow {
	row := eventRow{Seq: e.SequenceNumber, Type: text(e.Type), Level: cmpOr(e.Level, "info"),
		OccurredAt: text(e.OccurredAt), Offset: offset(e.Time().Sub(start))}
	row.Family, _, _ = strings.Cut(e.Type, ".")
	var fields map[string]json.RawMessage
	if json.Unmarshal(e.Payload, &fields) == nil {
		var sp string
		_ = json.Unmarshal(fields["span_id"], &sp)
		row.SpanID = text(sp)
		row.Facts = facts(fields)
		row.Content = eventContent(e.Type, fields, src, b)
	}
	row.Raw = jsonView{Src: src, Size: byteSize(len(e.Payload)), Empty: len(e.Payload) == 0}
	return row
}

// eventContent picks the part of a payload people read first.
func eventContent(typ string, fields map[string]json.RawMessage, src string, b *budget) content {
	for _, f := range []struct{ typ, key, label string }{
		{"llm.request", "prompt", "prompt"},
		{"llm.response", "response", "response"},
		{"tool.called", "input", "arguments"},
		{"tool.returned", "output", "result"},
		{"tool.failed", "error", "error"},
		{"agent.started", "input", "input"},
		{"agent.completed", "output", "output"},
	} {
		if typ != f.typ {
			continue
		}
		raw, ok := fields[f.key]
		if !ok {
			return content{}
		}
		c := conversation(raw, src, b)
		c.Label = f.label
		return c
	}
	return content{}
}

// conversationOr is the conversation under one of keys of an object, or
// the whole value as JSON.
func conversationOr(raw json.RawMessage, keys []string, src string, b *budget) content {
	var fields map[string]json.RawMessage
	if len(raw) <= inlineMaxBytes*8 && json.Unmarshal(raw, &fields) == nil {
		for _, k := range keys {
			if v, ok := fields[k]; ok {
				if c := conversation(v, src, b); len(c.Messages) > 0 || c.Text != "" {
					return c
				}
			}
		}
	}
	return content{JSON: viewJSON(raw, src, b)}
}

// conversation shows raw as messages when it is some, as text when it is
// a string, else as JSON.
func conversation(raw json.RawMessage, src string, b *budget) content {
	if len(raw) <= inlineMaxBytes*8 && depth(raw) <= inlineMaxDepth {
		if msgs, more, ok := messages(raw); ok {
			n := 0
			for _, m := range msgs {
				for _, part := range m.Parts {
					n += len(part.Text) + len(part.Name) + 64
				}
			}
			if b.take(n) {
				if len(msgs) == 1 && msgs[0].Role == "" && len(msgs[0].Parts) == 1 {
					return content{Text: msgs[0].Parts[0].Text}
				}
				return content{Messages: msgs, More: more}
			}
		}
	}
	return content{JSON: viewJSON(raw, src, b)}
}

// factKeys are the payload fields a reader looks for first.
var factKeys = []string{"span_name", "model", "input_tokens", "output_tokens", "tool", "agent", "name", "duration_ms", "finish_reasons", "error", "exception.message"}

func facts(fields map[string]json.RawMessage) []fact {
	var out []fact
	for _, k := range factKeys {
		v, ok := fields[k]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			if len(v) > factMaxRunes*4 {
				s = string(v[:factMaxRunes*4])
			} else {
				var b bytes.Buffer
				if json.Compact(&b, v) == nil {
					s = b.String()
				}
			}
		}
		out = append(out, fact{k, text(s)})
	}
	return out
}

// payload answers one raw JSON value of a run, for a page that opens it.
func (p *web) payload(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(r.PathValue("id"))
	q := r.URL.Query()
	var raw json.RawMessage
	if seq := q.Get("event"); seq != "" {
		n, err := strconv.ParseInt(seq, 10, 64)
		if err != nil || n < 1 {
			http.Error(w, "event takes a sequence number", http.StatusBadRequest)
			return
		}
		events, err := p.store.Events(id, n, 1)
		if errors.Is(err, localserver.ErrUnknownRun) || err == nil && (len(events) == 0 || events[0].SequenceNumber != n) {
			http.Error(w, "no such event", http.StatusNotFound)
			return
		}
		if err != nil {
			p.fail(w, err)
			return
		}
		raw = events[0].Payload
	} else {
		run, ok, err := p.store.Head(id)
		if err != nil {
			p.fail(w, err)
			return
		}
		if !ok {
			http.Error(w, "no such run", http.StatusNotFound)
			return
		}
		switch q.Get("part") {
		case "input":
			raw = run.Input
		case "output":
			raw = run.Output
		case "error_detail":
			raw = run.ErrorDetail
		default:
			http.Error(w, "part takes input, output or error_detail", http.StatusBadRequest)
			return
		}
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(raw)
}

// changes answers {"version": "…"}, which differs whenever what a page
// shows may have changed: any run for the list, one run with ?run=ID.
// Pages poll it, and load themselves again only when it moves.
func (p *web) changes(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, map[string]string{"version": p.version(strings.ToLower(r.URL.Query().Get("run")))})
}

// version is what changes answers: of the store, or of one run.
func (p *web) version(runID string) string {
	if runID == "" {
		return strconv.FormatUint(p.store.Version(), 10)
	}
	s, ok, err := p.store.Summary(runID)
	if err != nil || !ok {
		return "none"
	}
	return fmt.Sprintf("%s.%d", s.Status, s.EventCount)
}

// clock formats a duration for people, to the microsecond under a second
// and the millisecond under a minute.
func clock(d time.Duration) string {
	switch {
	case d == math.MinInt64 || d == math.MaxInt64:
		return "?" // saturated: one of the times is not a real one
	case d < 0:
		return "−" + clock(-d)
	case d < time.Second:
		return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000)
	case d < time.Minute:
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// offset is a time relative to the run's start, signed.
func offset(d time.Duration) string {
	if d >= 0 {
		return "+" + clock(d)
	}
	return clock(d)
}

func short(id string) string { id, _, _ = strings.Cut(id, "-"); return clean(cut(id, 40)) }

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
