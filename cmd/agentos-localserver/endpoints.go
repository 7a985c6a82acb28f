package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

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
