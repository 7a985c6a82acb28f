package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter"
)

// boltStorage is a storage extension as file_storage is with its defaults:
// one bbolt file per client, no fsync, each Batch one transaction.
type boltStorage struct {
	component.StartFunc
	component.ShutdownFunc
	dir string
	// writes counts the write transactions of its clients.
	writes atomic.Int64
}

var boltBucket = []byte("default")

func (s *boltStorage) GetClient(_ context.Context, _ component.Kind, id component.ID, name string) (storage.Client, error) {
	db, err := bbolt.Open(filepath.Join(s.dir, strings.ReplaceAll("exporter_"+id.String()+"_"+name, "/", "_")), 0o600, &bbolt.Options{
		NoSync: true, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	})
	return &boltClient{db: db, writes: &s.writes}, err
}

type boltClient struct {
	db     *bbolt.DB
	writes *atomic.Int64
}

func (c *boltClient) Get(ctx context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	err := c.Batch(ctx, op)
	return op.Value, err
}

func (c *boltClient) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

func (c *boltClient) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

func (c *boltClient) Batch(_ context.Context, ops ...*storage.Operation) error {
	write := false
	for _, op := range ops {
		write = write || op.Type != storage.Get
	}
	apply := func(tx *bbolt.Tx) error {
		b := tx.Bucket(boltBucket)
		for _, op := range ops {
			var err error
			switch op.Type {
			case storage.Get:
				if v := b.Get([]byte(op.Key)); v != nil {
					op.Value = append([]byte(nil), v...)
				}
			case storage.Set:
				err = b.Put([]byte(op.Key), op.Value)
			case storage.Delete:
				err = b.Delete([]byte(op.Key))
			default:
				err = errors.New("unknown operation")
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	if write {
		c.writes.Add(1)
		return c.db.Update(apply)
	}
	return c.db.View(apply)
}

func (c *boltClient) Close(context.Context) error { return c.db.Close() }

type benchHost map[component.ID]component.Component

func (h benchHost) GetExtensions() map[component.ID]component.Component { return h }

var fileStorageID = component.MustNewID("file_storage")

func agentosConfig(b *testing.B, stored bool) *agentosexporter.Config {
	f := agentosexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*agentosexporter.Config)
	cfg.ClientConfig.Endpoint = agentosSink(b)
	cfg.APIKey = benchKey
	cfg.AgentID = benchAgent
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	if stored {
		cfg.Storage = &fileStorageID
	}
	return cfg
}

// BenchmarkCollectorStorage is BenchmarkCollectorExporter's agentos case
// (512-span batches, 8 spans per run, delivered and closed within the
// timing, with a 100 ms grace period) with the exporter's state kept in a
// file_storage-like bbolt file, next to the same without storage.
func BenchmarkCollectorStorage(b *testing.B) {
	for _, tc := range []struct {
		name   string
		stored bool
	}{{"peer=agentos", false}, {"ours=agentos+storage", true}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			f := agentosexporter.NewFactory()
			cfg := agentosConfig(b, tc.stored)
			// Every run is closed before Shutdown, which with storage
			// leaves open runs for the next start: both do the same work.
			var closed atomic.Int64
			cfg.ClientConfig.Endpoint = slowAgentosSink(b, 0, &closed)
			cfg.Timing.GracePeriod = 100 * time.Millisecond
			exp, err := f.CreateTraces(ctx, exportertest.NewNopSettings(f.Type()), cfg)
			if err != nil {
				b.Fatal(err)
			}
			store := &boltStorage{dir: b.TempDir()}
			if err := exp.Start(ctx, benchHost{fileStorageID: store}); err != nil {
				b.Fatal(err)
			}
			td := genAITraces(0)
			c := startCost()
			spans := 0
			for i := 0; b.Loop(); i++ {
				renumber(td, uint64(i))
				if err := exp.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
				spans += batchSize
			}
			for closed.Load()*8 < int64(spans) {
				time.Sleep(time.Millisecond)
			}
			if err := exp.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			c.reportWall(b, spans)
			// Transactions are what storage costs most: each rewrites pages.
			b.ReportMetric(float64(store.writes.Load())*8/float64(spans), "tx/run")
		})
	}
}

// BenchmarkStoredBytesPerOpenRun reports what an open run (its 7 children
// held, its root not arrived) costs on disk: the journal's records and
// the bbolt file's growth.
func BenchmarkStoredBytesPerOpenRun(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	f := agentosexporter.NewFactory()
	exp, err := f.CreateTraces(ctx, exportertest.NewNopSettings(f.Type()), agentosConfig(b, true))
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(ctx, benchHost{fileStorageID: &boltStorage{dir: dir}}); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = exp.Shutdown(ctx) }()
	before := dirSize(b, dir)
	runs := 0
	for i := 0; b.Loop(); i++ {
		td := withoutRoots(genAITraces(uint64(i)))
		if err := exp.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
		runs += batchSize / 8
	}
	b.ReportMetric(float64(dirSize(b, dir)-before)/float64(runs), "file-B/open-run")
}

// withoutRoots drops the run roots, so every run stays open.
func withoutRoots(td ptrace.Traces) ptrace.Traces {
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool {
		return s.ParentSpanID().IsEmpty()
	})
	return td
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			b.Fatal(err)
		}
		n += info.Size()
	}
	return n
}
