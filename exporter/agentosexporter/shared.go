package agentosexporter

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
)

// One exporter instance per configuration serves both the traces and the
// logs pipelines that name it, so that log records meet their spans and
// the run tracker is one (as contrib's components share one instance per
// config through sharedcomponent, which is internal to the Collector).
var shared = struct {
	sync.Mutex
	m map[*Config]*sharedExporter
}{m: map[*Config]*sharedExporter{}}

// sharedExporter starts its exporter on the first Start and shuts it down
// on the first Shutdown, after which the config may make a new one.
type sharedExporter struct {
	*tracesExporter
	startOnce, stopOnce sync.Once
	startErr, stopErr   error
}

func sharedFor(cfg *Config, set exporter.Settings) *sharedExporter {
	shared.Lock()
	defer shared.Unlock()
	if s, ok := shared.m[cfg]; ok {
		return s
	}
	s := &sharedExporter{tracesExporter: newTracesExporter(cfg, set)}
	shared.m[cfg] = s
	return s
}

func (s *sharedExporter) start(ctx context.Context, host component.Host) error {
	s.startOnce.Do(func() { s.startErr = s.tracesExporter.start(ctx, host) })
	return s.startErr
}

func (s *sharedExporter) shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		shared.Lock()
		delete(shared.m, s.cfg)
		shared.Unlock()
		s.stopErr = s.tracesExporter.shutdown(ctx)
	})
	return s.stopErr
}
