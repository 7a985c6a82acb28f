package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// Pages of GET /_local/runs.
const (
	defaultRunsPage = 500
	maxRunsPage     = 5000
)

// runsJSON answers a page of runs in run/start order, with their events:
// ?after=ID starts after that run, ?limit=N (default 500) bounds the
// page, and "next" names the run to continue after. It writes one run at
// a time, so that memory holds one run, not the page.
func (p *web) runsJSON(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultRunsPage
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			http.Error(w, "limit takes a positive number", http.StatusBadRequest)
			return
		}
		limit = min(n, maxRunsPage)
	}
	all, err := p.store.Summaries()
	if err != nil {
		p.fail(w, err)
		return
	}
	from := 0
	if after := strings.ToLower(q.Get("after")); after != "" {
		i := slices.IndexFunc(all, func(s localserver.RunSummary) bool { return s.ID == after })
		if i < 0 {
			http.Error(w, "after names no run", http.StatusBadRequest)
			return
		}
		from = i + 1
	}
	page := all[from:min(from+limit, len(all))]
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(`{"runs":[`))
	enc := json.NewEncoder(w)
	for i, s := range page {
		run, ok, err := p.store.Run(s.ID)
		if err != nil || !ok {
			// The answer has begun: end it broken rather than short.
			p.log.Error("reading a run for /_local/runs", "run_id", s.ID, "error", err)
			panic(http.ErrAbortHandler)
		}
		if i > 0 {
			_, _ = w.Write([]byte(","))
		}
		_ = enc.Encode(toJSON(run))
	}
	_, _ = w.Write([]byte("]"))
	if from+len(page) < len(all) && len(page) > 0 {
		next, _ := json.Marshal(page[len(page)-1].ID)
		_, _ = w.Write([]byte(`,"next":` + string(next)))
	}
	_, _ = w.Write([]byte("}\n"))
}
