package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// Bounds of the run page: events shown per page of the timeline, and
// tasks shown, and events read for the waterfall.
const (
	timelinePage       = 200
	maxTasks           = 200
	maxWaterfallEvents = 5000
)

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
