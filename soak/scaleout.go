package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// scaleOut is the scale-out layout of testdata/collector: a router
// (lb.yaml) in front of tiers (agentos-tier.yaml), each tier with a
// storage directory of its own.
type scaleOut struct {
	router *process
	tiers  []*process
	env    [][]string // each tier's, to restart it as it was
}

// routerBin is the routing collector next to otelcol-agentos.
func (s *soak) routerBin() string {
	return filepath.Join(filepath.Dir(filepath.Dir(s.collectorBin)), "otelcol-agentos-lb", "otelcol-agentos-lb")
}

// startScaleOut starts sc.tiers tiers and the router listening for
// OTLP/HTTP on otlpAddr.
func (s *soak) startScaleOut(sc scenario, otlpAddr, storageRoot string, log io.Writer) (*scaleOut, error) {
	l := &scaleOut{}
	var addrs []string
	for i := range sc.tiers {
		grpc, err := freeAddr()
		if err != nil {
			return l, err
		}
		addrs = append(addrs, grpc)
		env := append(os.Environ(), "OTLP_GRPC_ENDPOINT="+grpc, "STORAGE_DIR="+filepath.Join(storageRoot, fmt.Sprint("tier-", i)),
			"AGENTOS_ENDPOINT="+s.agentos.url(), "AGENTOS_API_KEY="+soakAPIKey, "AGENTOS_AGENT_ID="+soakAgentID)
		l.env = append(l.env, env)
		tier, err := s.startTier(i, env, log)
		if err != nil {
			return l, err
		}
		l.tiers = append(l.tiers, tier)
	}
	env := append(os.Environ(), "OTLP_HTTP_ENDPOINT="+otlpAddr, "AGENTOS_TIERS="+strings.Join(addrs, ","))
	router, err := s.startHealthy("router", s.routerBin(), "lb.yaml", env, log)
	l.router = router
	return l, err
}

// startTier starts tier i with env, on a fresh metrics port.
func (s *soak) startTier(i int, env []string, log io.Writer) (*process, error) {
	metrics, err := freePort()
	if err != nil {
		return nil, err
	}
	return s.startHealthy(fmt.Sprint("tier ", i), s.collectorBin, "agentos-tier.yaml", append(env, "METRICS_PORT="+metrics), log)
}

// startHealthy runs bin with a config of testdata/collector and waits for
// its health check.
func (s *soak) startHealthy(name, bin, config string, env []string, log io.Writer) (*process, error) {
	health, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"--config", filepath.Join(s.root, "testdata", "collector", config)}
	p, err := startProcess(name, bin, args, append(env, "HEALTH_ENDPOINT="+health), log, log)
	if err != nil {
		return nil, err
	}
	if err := waitHealthy(p, "http://"+health); err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// killTier kills tier i with SIGKILL at `at` after start, and starts it
// again on the same address and storage `down` later.
func (s *soak) killTier(l *scaleOut, i int, c crash, start time.Time, log io.Writer) <-chan error {
	out := make(chan error, 1)
	go func() {
		defer close(out)
		time.Sleep(time.Until(start.Add(c.at)))
		_ = l.tiers[i].cmd.Process.Kill()
		<-l.tiers[i].done
		fmt.Fprintf(log, "soak: killed tier %d (SIGKILL) at %s\n", i, time.Since(start).Round(time.Millisecond))
		time.Sleep(c.down)
		p, err := s.startTier(i, l.env[i], log)
		fmt.Fprintf(log, "soak: restarted tier %d at %s\n", i, time.Since(start).Round(time.Millisecond))
		if p != nil {
			l.tiers[i] = p
		}
		out <- err
	}()
	return out
}

// stop stops the router first, then the tiers: they hold what it sent.
func (l *scaleOut) stop() error {
	var err error
	if l.router != nil {
		err = l.router.stop()
	}
	for _, t := range l.tiers {
		err = errors.Join(err, t.stop())
	}
	return err
}
