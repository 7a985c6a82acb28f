package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), "--dump-dom", url)
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
		}
	}

	t.Run("after the agent", func(t *testing.T) { check(t, url) })
	stop()
	url = serve(t, args...)
	t.Run("after a restart", func(t *testing.T) { check(t, url) })
}
