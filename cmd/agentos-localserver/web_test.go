package main

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

func getPage(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

// startRun opens a run through the ingest API and returns its id.
func startRun(t *testing.T, url, key string, req agentosapi.StartRunRequest) string {
	t.Helper()
	var start agentosapi.StartRunResponse
	if err := json.Unmarshal(post(t, url+agentosapi.PathRunStart, key, req), &start); err != nil {
		t.Fatal(err)
	}
	return start.RunID
}

// TestPages checks what the pages say and that they escape what agents
// send; the browser test checks them as a browser renders them.
func TestPages(t *testing.T) {
	url := serve(t, "-memory", "-agent", agentA+"=aos_agent_a")
	const hostile = `<script>alert(1)</script>`

	failed := startRun(t, url, "aos_agent_a", agentosapi.StartRunRequest{AgentID: agentA, ExternalRunID: "ext-" + hostile})
	post(t, url+agentosapi.PathEvents, "aos_agent_a", agentosapi.EventsRequest{RunID: failed, Events: []agentosapi.Event{
		{Type: "llm.request", OccurredAt: "2026-05-01T10:00:00Z", Payload: json.RawMessage(`{"model":"m-1","prompt":"` + hostile + `"}`)},
		{Type: "llm.response", OccurredAt: "2026-05-01T10:00:01.5Z", Payload: json.RawMessage(`{"model":"m-1-2026","input_tokens":40,"output_tokens":2}`)},
		{Type: "llm.response", OccurredAt: "2026-05-01T10:00:02Z", Payload: json.RawMessage(`{"model":"m-2","input_tokens":10,"output_tokens":3}`)},
		{Type: "tool.failed", Level: "error", OccurredAt: "2026-05-01T10:00:03Z", Payload: json.RawMessage(`{"tool":"t","error":"nope"}`)},
	}})
	post(t, url+agentosapi.PathRunFail, "aos_agent_a", agentosapi.FailRunRequest{RunID: failed, ErrorMessage: "it broke " + hostile})
	open := startRun(t, url, "aos_agent_a", agentosapi.StartRunRequest{AgentID: agentA})

	for _, tc := range []struct {
		name, path string
		status     int
		want, not  []string
	}{
		{name: "index", path: "/", status: 200,
			want: []string{
				`href="/runs/` + failed + `"`, `href="/runs/` + open + `"`,
				"ext-&lt;script&gt;", "it broke &lt;script&gt;", `data-poll="2000"`, `data-watch="/_local/changes"`,
				"3.000 s", // first to last event
			},
			not: []string{hostile}},
		{name: "filtered", path: "/?status=failed", status: 200,
			want: []string{`href="/runs/` + failed + `"`, `class="current" aria-current="page">failed`},
			// Still refreshed: a run is open, and may fail.
			not: []string{open}},
		{name: "failed run", path: "/runs/" + strings.ToUpper(failed), status: 200,
			want: []string{
				"m-1-2026, m-2", "50 in", "5 out", "over 2 llm.response",
				`class="event level-error family-tool" id="e4" data-type="tool.failed" data-seq="4"`,
				"&#43;1.500 s", "&#43;3.000 s", "it broke &lt;script&gt;",
				`<div class="part text plain">&lt;script&gt;alert(1)&lt;/script&gt;</div>`, // the prompt, escaped
			},
			not: []string{hostile, "data-poll"}},
		{name: "open run refreshes", path: "/runs/" + open, status: 200, want: []string{`data-poll="2000"`, `data-watch="/_local/changes?run=` + open + `"`, "No events yet."}},
		{name: "unknown run", path: "/runs/" + agentB, status: 404},
		{name: "unknown status", path: "/?status=" + hostile, status: 400, not: []string{hostile}},
		{name: "stylesheet", path: "/assets/style.css", status: 200, want: []string{".timeline"}},
		{name: "script", path: "/assets/app.js", status: 200, want: []string{"dataset.poll"}},
		{name: "ingest paths stay strict", path: agentosapi.PathRunStart, status: 405},
		{name: "other paths stay the ingest API's", path: "/nothing", status: 404, want: []string{`"code":"not_found"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body := getPage(t, url+tc.path)
			if status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("lacks %q:\n%s", w, body)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("contains %q", n)
				}
			}
			if strings.HasPrefix(header.Get("Content-Type"), "text/html") && header.Get("Content-Security-Policy") != "default-src 'self'" {
				t.Errorf("CSP %q", header.Get("Content-Security-Policy"))
			}
		})
	}

	// The newest run comes first.
	_, _, body := getPage(t, url+"/")
	if i, j := strings.Index(body, open), strings.Index(body, failed); i < 0 || j < 0 || i > j {
		t.Errorf("the open run (started last) is not listed first")
	}
}

// TestRestartKeepsRuns stops the server and starts it again on the same
// -db file: the runs are still listed, and a run left open goes on.
func TestRestartKeepsRuns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "runs.db")
	args := []string{"-db", db, "-agent", agentA + "=aos_agent_a"}
	url, stop := serveStoppable(t, args...)
	id := startRun(t, url, "aos_agent_a", agentosapi.StartRunRequest{AgentID: agentA, ExternalRunID: "kept"})
	post(t, url+agentosapi.PathEvents, "aos_agent_a", agentosapi.EventsRequest{RunID: id, Events: []agentosapi.Event{{Type: "step.started"}}})
	stop()

	url = serve(t, args...)
	post(t, url+agentosapi.PathEvents, "aos_agent_a", agentosapi.EventsRequest{RunID: id, Events: []agentosapi.Event{{Type: "step.completed"}}})
	post(t, url+agentosapi.PathRunComplete, "aos_agent_a", agentosapi.CompleteRunRequest{RunID: id})
	var snap runsJSON
	get(t, url+"/_local/runs", &snap)
	if len(snap.Runs) != 1 || snap.Runs[0].ExternalRunID != "kept" || snap.Runs[0].Status != "completed" || len(snap.Runs[0].Events) != 2 || snap.Runs[0].Events[1].SequenceNumber != 2 {
		t.Fatalf("after a restart: %+v", snap.Runs)
	}
	_, _, body := getPage(t, url+"/runs/"+id)
	if got := regexp.MustCompile(`data-type="([^"]+)"`).FindAllStringSubmatch(body, -1); fmt.Sprint(got) != "[[data-type=\"step.started\" step.started] [data-type=\"step.completed\" step.completed]]" {
		t.Errorf("timeline after a restart: %v", got)
	}
}

// TestPaging stores more runs than a page holds: paging the list older
// and newer, and /_local/runs after after, reaches every run exactly once.
func TestPaging(t *testing.T) {
	url := serve(t, "-memory", "-agent", agentA+"=aos_agent_a")
	const n = 2*localserver.DefaultListLimit + 7
	var ids []string // oldest first
	for i := range n {
		ids = append(ids, startRun(t, url, "aos_agent_a", agentosapi.StartRunRequest{AgentID: agentA, ExternalRunID: fmt.Sprintf("run-%d", i)}))
	}
	olderRe := regexp.MustCompile(`<a class="older" rel="next" href="([^"]+)">`)
	newerRe := regexp.MustCompile(`<a class="newer" rel="prev" href="([^"]+)">`)
	var seen []string
	var pages []string
	for path := "/"; ; {
		_, _, body := getPage(t, url+html.UnescapeString(path))
		pages = append(pages, body)
		for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
			seen = append(seen, m[2])
		}
		m := olderRe.FindStringSubmatch(body)
		if m == nil {
			break
		}
		if len(pages) > 5 {
			t.Fatal("paging does not end")
		}
		path = m[1]
	}
	want := slices.Clone(ids)
	slices.Reverse(want)
	if !slices.Equal(seen, want) {
		t.Fatalf("paging older saw %d runs, want all %d newest first", len(seen), n)
	}
	if len(pages) != 3 || !strings.Contains(pages[2], fmt.Sprintf("101–%d of %d", n, n)) {
		t.Errorf("%d pages; the last says %q", len(pages), regexp.MustCompile(`\d+–\d+ of \d+`).FindString(pages[len(pages)-1]))
	}
	// Back, newer, from the last page.
	m := newerRe.FindStringSubmatch(pages[2])
	if m == nil {
		t.Fatal("the last page has no link to newer runs")
	}
	_, _, body := getPage(t, url+html.UnescapeString(m[1]))
	if got := rowRe.FindAllStringSubmatch(body, -1); len(got) != localserver.DefaultListLimit || got[0][2] != want[50] {
		t.Errorf("newer than the last page: %d runs", len(got))
	}

	// A search reaches the oldest run at once.
	_, _, body = getPage(t, url+"/?q=RUN-0")
	if got := rowRe.FindAllStringSubmatch(body, -1); len(got) != 1 || got[0][2] != ids[0] {
		t.Errorf("searching run-0: %v", got)
	}

	var snap runsJSON
	var all []string
	for after := ""; ; {
		snap = runsJSON{}
		get(t, url+"/_local/runs?limit=40&after="+after, &snap)
		for _, r := range snap.Runs {
			all = append(all, r.ID)
		}
		if snap.Next == "" {
			break
		}
		after = snap.Next
	}
	if !slices.Equal(all, ids) {
		t.Errorf("/_local/runs pages gave %d runs, want all %d in order", len(all), n)
	}
}

// TestHostCheck sends requests as a DNS-rebinding page would, with its
// own name as Host: the pages and /_local refuse it, the ingest API (which
// needs a key) and the names allowed by flag do not.
func TestHostCheck(t *testing.T) {
	url := serve(t, "-memory", "-agent", agentA+"=aos_agent_a", "-allow-host", "Host.Docker.Internal")
	for _, tc := range []struct {
		host, path string
		status     int
	}{
		{"evil.example:8787", "/", 403},
		{"evil.example", "/_local/runs", 403},
		{"evil.example", "/runs/" + agentA, 403},
		{"evil.example", "/assets/style.css", 403},
		{"localhost.evil.example", "/", 403},
		{"evil.example", agentosapi.PathRunStart, 405}, // past the check, to the API's own
		{"localhost:8787", "/", 200},
		{"app.localhost", "/", 200},
		{"127.0.0.1:8787", "/_local/runs", 200},
		{"[::1]:8787", "/", 200},
		{"10.1.2.3", "/", 200},
		{"host.docker.internal:8787", "/", 200},
	} {
		req, err := http.NewRequest(http.MethodGet, url+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("Host %s, GET %s: %d, want %d: %s", tc.host, tc.path, res.StatusCode, tc.status, body)
		}
		if res.StatusCode == 403 && strings.Contains(string(body), "evil") {
			t.Errorf("the refusal echoes the Host: %s", body)
		}
	}
}

func TestRecoverPanics(t *testing.T) {
	var log syncBuffer
	h := recoverPanics(slog.New(slog.NewTextHandler(&log, nil)), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("a bug")
	}))
	hs := httptest.NewServer(h)
	defer hs.Close()
	status, _, body := getPage(t, hs.URL+"/runs/x")
	if status != 500 || !strings.Contains(body, "a bug") {
		t.Errorf("%d %q, want 500 saying what happened", status, body)
	}
	if !strings.Contains(log.String(), "a bug") || !strings.Contains(log.String(), "/runs/x") {
		t.Errorf("the log lacks the panic: %s", log.String())
	}
}

// TestRunPageContent checks how a run's content is shown: conversations
// as messages, bidi controls made visible, a zero occurred_at, a large
// payload left to be fetched, and the timeline paged.
func TestRunPageContent(t *testing.T) {
	url := serve(t, "-memory", "-agent", agentA+"=aos_agent_a")
	id := startRun(t, url, "aos_agent_a", agentosapi.StartRunRequest{AgentID: agentA,
		Input: json.RawMessage(`{"input_messages":[{"role":"user","parts":[{"type":"text","content":"Book a flight"}]}]}`)})
	big := `{"blob":"` + strings.Repeat("b", 20000) + `"}`
	events := []agentosapi.Event{
		{Type: "llm.response", OccurredAt: "2026-05-01T10:00:01Z", Payload: json.RawMessage(`{"span_id":"s1","response":[{"role":"assistant","parts":[{"type":"tool_call","name":"book_flight","arguments":{"to":"Paris"}}]}]}`)},
		{Type: "step.started", OccurredAt: "0001-01-01T00:00:00Z", Payload: json.RawMessage(`{"name":"file\u202egnp.exe"}`)},
		{Type: "tool.returned", OccurredAt: "2026-05-01T10:00:02Z", Payload: json.RawMessage(big)},
	}
	for i := range timelinePage {
		events = append(events, agentosapi.Event{Type: "step.completed", OccurredAt: "2026-05-01T10:00:03Z", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
	}
	for i := 0; i < len(events); i += 100 {
		post(t, url+agentosapi.PathEvents, "aos_agent_a", agentosapi.EventsRequest{RunID: id, Events: events[i:min(i+100, len(events))]})
	}
	post(t, url+agentosapi.PathTasks, "aos_agent_a", agentosapi.TaskRequest{RunID: id, Task: agentosapi.Task{ID: agentB, Name: "book <flight>", Status: "completed"}})
	status, _, page := getPage(t, url+"/runs/"+id)
	if status != 200 {
		t.Fatal(status)
	}
	for _, want := range []string{
		`<div class="msg role-user"><span class="role">user</span><div class="part text">Book a flight</div>`,
		`<span class="k">tool call</span> <code>book_flight</code> <code class="args">{&#34;to&#34;:&#34;Paris&#34;}</code>`,
		"file⟨U&#43;202E⟩gnp.exe",                     // html/template escapes the +
		`data-src="/runs/` + id + `/payload?event=3"`, // the big payload, fetched when opened
		fmt.Sprintf(`events #1–#%d of %d`, timelinePage, timelinePage+3),
		`<td>book &lt;flight&gt;</td><td><span class="status status-completed">completed</span></td>`,
		fmt.Sprintf(`href="/runs/%s?from=%d"`, id, timelinePage+1),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(page, "\u202e") || strings.Contains(page, "9223372036854") || strings.Contains(page, strings.Repeat("b", 1000)) {
		t.Error("the page has a raw bidi control, a saturated offset or the big payload inline")
	}
	_, _, later := getPage(t, url+"/runs/"+id+fmt.Sprintf("?from=%d", timelinePage+1))
	if got := typeRe.FindAllStringSubmatch(later, -1); len(got) != 3 || got[0][2] != fmt.Sprint(timelinePage+1) {
		t.Errorf("the timeline's second page: %d events", len(got))
	}
	status, header, raw := getPage(t, url+"/runs/"+id+"/payload?event=3")
	if status != 200 || raw != big || header.Get("Content-Type") != "application/json" {
		t.Errorf("the payload endpoint: %d %s, %d bytes", status, header.Get("Content-Type"), len(raw))
	}
	if status, _, _ := getPage(t, url+"/runs/"+id+"/payload?event=9999"); status != 404 {
		t.Errorf("an event that does not exist: %d", status)
	}
	if _, _, in := getPage(t, url+"/runs/"+id+"/payload?part=input"); !strings.HasPrefix(in, `{"input_messages"`) {
		t.Errorf("the input: %s", in)
	}

	// The change endpoint moves with the run, and only then.
	var before, same, after struct{ Version string }
	get(t, url+"/_local/changes?run="+id, &before)
	get(t, url+"/_local/changes?run="+id, &same)
	post(t, url+agentosapi.PathRunComplete, "aos_agent_a", agentosapi.CompleteRunRequest{RunID: id})
	get(t, url+"/_local/changes?run="+id, &after)
	if before.Version == "" || before != same || after == before {
		t.Errorf("versions %q, %q, then %q", before.Version, same.Version, after.Version)
	}
}

// TestPageSizeCap fills a run with more events, spans and payload than any
// page could hold: its page stays under 2 MB.
func TestPageSizeCap(t *testing.T) {
	url := serve(t, "-memory", "-agent", agentA+"=aos_agent_a")
	id := startRun(t, url, "aos_agent_a", agentosapi.StartRunRequest{AgentID: agentA,
		Input: json.RawMessage(`{"prompt":"` + strings.Repeat("i", 900<<10) + `"}`)})
	text := strings.Repeat("t", 3000)
	for batch := range 60 {
		var events []agentosapi.Event
		for i := range 100 {
			n := batch*100 + i
			span := fmt.Sprintf("%016x", n/2+1)
			typ, key := "llm.request", "prompt"
			if n%2 == 1 {
				typ, key = "llm.response", "response"
			}
			events = append(events, agentosapi.Event{Type: typ, OccurredAt: time.Date(2026, 5, 1, 10, 0, 0, n*int(time.Millisecond), time.UTC).Format(time.RFC3339Nano),
				Payload: json.RawMessage(fmt.Sprintf(`{"span_id":%q,"parent_span_id":"0000000000000001","span_name":"chat","model":"m","%s":[{"role":"user","content":%q}]}`, span, key, text))})
		}
		post(t, url+agentosapi.PathEvents, "aos_agent_a", agentosapi.EventsRequest{RunID: id, Events: events})
	}
	status, _, page := getPage(t, url+"/runs/"+id)
	if status != 200 || len(page) > 2<<20 {
		t.Errorf("the page of a run of 6,000 events of 3 KB: %d, %d bytes", status, len(page))
	}
	if n := len(spanRe.FindAllString(page, -1)); n != maxWaterfallRows {
		t.Errorf("%d trace rows, want the first %d", n, maxWaterfallRows)
	}
	t.Logf("%d bytes", len(page))
}
