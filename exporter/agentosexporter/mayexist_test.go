package agentosexporter

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// TestEveryRunThatMayExistIsLogged: AgentOS applies every run/start but
// answers after the client's timeout, so each run may exist without the
// exporter knowing its id. Through the Collector's default log sampling
// (10 lines a second of one message, then every 100th), each such run
// still gets its own line naming its external_run_id.
func TestEveryRunThatMayExistIsLogged(t *testing.T) {
	const runs = 40
	_, o, _ := slowStarts(t, runs, 300*time.Millisecond, 40*time.Millisecond)

	named := map[string]bool{}
	for _, e := range o.logs.FilterLevelExact(zapcore.ErrorLevel).All() {
		if strings.HasPrefix(e.Message, "AgentOS may hold an open run with external_run_id ") {
			id, _ := e.ContextMap()["external_run_id"].(string)
			require.Contains(t, e.Message, id)
			named[id] = true
		}
	}
	assert.Len(t, named, runs, "every run that may exist is named on a line of its own")
	assert.Equal(t, int64(runs), o.counter(t, "agentos.requests.failed"), "each run/start failed once")
}

// TestEveryRunMaybeDuplicatedIsLogged: AgentOS answers run/start after the
// first attempt's timeout but within the second's (it doubles), so each run
// is started twice and AgentOS keeps the first open. Each is named on a
// line of its own, through the Collector's log sampling.
func TestEveryRunMaybeDuplicatedIsLogged(t *testing.T) {
	// The first attempt times out for sure; the second has 180 ms to spare,
	// for a loaded machine.
	srv, o, err := slowStarts(t, 40, 220*time.Millisecond, 200*time.Millisecond)
	require.NoError(t, err)

	named := map[string]bool{}
	for _, e := range o.logs.FilterLevelExact(zapcore.WarnLevel).All() {
		if strings.HasPrefix(e.Message, "AgentOS may hold an earlier open run with external_run_id ") {
			id, _ := e.ContextMap()["external_run_id"].(string)
			require.Contains(t, e.Message, id)
			named[id] = true
		}
	}
	twice := 0
	for _, n := range countByExternal(srv) {
		if n > 1 {
			twice++
		}
	}
	assert.Positive(t, twice, "no run was started twice: the test proves less than it says")
	assert.Len(t, named, twice, "every run started twice is named on a line of its own")
}

func countByExternal(srv *localserver.Server) map[string]int {
	n := map[string]int{}
	for _, r := range srv.Runs() {
		n[r.ExternalRunID]++
	}
	return n
}

// slowStarts sends runs through the exporter, logging through the
// Collector's default sampling (10 lines a second of one message, then
// every 100th), to a server that applies each request and answers after
// delay, with a client timeout of timeout. It returns what Shutdown did.
func slowStarts(t *testing.T, runs int, delay, timeout time.Duration) (*localserver.Server, observed, error) {
	t.Helper()
	srv, url := newLocalServer(t)
	srv.SetFaults(localserver.Faults{ResponseDelay: delay})
	o := newObserved(t)
	set := o.settings()
	set.Logger = zap.New(zapcore.NewSamplerWithOptions(o.core, time.Second, 10, 100))
	cfg := testConfig(url)
	cfg.ClientConfig.Timeout = timeout
	batches := make([]ptrace.Traces, runs)
	for i := range batches {
		batches[i] = oneRun(byte(i + 1))
	}
	return srv, o, runExporterErr(t, cfg, set, batches...)
}
