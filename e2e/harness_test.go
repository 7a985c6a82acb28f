//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// localServerBin is the agentos-localserver binary: AGENTOS_LOCALSERVER
// (set by e2e/run.sh), else built by TestMain.
var localServerBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	localServerBin = os.Getenv("AGENTOS_LOCALSERVER")
	if localServerBin == "" {
		dir, err := os.MkdirTemp("", "agentos-e2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		localServerBin = filepath.Join(dir, "agentos-localserver")
		build := exec.Command("go", "build", "-o", localServerBin, "../cmd/agentos-localserver")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building agentos-localserver:", err)
			return 1
		}
	}
	return m.Run()
}

func binary(t *testing.T, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: run e2e/run.sh (make e2e)", env)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process starts bin and stops it (SIGTERM, then SIGKILL after 20s) when
// the test ends, printing its log if the test failed. The child also dies
// with the test binary (see setParentDeath), so a timed-out run leaves no
// collector behind. The returned channel is closed when the process exits.
func process(t *testing.T, name, bin string, args, env []string) (exited <-chan struct{}) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	setParentDeath(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		logFile.Close()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop within 20s of SIGTERM", name)
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s (exit: %v) log:\n%s", name, waitErr, b)
		}
	})
	return done
}

// waitHealthy polls url until it answers 200, failing if the process
// exits first.
func waitHealthy(t *testing.T, name, url string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s exited while starting", name)
		default:
		}
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within a minute", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// collector starts a collector binary with a config of testdata/collector
// and waits for its health check.
func collector(t *testing.T, bin, config string, env ...string) {
	t.Helper()
	health := freeAddr(t)
	name := strings.TrimSuffix(config, ".yaml")
	exited := process(t, name, bin, []string{"--config", filepath.Join("..", "testdata", "collector", config)},
		append(env, "HEALTH_ENDPOINT="+health, "METRICS_PORT="+freePort(t)))
	waitHealthy(t, name, "http://"+health, exited)
}

// freePort is a free loopback port, for a collector's metrics.
func freePort(t *testing.T) string {
	t.Helper()
	_, port, err := net.SplitHostPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// killable is a collector process the test can kill -9.
type killable struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

// startKillableConfig starts a collector binary with a config of
// testdata/collector, waits for its health check, and kills it when the
// test ends, printing its log if the test failed.
func startKillableConfig(t *testing.T, bin, config string, env ...string) *killable {
	t.Helper()
	health := freeAddr(t)
	name := strings.TrimSuffix(config, ".yaml")
	k := &killable{exited: make(chan struct{}), log: filepath.Join(t.TempDir(), name+".log")}
	logFile, err := os.Create(k.log)
	if err != nil {
		t.Fatal(err)
	}
	k.cmd = exec.Command(bin, "--config", filepath.Join("..", "testdata", "collector", config))
	// The test's env comes after the default metrics port: the last wins.
	k.cmd.Env = append(append(os.Environ(), "METRICS_PORT="+freePort(t)), env...)
	k.cmd.Env = append(k.cmd.Env, "HEALTH_ENDPOINT="+health)
	k.cmd.Stdout, k.cmd.Stderr = logFile, logFile
	setParentDeath(k.cmd)
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = k.cmd.Wait()
		logFile.Close()
		close(k.exited)
	}()
	t.Cleanup(func() {
		_ = k.cmd.Process.Kill()
		<-k.exited
		if t.Failed() {
			b, _ := os.ReadFile(k.log)
			t.Logf("%s log:\n%s", name, b)
		}
	})
	waitHealthy(t, name, "http://"+health, k.exited)
	return k
}

func (k *killable) kill9() {
	_ = k.cmd.Process.Kill()
	<-k.exited
}

// agentos is an agentos-localserver process.
type agentos struct {
	URL string
}

// startAgentOS runs agentos-localserver on a free port with the given
// agent id → key pairs.
func startAgentOS(t *testing.T, agents map[string]string) *agentos {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	args := []string{"-addr", "127.0.0.1:0", "-addr-file", addrFile, "-memory"}
	for id, key := range agents {
		args = append(args, "-agent", id+"="+key)
	}
	exited := process(t, "agentos-localserver", localServerBin, args, nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil {
			return &agentos{URL: "http://" + strings.TrimSpace(string(b))}
		}
		select {
		case <-exited:
			t.Fatal("agentos-localserver exited while starting")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("agentos-localserver wrote no address within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The JSON of GET /_local/runs and /_local/stats.
type (
	recordedRun struct {
		ID            string          `json:"id"`
		AgentID       string          `json:"agent_id"`
		TriggerType   string          `json:"trigger_type"`
		ExternalRunID string          `json:"external_run_id"`
		Status        string          `json:"status"`
		Input         json.RawMessage `json:"input"`
		Output        json.RawMessage `json:"output"`
		ErrorMessage  string          `json:"error_message"`
		Events        []recordedEvent `json:"events"`
	}
	recordedEvent struct {
		SequenceNumber int64          `json:"sequence_number"`
		Type           string         `json:"type"`
		Level          string         `json:"level"`
		OccurredAt     time.Time      `json:"occurred_at"`
		Payload        map[string]any `json:"payload"`
	}
	serverStats struct {
		Requests map[string]int `json:"requests"`
		Status   map[string]int `json:"status"`
		Rejected int            `json:"rejected"`
	}
)

func (a *agentos) get(t *testing.T, path string, v any) {
	t.Helper()
	res, err := http.Get(a.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// runs reads every run, page by page.
func (a *agentos) runs(t *testing.T) []recordedRun {
	t.Helper()
	var all []recordedRun
	path := "/_local/runs"
	for {
		var page struct {
			Runs []recordedRun `json:"runs"`
			Next string        `json:"next"`
		}
		a.get(t, path, &page)
		all = append(all, page.Runs...)
		if page.Next == "" {
			return all
		}
		path = "/_local/runs?after=" + url.QueryEscape(page.Next)
	}
}

func (a *agentos) stats(t *testing.T) serverStats {
	t.Helper()
	var st serverStats
	a.get(t, "/_local/stats", &st)
	return st
}

// waitForRuns waits until want runs are closed and returns them.
func (a *agentos) waitForRuns(t *testing.T, want int) []recordedRun {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		runs := a.runs(t)
		closed := 0
		for _, r := range runs {
			if r.Status != "running" {
				closed++
			}
		}
		if closed >= want {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runs closed after 90s (%d started)", closed, want, len(runs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
