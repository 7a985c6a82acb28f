package agentosexporter

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestDefaultQueueKeepsBatchOrder hands 200 batches to the exporterhelper
// wrapping of the default config, with a consume that is sometimes slow and
// sometimes refuses a batch (as at the memory bound): the tracker must see
// them in the order the receivers took them, or a root overtakes its
// children and they arrive after its run closed.
func TestDefaultQueueKeepsBatchOrder(t *testing.T) {
	ctx := context.Background()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.RetryConfig.InitialInterval = time.Millisecond
	cfg.RetryConfig.MaxInterval = time.Millisecond

	var mu sync.Mutex
	var got []int64
	refused := map[int64]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	consume := func(_ context.Context, td ptrace.Traces) error {
		n := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).StartTimestamp().AsTime().UnixNano()
		mu.Lock()
		slow, refuse := rng.IntN(4) == 0, rng.IntN(8) == 0 && !refused[n]
		if refuse {
			refused[n] = true
		}
		mu.Unlock()
		if slow {
			time.Sleep(2 * time.Millisecond)
		}
		if refuse {
			return errors.New("agentos: buffer full")
		}
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
		return nil
	}
	exp, err := newTraces(ctx, exportertest.NewNopSettings(NewFactory().Type()), cfg, consume)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	const batches = 200
	for i := range int64(batches) {
		td := ptrace.NewTraces()
		s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetStartTimestamp(pcommon.Timestamp(i + 1))
		require.NoError(t, exp.ConsumeTraces(ctx, td))
	}
	// exporterhelper's Shutdown drops a batch that is waiting for a retry.
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == batches
	}, 10*time.Second, time.Millisecond)
	require.NoError(t, exp.Shutdown(ctx))

	for i, n := range got {
		require.Equal(t, int64(i+1), n, "batch %d reached consume out of order", i)
	}
	require.NotEmpty(t, refused, "no batch was refused: the test proves less than it says")
}
