package localserver

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// The file's layout. Runs are keyed by the order they were added in, so a
// cursor lists them in run/start order. A run's summary and search text
// sit apart from the run, as do its tasks, and its events in a bucket of
// their own keyed by sequence number, so that appending events or putting
// a task rewrites neither the run nor its input, and a listing reads
// summaries only. Runs are gob and events
// appendEvent's encoding: unlike encoding/json both keep raw JSON payloads
// byte for byte.
var (
	bucketMeta      = []byte("meta")      // "format" -> boltFormat
	bucketRuns      = []byte("runs")      // order key -> Run without events
	bucketIDs       = []byte("ids")       // run id -> order key
	bucketEvents    = []byte("events")    // order key -> bucket of sequence number -> appendEvent
	bucketSummaries = []byte("summaries") // order key -> RunSummary as JSON
	bucketText      = []byte("text")      // order key -> searchText
	bucketTasks     = []byte("tasks")     // order key -> the run's Tasks, gob
	keyFormat       = []byte("format")
)

var allBuckets = [][]byte{bucketRuns, bucketIDs, bucketEvents, bucketSummaries, bucketText, bucketTasks}

const (
	boltFormat = "agentos-localserver/2"
	// boltFormat1 kept a run with what a summary needs of its events in
	// the runs bucket, rewritten at every append; it is converted at open.
	boltFormat1 = "agentos-localserver/1"
)

// ErrStoreInUse is returned by OpenBoltStore when another process has the
// file open.
var ErrStoreInUse = errors.New("localserver: the database file is in use by another process")

// boltRun is a run as format 1 stored it.
type boltRun struct {
	Run                       Run // Events always nil
	EventCount                int
	FirstEventAt, LastEventAt time.Time
}

// BoltStore keeps runs in a bbolt database file, so they outlive the
// process. It is safe for concurrent use; one process at a time may have
// the file open. It holds every run's summary in memory too (a few
// hundred bytes a run), so that listings never touch the file but for a
// search: the list page of 10,000 runs is served in about 6 ms
// (BenchmarkListPage in cmd/agentos-localserver), where decoding every run
// took 0.8 s.
type BoltStore struct {
	db      *bolt.DB
	version atomic.Uint64

	mu      sync.RWMutex // guards the index; taken after a transaction commits
	index   []RunSummary // in the order added
	keys    [][]byte     // order key of index[i]
	indexOf map[string]int
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
	b := &BoltStore{db: db}
	if err := db.View(b.loadIndex); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: %w (%v)", path, ErrDamaged, err)
	}
	return b, nil
}

// loadIndex reads every summary.
func (b *BoltStore) loadIndex(tx *bolt.Tx) error {
	b.index, b.keys, b.indexOf = nil, nil, map[string]int{}
	return tx.Bucket(bucketSummaries).ForEach(func(k, v []byte) error {
		var s RunSummary
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("run %x: %w", k, err)
		}
		b.indexOf[s.ID] = len(b.index)
		b.index = append(b.index, s)
		b.keys = append(b.keys, bytes.Clone(k))
		return nil
	})
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
	format := string(meta.Get(keyFormat))
	switch format {
	case "", boltFormat, boltFormat1:
	default:
		return fmt.Errorf("unknown database format %q, want %q", format, boltFormat)
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	if format == boltFormat1 {
		if err := convertFormat1(tx); err != nil {
			return fmt.Errorf("converting from %s: %w", boltFormat1, err)
		}
	}
	if format != boltFormat {
		return meta.Put(keyFormat, []byte(boltFormat))
	}
	return nil
}

// convertFormat1 splits each run of a format 1 file into the run, its
// summary and its search text.
func convertFormat1(tx *bolt.Tx) error {
	runs := tx.Bucket(bucketRuns)
	type converted struct {
		key []byte
		run Run
	}
	var all []converted
	err := runs.ForEach(func(k, v []byte) error {
		var r boltRun
		if err := decode(v, &r); err != nil {
			return err
		}
		all = append(all, converted{bytes.Clone(k), r.Run})
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range all {
		s := summarize(&c.run)
		events, err := convertEvents(tx.Bucket(bucketEvents).Bucket(c.key))
		if err != nil {
			return err
		}
		s.widen(events)
		if err := putRun(tx, c.key, &c.run); err != nil {
			return err
		}
		if err := putTasks(tx, c.key, c.run.Tasks); err != nil {
			return err
		}
		if err := putSummary(tx, c.key, &s); err != nil {
			return err
		}
		if err := tx.Bucket(bucketText).Put(c.key, []byte(searchText(&c.run))); err != nil {
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

// convertEvents rewrites the gob events of bucket in the format of
// appendEvent, and returns them.
func convertEvents(bucket *bolt.Bucket) ([]RecordedEvent, error) {
	if bucket == nil {
		return nil, errors.New("a run has no events bucket")
	}
	var events []RecordedEvent
	err := bucket.ForEach(func(_, v []byte) error {
		var e RecordedEvent
		if err := decode(v, &e); err != nil {
			return err
		}
		events = append(events, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range events {
		value, err := appendEvent(nil, &events[i])
		if err != nil {
			return nil, err
		}
		if err := bucket.Put(seqKey(uint64(events[i].SequenceNumber)), value); err != nil {
			return nil, err
		}
	}
	return events, nil
}

// putRun writes the run without its events and tasks.
func putRun(tx *bolt.Tx, key []byte, r *Run) error {
	head := *r
	head.Events, head.Tasks = nil, nil
	value, err := encode(head)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketRuns).Put(key, value)
}

func putTasks(tx *bolt.Tx, key []byte, tasks []agentosapi.Task) error {
	if len(tasks) == 0 {
		return tx.Bucket(bucketTasks).Delete(key)
	}
	value, err := encode(tasks)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketTasks).Put(key, value)
}

// loadRun reads the run at key without its events.
func loadRun(tx *bolt.Tx, key []byte, r *Run) error {
	if err := decode(tx.Bucket(bucketRuns).Get(key), r); err != nil {
		return err
	}
	if v := tx.Bucket(bucketTasks).Get(key); v != nil {
		return decode(v, &r.Tasks)
	}
	return nil
}

func putSummary(tx *bolt.Tx, key []byte, s *RunSummary) error {
	value, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketSummaries).Put(key, value)
}

// Add records a new run.
func (b *BoltStore) Add(run Run) error {
	s := summarize(&run)
	var key []byte
	err := b.db.Update(func(tx *bolt.Tx) error {
		n, err := tx.Bucket(bucketRuns).NextSequence()
		if err != nil {
			return err
		}
		key = seqKey(n)
		if err := putRun(tx, key, &run); err != nil {
			return err
		}
		if err := putSummary(tx, key, &s); err != nil {
			return err
		}
		if err := tx.Bucket(bucketText).Put(key, []byte(searchText(&run))); err != nil {
			return err
		}
		if _, err := tx.Bucket(bucketEvents).CreateBucket(key); err != nil {
			return err
		}
		return tx.Bucket(bucketIDs).Put([]byte(run.ID), key)
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.indexOf[run.ID] = len(b.index)
	b.index = append(b.index, s)
	b.keys = append(b.keys, key)
	b.mu.Unlock()
	b.version.Add(1)
	return nil
}

// summary returns the summary of the run with id and its order key; key
// is nil if there is no such run.
func (b *BoltStore) summary(id string) (s RunSummary, key []byte) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	i, ok := b.indexOf[id]
	if !ok {
		return RunSummary{}, nil
	}
	return b.index[i], b.keys[i]
}

// setSummary replaces the summary of a run in the index, once written.
func (b *BoltStore) setSummary(s RunSummary) {
	b.mu.Lock()
	if i, ok := b.indexOf[s.ID]; ok {
		b.index[i] = s
	}
	b.mu.Unlock()
	b.version.Add(1)
}

// Summary returns the run with id without its events.
func (b *BoltStore) Summary(id string) (RunSummary, bool, error) {
	s, key := b.summary(id)
	return s, key != nil, nil
}

// AppendEvents adds events at the end of the run's timeline. It writes
// the events and the run's summary, not the run.
func (b *BoltStore) AppendEvents(id string, events []RecordedEvent) error {
	s, key := b.summary(id)
	if key == nil {
		return ErrUnknownRun
	}
	s.widen(events)
	err := b.db.Update(func(tx *bolt.Tx) error {
		bucket := tx.Bucket(bucketEvents).Bucket(key)
		if bucket == nil {
			return fmt.Errorf("run %s has no events bucket", id)
		}
		for i := range events {
			value, err := appendEvent(nil, &events[i])
			if err != nil {
				return err
			}
			if err := bucket.Put(seqKey(uint64(events[i].SequenceNumber)), value); err != nil {
				return err
			}
		}
		return putSummary(tx, key, &s)
	})
	if err != nil {
		return err
	}
	b.setSummary(s)
	return nil
}

// Update changes the fields of the run other than Events.
func (b *BoltStore) Update(id string, change func(*Run)) error {
	s, key := b.summary(id)
	if key == nil {
		return ErrUnknownRun
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		var r Run
		if err := loadRun(tx, key, &r); err != nil {
			return err
		}
		change(&r)
		s.refresh(&r)
		if err := putRun(tx, key, &r); err != nil {
			return err
		}
		if err := putTasks(tx, key, r.Tasks); err != nil {
			return err
		}
		if err := tx.Bucket(bucketText).Put(key, []byte(searchText(&r))); err != nil {
			return err
		}
		return putSummary(tx, key, &s)
	})
	if err != nil {
		return err
	}
	b.setSummary(s)
	return nil
}

// PutTask records task in the run's tasks, which are kept apart from the
// run: the run and its input are not rewritten.
func (b *BoltStore) PutTask(id string, task agentosapi.Task) error {
	_, key := b.summary(id)
	if key == nil {
		return ErrUnknownRun
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		var tasks []agentosapi.Task
		if v := tx.Bucket(bucketTasks).Get(key); v != nil {
			if err := decode(v, &tasks); err != nil {
				return err
			}
		}
		return putTasks(tx, key, putTask(tasks, task))
	})
	if err != nil {
		return err
	}
	b.version.Add(1)
	return nil
}

// Head returns the run with id without its events.
func (b *BoltStore) Head(id string) (run Run, ok bool, err error) {
	_, key := b.summary(id)
	if key == nil {
		return Run{}, false, nil
	}
	err = b.db.View(func(tx *bolt.Tx) error { return loadRun(tx, key, &run) })
	run.Events = nil
	return run.normalized(), err == nil, err
}

// Run returns the run with id, events included.
func (b *BoltStore) Run(id string) (run Run, ok bool, err error) {
	_, key := b.summary(id)
	if key == nil {
		return Run{}, false, nil
	}
	err = b.db.View(func(tx *bolt.Tx) error {
		if err := loadRun(tx, key, &run); err != nil {
			return err
		}
		run.Events, err = loadEvents(tx, key, 0, -1)
		return err
	})
	return run.normalized(), err == nil, err
}

// Events returns up to limit events of the run with id, from sequence
// number from on.
func (b *BoltStore) Events(id string, from int64, limit int) (events []RecordedEvent, err error) {
	_, key := b.summary(id)
	if key == nil {
		return nil, ErrUnknownRun
	}
	err = b.db.View(func(tx *bolt.Tx) error {
		events, err = loadEvents(tx, key, max(from, 0), limit)
		return err
	})
	return events, err
}

// loadEvents reads up to limit (all if negative) events of the run at key
// from sequence number from on.
func loadEvents(tx *bolt.Tx, key []byte, from int64, limit int) ([]RecordedEvent, error) {
	bucket := tx.Bucket(bucketEvents).Bucket(key)
	if bucket == nil {
		return nil, fmt.Errorf("run %x has no events bucket", key)
	}
	events := []RecordedEvent{}
	c := bucket.Cursor()
	for k, v := c.Seek(seqKey(uint64(from))); k != nil && (limit < 0 || len(events) < limit); k, v = c.Next() {
		var e RecordedEvent
		if err := decodeEvent(v, &e); err != nil {
			return nil, fmt.Errorf("event %d: %w", binary.BigEndian.Uint64(k), err)
		}
		events = append(events, e)
	}
	return events, nil
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
		return tx.Bucket(bucketRuns).ForEach(func(key, _ []byte) error {
			var r Run
			if err := loadRun(tx, key, &r); err != nil {
				return err
			}
			events, err := loadEvents(tx, key, 0, -1)
			r.Events = events
			out = append(out, r.normalized())
			return err
		})
	})
	return out, err
}

// Summaries returns every run without its events, in the order they were
// added.
func (b *BoltStore) Summaries() ([]RunSummary, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return append([]RunSummary{}, b.index...), nil
}

// List returns a page of summaries; only a search reads the file.
func (b *BoltStore) List(q Query) (l Listing, err error) {
	all, _ := b.Summaries()
	if strings.TrimSpace(q.Text) == "" {
		return list(all, q, nil)
	}
	err = b.db.View(func(tx *bolt.Tx) error {
		texts := tx.Bucket(bucketText)
		l, err = list(all, q, func(s *RunSummary, text string) bool {
			_, key := b.summary(s.ID)
			return key != nil && bytes.Contains(texts.Get(key), []byte(text))
		})
		return err
	})
	return l, err
}

// Version changes whenever a run is added or changed.
func (b *BoltStore) Version() uint64 { return b.version.Load() }

// Reset forgets every run.
func (b *BoltStore) Reset() error {
	err := b.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return initBuckets(tx)
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.index, b.keys, b.indexOf = nil, nil, map[string]int{}
	b.mu.Unlock()
	b.version.Add(1)
	return nil
}

// Close closes the database file.
func (b *BoltStore) Close() error { return b.db.Close() }
