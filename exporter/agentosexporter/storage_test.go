package agentosexporter

import (
	"context"
	"maps"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// memStorage is a storage extension in memory whose contents outlive the
// exporters that use it, as a file would.
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu sync.Mutex
	m  map[string][]byte
}

func newMemStorage() *memStorage { return &memStorage{m: map[string][]byte{}} }

func (s *memStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return memClient{s}, nil
}

// snapshot is what a kill -9 leaves on disk.
func (s *memStorage) snapshot() *memStorage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &memStorage{m: maps.Clone(s.m)}
}

func (s *memStorage) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

type memClient struct{ s *memStorage }

func (c memClient) Get(_ context.Context, key string) ([]byte, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.m[key], nil
}

func (c memClient) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

func (c memClient) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

func (c memClient) Batch(_ context.Context, ops ...*storage.Operation) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = c.s.m[op.Key]
		case storage.Set:
			c.s.m[op.Key] = append([]byte(nil), op.Value...)
		case storage.Delete:
			delete(c.s.m, op.Key)
		}
	}
	return nil
}

func (memClient) Close(context.Context) error { return nil }

type host map[component.ID]component.Component

func (h host) GetExtensions() map[component.ID]component.Component { return h }

var storageID = component.MustNewID("file_storage")

func TestStorageConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"storage": "file_storage/agentos"}).Unmarshal(cfg))
	require.NotNil(t, cfg.Storage)
	assert.Equal(t, component.MustNewIDWithName("file_storage", "agentos"), *cfg.Storage)

	_, url := newLocalServer(t)
	for _, tc := range []struct {
		name string
		host host
		want string
	}{
		{"missing", host{}, `extension "file_storage" not found`},
		{"not storage", host{storageID: struct {
			component.StartFunc
			component.ShutdownFunc
		}{}}, `extension "file_storage" is not a storage extension`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(url)
			cfg.Storage = &storageID
			exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(NewFactory().Type()), cfg)
			require.NoError(t, err)
			err = exp.Start(context.Background(), tc.host)
			require.ErrorIs(t, err, ErrStorageExtension)
			assert.Contains(t, err.Error(), tc.want)
			require.NoError(t, exp.Shutdown(context.Background()))
		})
	}
}

// The exporter dies (as after kill -9) while AgentOS hangs; the next one,
// on what storage kept, delivers the run.
func TestStorageKeepsARunAcrossACrash(t *testing.T) {
	ctx := context.Background()
	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(testAgent, testKey)
	release := srv.Hang()
	hs1 := httptest.NewServer(srv)
	disk := newMemStorage()

	cfg := testConfig(hs1.URL)
	cfg.Storage = &storageID
	exp1, err := NewFactory().CreateTraces(ctx, exportertest.NewNopSettings(NewFactory().Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp1.Start(ctx, host{storageID: disk}))
	require.NoError(t, exp1.ConsumeTraces(ctx, oneRun(1)))
	require.Eventually(t, func() bool { return srv.Stats().Requests["/api/ingest/v1/run/start"] > 0 },
		10*time.Second, 5*time.Millisecond)
	crashed := disk.snapshot()
	hs1.CloseClientConnections()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_ = exp1.Shutdown(short)
	cancel()
	hs1.Close()
	release()
	require.Empty(t, srv.Runs())

	hs2 := httptest.NewServer(srv)
	defer hs2.Close()
	cfg2 := testConfig(hs2.URL)
	cfg2.Storage = &storageID
	exp2, err := NewFactory().CreateTraces(ctx, exportertest.NewNopSettings(NewFactory().Type()), cfg2)
	require.NoError(t, err)
	require.NoError(t, exp2.Start(ctx, host{storageID: crashed}))
	require.Eventually(t, func() bool {
		runs := srv.Runs()
		return len(runs) == 1 && runs[0].Status == localserver.StatusCompleted
	}, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, exp2.Shutdown(ctx))
	runs := srv.Runs()
	require.Len(t, runs, 1)
	assert.NotEmpty(t, runs[0].Events)
	assert.Equal(t, 1, crashed.len(), "every record but the header deleted once the run closed")
}
