package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ensureCollector builds the collectors with e2e/run.sh (make collector)
// unless bin exists.
func ensureCollector(root, bin string) error {
	if _, err := os.Stat(bin); err == nil {
		return nil
	}
	fmt.Fprintf(os.Stderr, "soak: %s is missing, building it (bash e2e/run.sh build)\n", bin)
	cmd := exec.Command("bash", filepath.Join(root, "e2e", "run.sh"), "build")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building the collector: %w", err)
	}
	return nil
}

// collectorConfigs are the testdata pipelines of the collector rows.
var collectorConfigs = map[frontEnd]string{
	collectorFE: "basic.yaml",
	otlphttpFE:  "otlphttp.yaml",
}

// startCollector runs the collector with fe's pipeline, its exporter aimed
// at AgentOS or the sink, and returns it once healthy. It listens for
// OTLP/HTTP on otlpAddr and keeps its storage, if any, in storageDir. A
// client timeout is set through a second config file, which the collector
// merges into the first.
func (s *soak) startCollector(sc scenario, fe frontEnd, otlpAddr, storageDir string, log io.Writer) (*process, error) {
	health, err := freeAddr()
	if err != nil {
		return nil, err
	}
	config := collectorConfigs[fe]
	if sc.config != "" && fe == collectorFE {
		config = sc.config
	}
	args := []string{"--config", filepath.Join(s.root, "testdata", "collector", config)}
	if sc.timeout > 0 && fe == collectorFE {
		overlay := filepath.Join(s.logDir, sc.name+"-collector-timeout.yaml")
		yaml := fmt.Sprintf("exporters:\n  agentos:\n    timeout: %s\n", sc.timeout)
		if err := os.WriteFile(overlay, []byte(yaml), 0o644); err != nil {
			return nil, err
		}
		args = append(args, "--config", overlay)
	}
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "METRICS_PORT="+metricsPort,
		"AGENTOS_ENDPOINT="+s.agentos.url(), "AGENTOS_API_KEY="+soakAPIKey, "AGENTOS_AGENT_ID="+soakAgentID,
		"OTLP_SINK_ENDPOINT="+s.sink.url, "OTLP_HTTP_ENDPOINT="+otlpAddr, "HEALTH_ENDPOINT="+health,
		"STORAGE_DIR="+storageDir)
	p, err := startProcess("collector", s.collectorBin, args, env, log, log)
	if err != nil {
		return nil, err
	}
	if err := waitHealthy(p, "http://"+health); err != nil {
		_ = p.stop()
		return nil, err
	}
	return p, nil
}

// crashAndRestart kills the collector at sc.crash.at after start and
// starts it again on the same address and storage sc.crash.down later. It
// sends the running collector, the restarted one last, on the channel it
// returns, and closes it.
func (s *soak) crashAndRestart(sc scenario, first *process, start time.Time, otlpAddr, storageDir string, log io.Writer) <-chan crashOutcome {
	out := make(chan crashOutcome, 1)
	go func() {
		defer close(out)
		time.Sleep(time.Until(start.Add(sc.crash.at)))
		_ = first.cmd.Process.Kill()
		<-first.done
		fmt.Fprintf(log, "soak: killed the collector (SIGKILL) at %s\n", time.Since(start).Round(time.Millisecond))
		time.Sleep(sc.crash.down)
		p, err := s.startCollector(sc, collectorFE, otlpAddr, storageDir, log)
		fmt.Fprintf(log, "soak: restarted the collector at %s\n", time.Since(start).Round(time.Millisecond))
		out <- crashOutcome{p, err}
	}()
	return out
}

type crashOutcome struct {
	collector *process
	err       error
}

func waitHealthy(p *process, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("the collector exited while starting: %w (see its log)", p.err)
		default:
		}
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the collector was not healthy within a minute (see its log)")
}

// freePort is a free loopback port.
func freePort() (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	_, port, err := net.SplitHostPort(addr)
	return port, err
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
