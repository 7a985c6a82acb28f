package agentosexporter

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/agentos-ai/agentos-otel/internal/journal"
)

// ErrStorageExtension means the extension named by storage is missing or
// is not a storage extension.
var ErrStorageExtension = errors.New("agentos exporter: storage")

// storageName tells the exporter's records apart from the sending queue's
// in the same extension.
const storageName = "agentos_journal"

// storageClient gets the exporter's client of the storage extension id.
func storageClient(ctx context.Context, host component.Host, id, self component.ID) (storage.Client, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("%w: extension %q not found; add it under extensions and service::extensions", ErrStorageExtension, id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("%w: extension %q is not a storage extension (such as file_storage)", ErrStorageExtension, id)
	}
	client, err := se.GetClient(ctx, component.KindExporter, self, storageName)
	if err != nil {
		return nil, fmt.Errorf("%w: extension %q: %w", ErrStorageExtension, id, err)
	}
	return client, nil
}

// storageStore is a storage client as the journal's Store: a Write is one
// Batch, which file_storage applies in one transaction.
type storageStore struct{ c storage.Client }

func (s storageStore) Get(ctx context.Context, key string) ([]byte, error) { return s.c.Get(ctx, key) }

func (s storageStore) Write(ctx context.Context, ws []journal.Write) error {
	ops := make([]*storage.Operation, len(ws))
	for i, w := range ws {
		if w.Value == nil {
			ops[i] = storage.DeleteOperation(w.Key)
		} else {
			ops[i] = storage.SetOperation(w.Key, w.Value)
		}
	}
	return s.c.Batch(ctx, ops...)
}
