package main

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

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
