package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

const (
	soakAgentID = "5f0c6a3e-2b7d-4c1a-9e8f-0a1b2c3d4e5f"
	soakAPIKey  = "aos_agent_soak"
)

// agentOS is the local server on a fixed loopback address, which an outage
// takes down and brings back.
type agentOS struct {
	server *localserver.Server
	addr   string

	mu sync.Mutex
	ln *localserver.Listener
}

func startAgentOS() (*agentOS, error) {
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(soakAgentID, soakAPIKey)
	ln, err := localserver.Listen("127.0.0.1:0", srv)
	if err != nil {
		return nil, fmt.Errorf("starting the local AgentOS: %w", err)
	}
	return &agentOS{server: srv, ln: ln, addr: strings.TrimPrefix(ln.URL(), "http://")}, nil
}

func (a *agentOS) url() string { return "http://" + a.addr }

// down stops listening and drops every connection, requests in flight
// included: clients get connection refused until up.
func (a *agentOS) down() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Close waits for nothing
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = a.ln.Close(ctx) // reports the cut requests, which is the point
}

// up listens again on the same address.
func (a *agentOS) up() error {
	var err error
	for range 50 { // the port may take a moment to be free again
		var ln *localserver.Listener
		if ln, err = localserver.Listen(a.addr, a.server); err == nil {
			a.mu.Lock()
			a.ln = ln
			a.mu.Unlock()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("listening again on %s after the outage: %w", a.addr, err)
}

// outage runs o from start in the background; the channel yields once
// AgentOS is back (nil at once without an outage).
func (a *agentOS) outage(start time.Time, o outage) <-chan error {
	done := make(chan error, 1)
	if o.lasts <= 0 {
		done <- nil
		return done
	}
	go func() {
		time.Sleep(time.Until(start.Add(o.at)))
		a.down()
		time.Sleep(o.lasts)
		done <- a.up()
	}()
	return done
}

func (a *agentOS) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = a.ln.Close(ctx)
}
