package localserver

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// filledDB writes a database with enough runs and events to span many
// pages, and returns its path and page size.
func filledDB(t *testing.T) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runs.db")
	store, err := OpenBoltStore(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		run := Run{ID: newUUID(), AgentID: agentA, TriggerType: "sdk", Status: StatusRunning,
			Input: []byte(fmt.Sprintf(`{"q":%q}`, strings.Repeat("x", 300))), StartedAt: time.Now()}
		if err := store.Add(run); err != nil {
			t.Fatal(err)
		}
		var events []RecordedEvent
		for j := range 20 {
			events = append(events, RecordedEvent{Event: agentosapi.Event{Type: "step.started", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i*j))}, SequenceNumber: int64(j + 1)})
		}
		if err := store.AppendEvents(run.ID, events); err != nil {
			t.Fatal(err)
		}
	}
	pageSize := store.db.Info().PageSize
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return path, pageSize
}

// TestBoltStoreRefusesDamagedFiles damages a database in the ways a disk,
// a copy or a crash does: every one is refused at open with ErrDamaged,
// and none panics or faults.
func TestBoltStoreRefusesDamagedFiles(t *testing.T) {
	path, pageSize := filledDB(t)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(good) < 40*pageSize {
		t.Fatalf("the database has %d bytes: too small to damage meaningfully", len(good))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	randomPages := func(n int) []byte {
		b := append([]byte(nil), good...)
		// Pages 0 and 1 are the meta pages, checksummed: damage the rest.
		for range n {
			p := 2 + rng.IntN(len(b)/pageSize-2)
			for i := p * pageSize; i < (p+1)*pageSize; i++ {
				b[i] = byte(rng.Uint32())
			}
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"truncated to half", good[:len(good)/2]},
		{"truncated to a few pages", good[:4*pageSize]},
		{"random pages", randomPages(8)},
		{"all but the meta pages random", func() []byte {
			b := append([]byte(nil), good...)
			for i := 2 * pageSize; i < len(b); i++ {
				b[i] = byte(rng.Uint32())
			}
			return b
		}()},
		{"random bytes", func() []byte {
			b := make([]byte, 16*pageSize)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}()},
		{"meta pages zeroed", append(make([]byte, 2*pageSize), good[2*pageSize:]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			damaged := filepath.Join(t.TempDir(), "damaged.db")
			if err := os.WriteFile(damaged, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			store, err := OpenBoltStore(damaged)
			if err == nil {
				_ = store.Close()
				t.Fatal("a damaged file was opened")
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), damaged) {
				t.Errorf("error %q: want ErrDamaged naming the file", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}

	// The undamaged copy opens, with its runs.
	store := openBolt(t, path)
	if runs, err := store.Runs(); err != nil || len(runs) != 200 {
		t.Errorf("the intact file: %d runs, %v", len(runs), err)
	}
}
