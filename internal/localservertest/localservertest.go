// Package localservertest serves the strict local AgentOS server to tests:
// on loopback, with the given agents, until the test ends. Both front ends'
// tests use it, so they meet the same server the same way.
package localservertest

import (
	"net/http/httptest"
	"testing"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// Agent is an agent id and the key the server accepts for it.
type Agent struct{ ID, Key string }

// Start serves a new server made with opts, with agents registered, and
// returns it with its base URL. It stops when the test ends.
func Start(tb testing.TB, opts localserver.Options, agents ...Agent) (*localserver.Server, string) {
	tb.Helper()
	srv := localserver.New(opts)
	for _, a := range agents {
		srv.RegisterAgent(a.ID, a.Key)
	}
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	return srv, hs.URL
}
