package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// soak holds what every row shares.
type soak struct {
	root, collectorBin, logDir string
	self                       string // this binary, re-executed as the load child
	workers                    int
	agentos                    *agentOS
	sink                       *otlpSink
}

// row is the outcome of one scenario through one front end.
type row struct {
	scenario scenario
	frontEnd frontEnd
	verdict  verdict // from the AgentOS server; unused for otlphttp
	sinkLost int     // otlphttp: spans the sink never received
	load     loadResult
	delivery time.Duration // first span produced to last run closed (or last span at the sink)
	maxRSS   int64
	cpu      time.Duration
	killed   string // the child that had to be killed, if one was
	// mayExistLogged counts the front end's lines naming a run that
	// AgentOS may hold open: its id unknown to the bridge, or an earlier
	// start of a run it then started again.
	mayExistLogged int
	err            error // the soak itself failed to run the row
}

// spans is the number of spans the row traced.
func (r row) spans() int { return r.scenario.runs * r.scenario.spans }

func (r row) spansPerSecond() float64 {
	if r.delivery <= 0 {
		return 0
	}
	return float64(r.spans()) / r.delivery.Seconds()
}

// tail is how long delivery went on after the front end had every span:
// after the load's Shutdown returned, which for the SDK front ends is
// after delivery (0), and for the collector after it acknowledged the
// last OTLP request.
func (r row) tail() time.Duration {
	if r.delivery <= 0 || r.load.Elapsed <= 0 {
		return 0
	}
	return max(r.delivery-r.load.Elapsed, 0)
}

// ok says whether the row keeps its scenario's rules.
func (r row) ok() bool {
	switch {
	case r.err != nil:
		return false
	case r.frontEnd == otlphttpFE:
		return r.sinkLost == 0
	case r.scenario.strict:
		return r.verdict.violations() == 0 && r.killed == ""
	}
	// Every run recorded twice must have been named in the log.
	return r.verdict.relaxedOK() && r.verdict.duplicates <= r.mayExistLogged
}

// run drives sc's runs through fe and checks what arrived.
func (s *soak) run(sc scenario, fe frontEnd) row {
	r := row{scenario: sc, frontEnd: fe}
	log, err := os.Create(filepath.Join(s.logDir, sc.name+"-"+string(fe)+".log"))
	if err != nil {
		r.err = err
		return r
	}
	defer log.Close()

	var prefix [8]byte
	_, _ = rand.Read(prefix[:])
	s.agentos.server.Reset()
	faults := sc.faults
	faults.Latency = sc.latency
	s.agentos.server.SetFaults(faults)
	s.sink.reset(sc.latency)

	cfg := loadConfig{FrontEnd: fe, Endpoint: s.agentos.url(), AgentID: soakAgentID, APIKey: soakAPIKey,
		TracePrefix: prefix, Runs: sc.runs, Spans: sc.spans, Workers: s.workers,
		Pace: sc.pace, Timeout: sc.timeout, Deadline: sc.deadline, Batch: sc.batch, Resend: sc.crash.at > 0}
	var collector *process
	var layout *scaleOut
	var storageDir string
	if fe == collectorFE || fe == otlphttpFE {
		if cfg.Endpoint, err = freeAddr(); err == nil {
			storageDir, err = os.MkdirTemp(s.logDir, sc.name+"-storage-")
		}
		if err == nil {
			defer os.RemoveAll(storageDir)
			if sc.tiers > 0 && fe == collectorFE {
				layout, err = s.startScaleOut(sc, cfg.Endpoint, storageDir, log)
				collector = layout.router
			} else {
				collector, err = s.startCollector(sc, fe, cfg.Endpoint, storageDir, log)
			}
		}
		if err != nil {
			if layout != nil {
				_ = layout.stop()
			}
			r.err = err
			return r
		}
	}
	cfgJSON, _ := json.Marshal(cfg)
	var out bytes.Buffer
	start := time.Now()
	back := s.agentos.outage(start, sc.outage)
	var restarted <-chan crashOutcome
	var tierBack <-chan error
	switch {
	case layout != nil && sc.crash.at > 0:
		tierBack = s.killTier(layout, 1, sc.crash, start, log)
	case collector != nil && sc.crash.at > 0:
		restarted = s.crashAndRestart(sc, collector, start, cfg.Endpoint, storageDir, log)
	}
	load, err := startProcess("load generator", s.self, []string{"-role", "load", "-load", string(cfgJSON)},
		os.Environ(), &out, log)
	if err == nil {
		err = r.exited(load.waitUntil(start.Add(sc.deadline + killGrace)))
		if err == nil && r.killed == "" {
			if jerr := json.Unmarshal(out.Bytes(), &r.load); jerr != nil {
				err = fmt.Errorf("load generator report %q: %w", out.String(), jerr)
			}
		}
		r.maxRSS, r.cpu = load.usage()
	}
	if restarted != nil {
		c := <-restarted
		collector, err = c.collector, errors.Join(err, c.err)
	}
	if tierBack != nil {
		err = errors.Join(err, <-tierBack)
	}
	if collector != nil {
		s.awaitDelivery(sc, fe, prefix, start.Add(sc.deadline))
		err = errors.Join(err, r.exited(collector.stop()))
		r.maxRSS, r.cpu = collector.usage()
	}
	if layout != nil {
		// The router was stopped above; the tiers deliver what they hold.
		layout.router = nil
		err = errors.Join(err, r.exited(layout.stop()))
	}
	err = errors.Join(err, <-back)
	// Requests the front end abandoned may still be in a handler.
	time.Sleep(sc.latency + 200*time.Millisecond)
	if err != nil {
		r.err = fmt.Errorf("%w (log: %s)", err, log.Name())
	}

	firstSpan := r.load.Start
	if firstSpan.IsZero() {
		firstSpan = start
	}
	if fe == otlphttpFE {
		got, last := s.sink.counts()
		r.sinkLost = r.spans() - got
		r.delivery = since(firstSpan, last)
		return r
	}
	r.verdict = verify(s.agentos.server.Runs(), s.agentos.server.Stats(), prefix, sc.runs, sc.spans)
	// The front end's log (the load child's or the collector's).
	r.mayExistLogged = countLines(log.Name(), "AgentOS may hold an ")
	r.delivery = since(firstSpan, r.verdict.lastClose)
	return r
}

// since is end-start, or 0 if nothing ended.
func since(start, end time.Time) time.Duration {
	if end.IsZero() {
		return 0
	}
	return end.Sub(start)
}

// exited notes a child killed for not exiting in time, and passes on
// other errors.
func (r *row) exited(err error) error {
	if errors.Is(err, errKilled) {
		r.killed = err.Error()
		return nil
	}
	return err
}

// awaitDelivery waits until the collector has delivered every run (or
// span, to the sink), or until the deadline.
func (s *soak) awaitDelivery(sc scenario, fe frontEnd, prefix [8]byte, deadline time.Time) {
	delivered := func() bool {
		if fe == otlphttpFE {
			got, _ := s.sink.counts()
			return got >= sc.runs*sc.spans
		}
		closed := map[string]bool{}
		for _, run := range s.agentos.server.Runs() {
			if run.Status != localserver.StatusRunning {
				closed[run.ExternalRunID] = true
			}
		}
		for i := range sc.runs {
			if !closed[traceID(prefix, i).String()] {
				return false
			}
		}
		return true
	}
	for !delivered() && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond) // Runs copies every event: not too often
	}
}

// countLines counts the lines of file that contain substr.
func countLines(file, substr string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	n := 0
	for line := range bytes.Lines(b) {
		if bytes.Contains(line, []byte(substr)) {
			n++
		}
	}
	return n
}
