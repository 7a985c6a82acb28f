package localserver

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// The file's layout. Runs are keyed by the order they were added in, so a
// cursor lists them in run/start order; each run's events sit in a bucket
// of their own, keyed by sequence number, so appending never rewrites the
// run. Values are gob: unlike encoding/json it keeps raw JSON payloads
// byte for byte.
var (
	bucketMeta   = []byte("meta")   // "format" -> boltFormat
	bucketRuns   = []byte("runs")   // order key -> boltRun
	bucketIDs    = []byte("ids")    // run id -> order key
	bucketEvents = []byte("events") // order key -> bucket of sequence number -> RecordedEvent
	keyFormat    = []byte("format")
)

const boltFormat = "agentos-localserver/1"

// ErrStoreInUse is returned by OpenBoltStore when another process has the
// file open.
var ErrStoreInUse = errors.New("localserver: the database file is in use by another process")

// boltRun is a run as stored: everything but its events, which are in
// their own bucket, and what a summary needs to know of them.
type boltRun struct {
	Run                       Run // Events always nil
	EventCount                int
	FirstEventAt, LastEventAt time.Time
}

// BoltStore keeps runs in a bbolt database file, so they outlive the
// process. It is safe for concurrent use; one process at a time may have
// the file open.
type BoltStore struct {
	db *bolt.DB
}

// ErrDamaged is returned by OpenBoltStore for a file that is not a
// database this server wrote, or no longer a consistent one (truncated,
// overwritten in part).
var ErrDamaged = errors.New("the database file is damaged or not a database")

// OpenBoltStore opens the database at path, creating it if needed. It
// checks the whole file first: bbolt trusts its pages, so a damaged one
// would otherwise crash the process at the first read that meets it.
func OpenBoltStore(path string) (store *BoltStore, err error) {
	// A truncated file is mapped past its end: reading there faults, which
	// this turns into a panic that the recover below reports.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var db *bolt.DB
	defer func() {
		if p := recover(); p != nil {
			// db, if any, is left open: its state is unknown, and the
			// caller is about to give up anyway.
			store, err = nil, fmt.Errorf("%s: %w (%v)", path, ErrDamaged, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("%s: %w", path, ErrStoreInUse)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("%s: %w (%v)", path, ErrDamaged, err)
	case err != nil:
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := check(db, path); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: %w (%v)", path, ErrDamaged, err)
	}
	if err := db.Update(initBuckets); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &BoltStore{db: db}, nil
}

// check reports the first inconsistency of the file, if any.
func check(db *bolt.DB, path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return db.View(func(tx *bolt.Tx) error {
		// Pages past the end of the file would fault when read.
		if tx.Size() > info.Size() {
			return fmt.Errorf("the file has %d bytes, its pages need %d", info.Size(), tx.Size())
		}
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
		}
		return first
	})
}

func initBuckets(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	switch f := meta.Get(keyFormat); {
	case f == nil:
		if err := meta.Put(keyFormat, []byte(boltFormat)); err != nil {
			return err
		}
	case string(f) != boltFormat:
		return fmt.Errorf("unknown database format %q, want %q", f, boltFormat)
	}
	for _, name := range [][]byte{bucketRuns, bucketIDs, bucketEvents} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func decode(b []byte, v any) error { return gob.NewDecoder(bytes.NewReader(b)).Decode(v) }

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// Add records a new run.
func (b *BoltStore) Add(run Run) error {
	run.Events = nil
	value, err := encode(boltRun{Run: run})
	if err != nil {
		return err
	}
	return b.db.Update(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		n, err := runs.NextSequence()
		if err != nil {
			return err
		}
		key := seqKey(n)
		if err := runs.Put(key, value); err != nil {
			return err
		}
		if _, err := tx.Bucket(bucketEvents).CreateBucket(key); err != nil {
			return err
		}
		return tx.Bucket(bucketIDs).Put([]byte(run.ID), key)
	})
}

// load reads the stored run with id; key is nil if there is none.
func load(tx *bolt.Tx, id string) (key []byte, r boltRun, err error) {
	key = tx.Bucket(bucketIDs).Get([]byte(id))
	if key == nil {
		return nil, r, nil
	}
	err = decode(tx.Bucket(bucketRuns).Get(key), &r)
	return key, r, err
}

func (r *boltRun) summary() RunSummary {
	s := summarize(&r.Run)
	s.EventCount, s.FirstEventAt, s.LastEventAt = r.EventCount, r.FirstEventAt, r.LastEventAt
	return s
}

// Summary returns the run with id without its events.
func (b *BoltStore) Summary(id string) (s RunSummary, ok bool, err error) {
	err = b.db.View(func(tx *bolt.Tx) error {
		key, r, err := load(tx, id)
		if key == nil || err != nil {
			return err
		}
		s, ok = r.summary(), true
		return nil
	})
	return s, ok, err
}

// AppendEvents adds events at the end of the run's timeline.
func (b *BoltStore) AppendEvents(id string, events []RecordedEvent) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		key, r, err := load(tx, id)
		if err != nil {
			return err
		}
		if key == nil {
			return ErrUnknownRun
		}
		bucket := tx.Bucket(bucketEvents).Bucket(key)
		for _, e := range events {
			value, err := encode(e)
			if err != nil {
				return err
			}
			if err := bucket.Put(seqKey(uint64(e.SequenceNumber)), value); err != nil {
				return err
			}
		}
		s := r.summary()
		s.widen(events)
		r.EventCount, r.FirstEventAt, r.LastEventAt = s.EventCount, s.FirstEventAt, s.LastEventAt
		return put(tx, key, r)
	})
}

func put(tx *bolt.Tx, key []byte, r boltRun) error {
	value, err := encode(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketRuns).Put(key, value)
}

// Update changes the fields of the run other than Events.
func (b *BoltStore) Update(id string, change func(*Run)) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		key, r, err := load(tx, id)
		if err != nil {
			return err
		}
		if key == nil {
			return ErrUnknownRun
		}
		change(&r.Run)
		r.Run.Events = nil
		return put(tx, key, r)
	})
}

// Run returns the run with id, events included.
func (b *BoltStore) Run(id string) (run Run, ok bool, err error) {
	err = b.db.View(func(tx *bolt.Tx) error {
		key, r, err := load(tx, id)
		if key == nil || err != nil {
			return err
		}
		run, ok = r.Run, true
		run.Events, err = loadEvents(tx, key, r.EventCount)
		return err
	})
	return run.normalized(), ok, err
}

func loadEvents(tx *bolt.Tx, key []byte, count int) ([]RecordedEvent, error) {
	events := make([]RecordedEvent, 0, count)
	err := tx.Bucket(bucketEvents).Bucket(key).ForEach(func(_, v []byte) error {
		var e RecordedEvent
		if err := decode(v, &e); err != nil {
			return err
		}
		events = append(events, e)
		return nil
	})
	return events, err
}

// normalized gives a decoded run the shape of a run kept in memory: gob
// drops empty slices.
func (r Run) normalized() Run {
	if r.Events == nil {
		r.Events = []RecordedEvent{}
	}
	if r.Tasks == nil {
		r.Tasks = []agentosapi.Task{}
	}
	return r
}

// Runs returns every run, events included, in the order they were added.
func (b *BoltStore) Runs() ([]Run, error) {
	out := []Run{}
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRuns).ForEach(func(key, v []byte) error {
			var r boltRun
			if err := decode(v, &r); err != nil {
				return err
			}
			events, err := loadEvents(tx, key, r.EventCount)
			r.Run.Events = events
			out = append(out, r.Run.normalized())
			return err
		})
	})
	return out, err
}

// Summaries returns every run without its events, in the order they were
// added.
func (b *BoltStore) Summaries() ([]RunSummary, error) {
	out := []RunSummary{}
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRuns).ForEach(func(_, v []byte) error {
			var r boltRun
			if err := decode(v, &r); err != nil {
				return err
			}
			out = append(out, r.summary())
			return nil
		})
	})
	return out, err
}

// Reset forgets every run.
func (b *BoltStore) Reset() error {
	return b.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketRuns, bucketIDs, bucketEvents} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return initBuckets(tx)
	})
}

// Close closes the database file.
func (b *BoltStore) Close() error { return b.db.Close() }
