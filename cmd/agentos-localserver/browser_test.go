package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// chromium finds headless Chromium: $AGENTOS_CHROMIUM, or chromium on the
// PATH. CI installs it (.ci/install-chromium); its absence fails the test
// rather than skipping it, so the pages are never left unchecked.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AGENTOS_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: the page tests need a real browser; run .ci/install-chromium (apt-get install chromium) or set AGENTOS_CHROMIUM")
	}
	return p
}

// dumpDOM loads url in headless Chromium and returns the DOM once the page
// has loaded and its scripts have run.
func dumpDOM(t *testing.T, browser, url string) string {
	t.Helper()
	return dumpDOMAfter(t, browser, url, 0)
}

// dumpDOMAfter is dumpDOM after the page has lived for budget of
// Chromium's virtual time: its timers fire, and it waits for the fetches
// they make, however long they take.
func dumpDOMAfter(t *testing.T, browser, url string, budget time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), "--dump-dom", url}
	if budget > 0 {
		args = append(args, fmt.Sprintf("--virtual-time-budget=%d", budget.Milliseconds()))
	}
	cmd := exec.CommandContext(ctx, browser, args...)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, stderr.String())
	}
	return string(out)
}

// buildExampleAgent builds examples/agent, the README's example.
func buildExampleAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "agent")
	build := exec.Command("go", "build", "-o", bin, "../../examples/agent")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example agent: %v\n%s", err, out)
	}
	return bin
}

var (
	spanRe = regexp.MustCompile(`<details class="span kind-(\w+) st-(\w+) depth-\d+" data-span-id="([0-9a-f]*)" data-parent-span-id="([0-9a-f]*)" data-depth="(\d+)" data-kind="\w+" data-status="\w+" data-x="([0-9.]+)"`)
	rowRe  = regexp.MustCompile(`<tr class="run run-(\w+)" data-run-id="([0-9a-f-]+)">`)
	typeRe = regexp.MustCompile(`data-type="([^"]+)" data-seq="(\d+)"`)
)

// TestBrowserShowsExampleRuns is the README's walk-through in a real
// browser: the dev server with a database file, the example agent
// reporting to it, then the pages as headless Chromium renders them,
// before and after a restart of the server.
func TestBrowserShowsExampleRuns(t *testing.T) {
	browser := chromium(t)
	agentBin := buildExampleAgent(t)
	const agentID, key = "7f3c9a2e-4b1d-4e8a-9c6f-2d5b8e1a7c40", "aos_agent_browser_test"
	args := []string{"-db", filepath.Join(t.TempDir(), "runs.db"), "-agent", agentID + "=" + key}
	url, stop := serveStoppable(t, args...)

	agent := exec.Command(agentBin)
	agent.Env = append(os.Environ(), "AGENTOS_ENDPOINT="+url, "AGENTOS_API_KEY="+key, "AGENTOS_AGENT_ID="+agentID)
	if out, err := agent.CombinedOutput(); err != nil {
		t.Fatalf("example agent: %v\n%s", err, out)
	}

	// What the server recorded is the truth the pages must show.
	var snap runsJSON
	get(t, url+"/_local/runs", &snap)
	want := map[string]runJSON{}
	statuses := map[string]int{}
	for _, r := range snap.Runs {
		want[r.ID] = r
		statuses[r.Status]++
	}
	if statuses["completed"] != 2 || statuses["failed"] != 1 || len(snap.Runs) != 3 {
		t.Fatalf("the example agent should make two completed runs and one failed: %v", statuses)
	}

	check := func(t *testing.T, url string) {
		index := dumpDOM(t, browser, url+"/")
		rows := rowRe.FindAllStringSubmatch(index, -1)
		if len(rows) != len(want) {
			t.Fatalf("the page lists %d runs, want %d:\n%s", len(rows), len(want), index)
		}
		for _, row := range rows {
			status, id := row[1], row[2]
			r, ok := want[id]
			if !ok || r.Status != status {
				t.Errorf("the page lists run %s as %s; the server has %+v", id, status, r.Status)
			}
			if !strings.Contains(index, `href="/runs/`+id+`"`) {
				t.Errorf("run %s has no link to its page", id)
			}
			if status == "failed" && !strings.Contains(index, r.ErrorMessage) {
				t.Errorf("the failed run's error %q is not on the page", r.ErrorMessage)
			}
		}

		for _, row := range rows {
			id := row[2]
			page := dumpDOM(t, browser, url+"/runs/"+id)
			var types, wantTypes []string
			for i, m := range typeRe.FindAllStringSubmatch(page, -1) {
				types = append(types, m[1])
				if m[2] != strconv.Itoa(i+1) {
					t.Errorf("run %s: event %d has sequence number %s", id, i+1, m[2])
				}
			}
			for _, e := range want[id].Events {
				wantTypes = append(wantTypes, e.Type)
			}
			if !slices.Equal(types, wantTypes) {
				t.Errorf("run %s timeline:\n got %v\nwant %v", id, types, wantTypes)
			}
			toolEnd := map[string]string{"completed": "tool.returned", "failed": "tool.failed"}[want[id].Status]
			for _, typ := range []string{"llm.request", "llm.response", "tool.called", toolEnd} {
				if !slices.Contains(types, typ) {
					t.Errorf("run %s timeline lacks %s: %v", id, typ, types)
				}
			}
			if !strings.Contains(page, "gpt-4o-2024-08-06") || !strings.Contains(page, `<span class="in">`) {
				t.Errorf("run %s page shows no model or tokens", id)
			}
			if want[id].Status == "failed" && !strings.Contains(page, `class="run-error"`) {
				t.Errorf("failed run %s: its error is not shown", id)
			}
			checkWaterfall(t, page, want[id])
		}
	}

	t.Run("after the agent", func(t *testing.T) { check(t, url) })
	stop()
	url = serve(t, args...)
	t.Run("after a restart", func(t *testing.T) { check(t, url) })
}

// checkWaterfall checks the trace drawn on a run's page against the
// events the server recorded: the run's root span first, every other span
// once under it, bars placed in the order the spans started, and a span
// that failed drawn as an error.
func checkWaterfall(t *testing.T, page string, run runJSON) {
	t.Helper()
	var root struct {
		SpanID string `json:"span_id"`
	}
	if err := json.Unmarshal(run.Input, &root); err != nil || root.SpanID == "" {
		t.Fatalf("run %s: no root span id in its input: %v", run.ID, err)
	}
	type span struct {
		start  time.Time
		failed bool
		kind   string
	}
	spans := map[string]*span{}
	var order []string // by start
	for _, e := range run.Events {
		var p struct {
			SpanID string `json:"span_id"`
		}
		_ = json.Unmarshal(e.Payload, &p)
		if p.SpanID == root.SpanID || p.SpanID == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, e.OccurredAt)
		if err != nil {
			t.Fatal(err)
		}
		s := spans[p.SpanID]
		if s == nil {
			s = &span{start: at}
			spans[p.SpanID] = s
			order = append(order, p.SpanID)
		}
		if family, verb, _ := strings.Cut(e.Type, "."); verb == "called" || verb == "request" {
			s.kind = family
		}
		s.failed = s.failed || strings.HasSuffix(e.Type, ".failed")
	}
	slices.SortStableFunc(order, func(a, b string) int { return spans[a].start.Compare(spans[b].start) })

	rows := spanRe.FindAllStringSubmatch(page, -1)
	if len(rows) != len(spans)+1 {
		t.Fatalf("run %s: the trace has %d rows, want the root and %d spans", run.ID, len(rows), len(spans))
	}
	if r := rows[0]; r[1] != "run" || r[3] != root.SpanID || r[5] != "0" {
		t.Errorf("run %s: the first row is %q, want the run's root span %s at depth 0", run.ID, r[0], root.SpanID)
	}
	lastX := -1.0
	for i, r := range rows[1:] {
		kind, status, id, parent, depth := r[1], r[2], r[3], r[4], r[5]
		x, _ := strconv.ParseFloat(r[6], 64)
		if id != order[i] {
			t.Errorf("run %s: row %d is span %s, want %s (spans in the order they started)", run.ID, i+1, id, order[i])
			continue
		}
		if parent != root.SpanID || depth != "1" {
			t.Errorf("run %s: span %s hangs under %q at depth %s, want under the root at depth 1", run.ID, id, parent, depth)
		}
		if x < lastX {
			t.Errorf("run %s: span %s's bar starts at %v, before the previous one's %v", run.ID, id, x, lastX)
		}
		lastX = x
		if kind != spans[id].kind {
			t.Errorf("run %s: span %s drawn as %s, want %s", run.ID, id, kind, spans[id].kind)
		}
		if want := map[bool]string{true: "error", false: "ok"}[spans[id].failed]; status != want {
			t.Errorf("run %s: span %s drawn as %s, want %s", run.ID, id, status, want)
		}
	}
	if lastX <= 0 {
		t.Errorf("run %s: every bar starts at 0", run.ID)
	}
}

// TestBrowserList checks the list as Chromium runs it: paging older,
// a search, and the page picking up a run sent after it was loaded,
// without a reload.
func TestBrowserList(t *testing.T) {
	browser := chromium(t)
	url := serve(t, "-memory", "-agent", agentA+"=aos_agent_a")
	const n = localserver.DefaultListLimit + 10
	var ids []string // oldest first
	for i := range n {
		ids = append(ids, startRun(t, url, "aos_agent_a", agentosapi.StartRunRequest{AgentID: agentA, ExternalRunID: fmt.Sprintf("run-%d", i)}))
	}

	t.Run("paging", func(t *testing.T) {
		page := dumpDOM(t, browser, url+"/")
		first := rowRe.FindAllStringSubmatch(page, -1)
		m := regexp.MustCompile(`<a class="older" rel="next" href="([^"]+)">`).FindStringSubmatch(page)
		if len(first) != localserver.DefaultListLimit || m == nil {
			t.Fatalf("the first page lists %d runs, link to older: %v", len(first), m != nil)
		}
		older := rowRe.FindAllStringSubmatch(dumpDOM(t, browser, url+html.UnescapeString(m[1])), -1)
		if len(older) != 10 || older[9][2] != ids[0] || older[0][2] != ids[9] {
			t.Errorf("the older page lists %d runs, not the 10 oldest", len(older))
		}
	})

	t.Run("search", func(t *testing.T) {
		rows := rowRe.FindAllStringSubmatch(dumpDOM(t, browser, url+"/?q=run-7"), -1)
		var got []string
		for _, r := range rows {
			got = append(got, r[2])
		}
		if want := []string{ids[7]}; !slices.Equal(got, want) {
			t.Errorf("searching run-7 lists %v, want %v", got, want)
		}
	})

	t.Run("a run sent later appears", func(t *testing.T) {
		// In front of the server, a proxy that sends a new run when the
		// page first asks whether anything changed: the page was built
		// before it existed.
		target, err := neturl.Parse(url)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(target)
		var once sync.Once
		late := make(chan string, 1)
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/_local/changes" {
				once.Do(func() {
					late <- startRun(t, url, "aos_agent_a", agentosapi.StartRunRequest{AgentID: agentA, ExternalRunID: "sent-after-the-page"})
				})
			}
			proxy.ServeHTTP(w, r)
		}))
		defer front.Close()
		page := dumpDOMAfter(t, browser, front.URL+"/", 10*time.Second)
		var id string
		select {
		case id = <-late:
		default:
			t.Fatal("the page never asked for changes")
		}
		rows := rowRe.FindAllStringSubmatch(page, -1)
		if len(rows) == 0 || rows[0][2] != id {
			t.Errorf("the run sent after the page loaded is not listed first")
		}
		if !strings.Contains(page, "sent-after-the-page") {
			t.Errorf("the page does not show the late run")
		}
	})
}

// TestBrowserDeepPayload opens the page of a run whose payload nests
// 9,000 levels deep, and that payload drawn: the page stays small, and
// the drawing draws what is open only.
func TestBrowserDeepPayload(t *testing.T) {
	browser := chromium(t)
	url := serve(t, "-memory", "-agent", agentA+"=aos_agent_a")
	id := startRun(t, url, "aos_agent_a", agentosapi.StartRunRequest{AgentID: agentA})
	deep := json.RawMessage(strings.Repeat(`{"a":`, 9000) + `"bottom"` + strings.Repeat("}", 9000))
	post(t, url+agentosapi.PathEvents, "aos_agent_a", agentosapi.EventsRequest{RunID: id, Events: []agentosapi.Event{
		{Type: "step.started", Payload: deep},
		{Type: "llm.request", Payload: json.RawMessage(`{"span_id":"a1","prompt":` + string(deep) + `}`)},
	}})
	status, _, served := getPage(t, url+"/runs/"+id)
	if status != 200 || len(served) > 64<<10 {
		t.Errorf("the page: %d, %d bytes", status, len(served))
	}
	dom := dumpDOMAfter(t, browser, url+"/runs/"+id+"#e1", 5*time.Second)
	if len(dom) > 2<<20 {
		t.Errorf("the page's DOM has %d bytes", len(dom))
	}
	// Opened at #e1, the first payload is drawn, two levels open.
	if n := strings.Count(dom, `class="j-node"`); n < 2 || n > 10 {
		t.Errorf("%d JSON nodes drawn, want the first few levels only", n)
	}
	if strings.Contains(dom, "bottom") {
		t.Error("the deepest value is drawn though nothing above it was opened")
	}
}
