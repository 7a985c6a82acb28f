package runtracker_test

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

var (
	modelCases = flag.Int("tracker.model.cases", 1000, "random cases TestTrackerAgainstModel runs")
	modelSeed  = flag.Uint64("tracker.model.seed", 0, "first seed of TestTrackerAgainstModel (0: from the clock)")
)

// TestTrackerAgainstModel drives the tracker with random traces (depth,
// width, arrival order, roots on time, late or never, lost spans, duplicates,
// selectors, agents, clocks around MaxWait, Grace and OrphanTimeout,
// MaxOpenRuns / MaxHeldSpans pressure) and compares what it emits with a
// small model of the contract:
//
//   - every case: each run is started once and closed once, last; each
//     span's events are sent whole in one run or not at all, and every
//     span sent is either in a run or counted (late, unselected,
//     duplicate); each events request is in timeline order; a run with
//     its root has the root's agent and status and a root the selector
//     picks; a run without its root fails and holds a span the selector
//     picks; a selected root always reaches a run; nothing is left after
//     Shutdown; the late report adds up to the late counter.
//   - without pressure, and with stragglers after their root sent parent
//     first, the model (modelTracker) predicts every run exactly: its
//     agent, its spans and its status, the counters and the late report.
//
// -tracker.model.cases sets how many cases run (1000 by default, a few
// seconds under -race), -tracker.model.seed the first seed; a failure
// names its seed.
func TestTrackerAgainstModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seeds %d to %d (-tracker.model.seed)", seed, seed+uint64(*modelCases)-1)
	predicted := 0
	for i := range uint64(*modelCases) {
		c := newModelCase(seed + i)
		exact, err := c.run()
		if err != nil {
			t.Fatalf("seed %d (-tracker.model.seed=%d -tracker.model.cases=1): %v\n%s", seed+i, seed+i, err, c)
		}
		if exact {
			predicted++
		}
	}
	t.Logf("%d of %d cases predicted exactly, the others checked against the invariants", predicted, *modelCases)
	if *modelCases >= 100 && predicted < *modelCases/3 {
		t.Fatalf("only %d of %d cases predicted exactly: the generator drifted", predicted, *modelCases)
	}
}

// modelCase is one random input: traces, their arrival, the options.
type modelCase struct {
	seed     uint64
	exact    bool // no pressure, stragglers parent first: the model predicts all
	selector mapping.SelectorMode
	opts     runtracker.Options
	traces   []*modelTrace
	arrivals []arrival // by time
	steps    int       // seconds the schedule runs before Shutdown
}

type modelTrace struct {
	id    spans.TraceID
	spans []spans.Span // the root first
	mode  string       // "on time", "late", "never"
}

type arrival struct {
	at    time.Duration // after t0
	span  spans.Span
	trace int
}

func (c *modelCase) String() string {
	s := fmt.Sprintf("selector %s, exact %v, %+v\n", c.selector, c.exact, c.opts)
	for i, tr := range c.traces {
		s += fmt.Sprintf("trace %d (%s): %d spans\n", i, tr.mode, len(tr.spans))
	}
	for _, a := range c.arrivals {
		s += fmt.Sprintf("  %6s trace %d span %x parent %x %q\n", a.at, a.trace, a.span.SpanID[7], a.span.ParentSpanID[7], a.span.Name)
	}
	return s
}

var modelOps = []string{"chat", "execute_tool", "invoke_agent", "", ""}

func newModelCase(seed uint64) *modelCase {
	rng := rand.New(rand.NewPCG(seed, 20))
	c := &modelCase{seed: seed, exact: rng.IntN(3) > 0,
		selector: []mapping.SelectorMode{mapping.SelectAll, mapping.SelectInvokeAgent, mapping.SelectHasAgentID}[rng.IntN(3)]}
	sec := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Second }
	c.opts = runtracker.Options{MaxWait: sec(2, 5), Grace: sec(1, 2), OrphanTimeout: sec(6, 15), LentAttrs: seed%2 == 1}
	if !c.exact {
		c.opts.MaxOpenRuns = 1 + rng.IntN(4)
		c.opts.MaxHeldSpans = 1 + rng.IntN(20)
		c.opts.MaxSpansPerTrace = 1 + rng.IntN(12)
	}
	for n := range 1 + rng.IntN(6) {
		tr := &modelTrace{mode: []string{"on time", "late", "never"}[rng.IntN(3)]}
		binary.BigEndian.PutUint64(tr.id[8:], seed<<8|uint64(n+1))
		c.traces = append(c.traces, tr)
		tr.spans = modelTree(rng, tr.id)
		start := sec(0, 8)
		// Children before their root in any order, a subtree of
		// stragglers after it (parent first in exact cases).
		var pre, post []spans.Span
		stragglers := map[spans.SpanID]bool{}
		for _, s := range tr.spans[1:] {
			if stragglers[s.ParentSpanID] || (tr.mode != "never" && rng.IntN(5) == 0) {
				stragglers[s.SpanID] = true
				post = append(post, s)
				continue
			}
			pre = append(pre, s)
		}
		if !c.exact && len(pre) > 1 && rng.IntN(4) == 0 {
			pre = slices.Delete(pre, 0, 1) // lost: its subtree's parent never comes
		}
		rng.Shuffle(len(pre), func(i, j int) { pre[i], pre[j] = pre[j], pre[i] })
		if !c.exact {
			rng.Shuffle(len(post), func(i, j int) { post[i], post[j] = post[j], post[i] })
		}
		var prev time.Duration
		add := func(at time.Duration, s spans.Span) {
			// Adds land on a tick's instant or between two, in the
			// trace's order.
			at = max(prev, at.Truncate(time.Second)+time.Duration(rng.IntN(2))*500*time.Millisecond)
			prev = at
			c.arrivals = append(c.arrivals, arrival{at: at, span: s, trace: n})
			if s.HasParent() && rng.IntN(8) == 0 {
				c.arrivals = append(c.arrivals, arrival{at: at, span: s, trace: n}) // a duplicate
			}
		}
		at := start
		for _, s := range pre {
			add(at, s)
			at += sec(0, 1)
		}
		switch tr.mode {
		case "on time":
			at += sec(0, 1)
		case "late":
			at += c.opts.MaxWait + sec(-1, int((c.opts.OrphanTimeout+c.opts.Grace)/time.Second)+1)
		}
		if tr.mode != "never" {
			add(at, tr.spans[0])
			for _, s := range post {
				at += time.Duration(rng.IntN(int(3*c.opts.Grace/time.Millisecond))) * time.Millisecond
				add(at, s)
			}
		}
	}
	// Stable: a trace's own arrivals keep their order at the same instant.
	slices.SortStableFunc(c.arrivals, func(a, b arrival) int { return cmp.Compare(a.at, b.at) })
	var last time.Duration
	if len(c.arrivals) > 0 {
		last = c.arrivals[len(c.arrivals)-1].at
	}
	c.steps = int(last/time.Second) + 1 + rng.IntN(int((c.opts.OrphanTimeout+c.opts.MaxWait)/time.Second)+2)
	return c
}

// modelTree is a random tree of spans; the root carries a span event so
// that a run's events always show whether its root is in it.
func modelTree(rng *rand.Rand, tid spans.TraceID) []spans.Span {
	var out []spans.Span
	agents := []string{goldenAgent, goldenAgent, goldenAgent, goldenAgent, otherAgent, "not-an-agent"}
	var grow func(parent spans.SpanID, depth int, start time.Time)
	grow = func(parent spans.SpanID, depth int, start time.Time) {
		var sid spans.SpanID
		sid[0], sid[7] = tid[15], byte(len(out)+1)
		s := spans.Span{TraceID: tid, SpanID: sid, ParentSpanID: parent, Name: fmt.Sprintf("s%d", len(out)+1),
			StartTime: start, EndTime: start.Add(time.Second)}
		op := modelOps[rng.IntN(len(modelOps))]
		if depth == 0 {
			op = []string{"invoke_agent", "invoke_agent", ""}[rng.IntN(3)]
			s.Events = []spans.Event{{Name: "note", Time: start}}
		}
		if op != "" {
			s.Attrs = append(s.Attrs, spans.Attr{Key: "gen_ai.operation.name", Value: spans.StringValue(op)})
		}
		if depth == 0 && rng.IntN(4) == 0 {
			s.Attrs = append(s.Attrs, spans.Attr{Key: "agentos.external_run_id", Value: spans.StringValue("ext-" + s.Name)})
		}
		if a := agents[rng.IntN(len(agents))]; a != goldenAgent && (depth == 0 || rng.IntN(4) == 0) {
			s.Attrs = append(s.Attrs, spans.Attr{Key: "agentos.agent_id", Value: spans.StringValue(a)})
		}
		if rng.IntN(4) == 0 {
			s.StatusCode = spans.StatusError
		}
		if depth > 0 && rng.IntN(3) == 0 {
			s.Events = append(s.Events, spans.Event{Name: "note", Time: start})
		}
		out = append(out, s)
		if depth < 3 {
			for range rng.IntN(4 - depth) {
				grow(sid, depth+1, start.Add(time.Duration(rng.IntN(5))*time.Millisecond))
			}
		}
	}
	grow(spans.SpanID{}, 0, t0)
	return out
}

// sentRun is what the ops sent for one run.
type sentRun struct {
	trace  spans.TraceID
	agent  string
	ext    string
	spans  map[spans.SpanID]int // events sent per span
	close  *runtracker.Op
	events int
}

// run drives the tracker through the case and checks it; exact says
// whether the model predicted it whole.
func (c *modelCase) run() (exact bool, err error) {
	m, err := mapping.New(mapping.Options{DefaultAgentID: goldenAgent, Selector: mapping.Selector{Mode: c.selector}})
	if err != nil {
		return false, err
	}
	tk, err := runtracker.New(m, c.opts)
	if err != nil {
		return false, err
	}
	var model *modelTracker
	if c.exact {
		model = newModelTracker(m, c.opts)
	}
	runs := map[runtracker.RunKey]*sentRun{}
	var order []runtracker.RunKey
	var late []runtracker.Late
	var unlisted int64
	take := func(ops []runtracker.Op) error {
		for i := range ops {
			op := &ops[i]
			r := runs[op.Run]
			switch {
			case op.Kind == runtracker.OpStart:
				if r != nil {
					return fmt.Errorf("run %d started twice", op.Run)
				}
				r = &sentRun{trace: op.TraceID, agent: op.AgentID, ext: op.Start.ExternalRunID, spans: map[spans.SpanID]int{}}
				runs[op.Run] = r
				order = append(order, op.Run)
				continue
			case r == nil:
				return fmt.Errorf("run %d: %s before run/start", op.Run, op.Kind)
			case r.close != nil:
				return fmt.Errorf("run %d: %s after its close", op.Run, op.Kind)
			case op.Kind == runtracker.OpClose:
				r.close = op
			case op.Kind == runtracker.OpEvents:
				prev := ""
				for _, e := range op.Events {
					var p struct {
						SpanID string `json:"span_id"`
					}
					if err := json.Unmarshal(e.Payload, &p); err != nil {
						return err
					}
					var id spans.SpanID
					if b, err := hex.DecodeString(p.SpanID); err != nil || len(b) != len(id) {
						return fmt.Errorf("span_id %q: %v", p.SpanID, err)
					} else {
						copy(id[:], b)
					}
					r.spans[id]++
					r.events++
					key := fmt.Sprintf("%s/%d", e.OccurredAt, phaseOf(e.Type))
					if key < prev {
						return fmt.Errorf("run %d: event %s sent after %s in one request", op.Run, key, prev)
					}
					prev = key
				}
			}
		}
		l, u := tk.TakeLate()
		late = append(late, l...)
		unlisted += u
		return nil
	}
	ai := 0
	for step := 0; step <= c.steps; step++ {
		for _, off := range []time.Duration{0, 500 * time.Millisecond} {
			at := time.Duration(step)*time.Second + off
			var batch []spans.Span
			for ai < len(c.arrivals) && c.arrivals[ai].at == at {
				batch = append(batch, c.arrivals[ai].span)
				ai++
			}
			if len(batch) > 0 {
				if model != nil {
					model.add(t0.Add(at), batch)
				}
				lent := batch
				if c.opts.LentAttrs {
					lent = deepCopy(batch)
				}
				if err := take(tk.Add(t0.Add(at), lent)); err != nil {
					return false, err
				}
				// Add keeps nothing of the batch: callers may reuse it, and
				// with LentAttrs the attribute arrays of its spans too.
				for i := range lent {
					if c.opts.LentAttrs {
						scribble(lent[i].Attrs)
						for _, e := range lent[i].Events {
							scribble(e.Attrs)
						}
					}
					lent[i] = spans.Span{Name: "reused"}
				}
			}
			if off == 0 {
				if model != nil {
					model.tick(t0.Add(at))
				}
				if err := take(tk.Tick(t0.Add(at))); err != nil {
					return false, err
				}
			}
		}
	}
	end := t0.Add(time.Duration(c.steps+1) * time.Second)
	if model != nil {
		model.shutdown(end)
	}
	if err := take(tk.Shutdown(end)); err != nil {
		return false, err
	}
	err = c.check(m, tk, runs, order, late, unlisted, model)
	return model != nil && !model.inexact, err
}

func (c *modelCase) check(m *mapping.Mapper, tk *runtracker.Tracker, runs map[runtracker.RunKey]*sentRun,
	order []runtracker.RunKey, late []runtracker.Late, unlisted int64, model *modelTracker) error {
	st := tk.Stats()
	if st.HeldSpans != 0 || st.OpenTraces != 0 || st.Bytes != 0 {
		return fmt.Errorf("state left after Shutdown: %+v", st)
	}
	byID := map[spans.TraceID]*modelTrace{}
	for _, tr := range c.traces {
		byID[tr.id] = tr
	}
	find := func(tid spans.TraceID, id spans.SpanID) *spans.Span {
		for i := range byID[tid].spans {
			if byID[tid].spans[i].SpanID == id {
				return &byID[tid].spans[i]
			}
		}
		return nil
	}
	// Past MaxSpansPerTrace the tracker does not remember spans, so it
	// cannot tell their duplicates: only those may be sent twice.
	dupOK := map[[2]any]bool{}
	for i, a := range c.arrivals {
		if i > 0 && c.arrivals[i-1].span.SpanID == a.span.SpanID && len(byID[a.span.TraceID].spans) > c.opts.WithDefaults().MaxSpansPerTrace {
			dupOK[[2]any{a.span.TraceID, a.span.SpanID}] = true
		}
	}
	sentIn := map[[2]any]runtracker.RunKey{}
	sent := 0
	for _, key := range order {
		r := runs[key]
		if r.close == nil {
			return fmt.Errorf("run %d never closed", key)
		}
		root := &byID[r.trace].spans[0]
		hasRoot := false
		picked := c.selector == mapping.SelectAll
		for id, n := range r.spans {
			s := find(r.trace, id)
			if s == nil {
				return fmt.Errorf("run %d: events of span %x that its trace does not have", key, id)
			}
			want := 2 + len(s.Events)
			if !s.HasParent() {
				want, hasRoot = len(s.Events), true
			}
			copies := n / want
			if n%want != 0 || (copies > 1 && !dupOK[[2]any{r.trace, id}]) {
				return fmt.Errorf("run %d: %d events of span %s, want %d", key, n, s.Name, want)
			}
			if other, dup := sentIn[[2]any{r.trace, id}]; dup && !dupOK[[2]any{r.trace, id}] {
				return fmt.Errorf("span %s sent in runs %d and %d", s.Name, other, key)
			}
			sentIn[[2]any{r.trace, id}] = key
			sent += copies
			picked = picked || m.Selects(s)
		}
		if hasRoot {
			if !m.Selects(root) || r.agent != m.AgentID(root) || r.close.Close.Fail != (root.StatusCode == spans.StatusError) {
				return fmt.Errorf("run %d of root %s: agent %s, failed %v", key, root.Name, r.agent, r.close.Close.Fail)
			}
		} else if !r.close.Close.Fail || !picked {
			return fmt.Errorf("run %d without its root: failed %v, a span the selector picks %v", key, r.close.Close.Fail, picked)
		}
		if !agentosapi.IsUUID(r.agent) {
			return fmt.Errorf("run %d of agent %q", key, r.agent)
		}
	}
	for _, tr := range c.traces {
		root := &tr.spans[0]
		if _, ok := sentIn[[2]any{tr.id, root.SpanID}]; tr.mode != "never" && m.Selects(root) && agentosapi.IsUUID(m.AgentID(root)) && !ok {
			return fmt.Errorf("trace %x: its selected root %s reached no run", tr.id[15], root.Name)
		}
	}
	if got := int64(sent) + st.SpansLate + st.SpansUnselected + st.SpansDuplicate; got != int64(len(c.arrivals)) {
		return fmt.Errorf("%d spans given, %d sent + %d late + %d unselected + %d duplicate", len(c.arrivals), sent, st.SpansLate, st.SpansUnselected, st.SpansDuplicate)
	}
	lateSpans := unlisted
	for _, l := range late {
		lateSpans += int64(l.Spans)
	}
	if lateSpans != st.SpansLate {
		return fmt.Errorf("late report of %d spans, SpansLate %d", lateSpans, st.SpansLate)
	}
	if model == nil || model.inexact {
		return nil
	}
	if st.SpansLate != model.late || st.SpansUnselected != model.unselected || st.SpansDuplicate != model.duplicate {
		return fmt.Errorf("late %d, unselected %d, duplicate %d; model: %d, %d, %d",
			st.SpansLate, st.SpansUnselected, st.SpansDuplicate, model.late, model.unselected, model.duplicate)
	}
	var got []string
	for _, key := range order {
		r := runs[key]
		got = append(got, describeRun(r.trace, r.agent, r.close.Close.Fail, slices.Collect(maps.Keys(r.spans))))
	}
	var want []string
	for _, r := range model.runs {
		if r.started {
			want = append(want, describeRun(r.trace, r.agent, r.fail, r.spans))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("runs\n got %q\nwant %q", got, want)
	}
	gotLate := map[lateKey]runtracker.Late{}
	for _, l := range late {
		k := lateKey{l.TraceID, l.ExternalRunID}
		g := gotLate[k]
		g.Spans += l.Spans
		g.Events += l.Events
		gotLate[k] = g
	}
	if !maps.Equal(gotLate, model.lateReport) {
		return fmt.Errorf("late report %+v, model %+v", gotLate, model.lateReport)
	}
	return nil
}

type lateKey struct {
	trace spans.TraceID
	ext   string
}

func describeRun(tid spans.TraceID, agent string, fail bool, ids []spans.SpanID) string {
	slices.SortFunc(ids, func(a, b spans.SpanID) int { return cmp.Compare(a[7], b[7]) })
	s := fmt.Sprintf("trace %x agent %s failed %v spans", tid[15], agent, fail)
	for _, id := range ids {
		s += fmt.Sprintf(" %d", id[7])
	}
	return s
}

// modelTracker is the contract, per trace, without bounds: spans wait for
// their root; at the maximum wait they start a run without it if the
// selector picks one of them (any, with "all") and the earliest names a
// valid agent, else they stay held until their root or OrphanTimeout of
// silence (then unselected). The root decides: it takes over the run
// started without it only if it is selected for the same agent, else that
// run fails and the root makes its own. A run with its root closes Grace
// after the root, from the root's status; one without fails after
// OrphanTimeout of silence. A retired trace's later spans are late if it
// had a started run, else unselected.
type modelTracker struct {
	m      *mapping.Mapper
	opts   runtracker.Options
	traces map[spans.TraceID]*mTrace
	closed map[spans.TraceID]string // external_run_id of the first started run

	runs                        []*mRun
	late, unselected, duplicate int64
	lateReport                  map[lateKey]runtracker.Late
	// inexact is set when the tracker's handling depends on more of the
	// tree than the model follows: a straggler whose parent was in the
	// trace before it was retired and its root came.
	inexact bool
}

type mTrace struct {
	id          spans.TraceID
	created     time.Time
	seen        map[spans.SpanID]bool
	runOf       map[spans.SpanID]*mRun // the run each span was given to
	split       bool                   // opened again by its root after it was retired
	held        []spans.Span
	waitExpired bool
	parked      bool
	parkedLast  time.Time
	orphan      *mRun // started without its root, until the root takes it over
	rooted      *mRun // the root's run
	runs        []*mRun
}

type mRun struct {
	trace    spans.TraceID
	agent    string
	ext      string
	selected bool
	started  bool // selected runs are all started by their close
	closed   bool
	fail     bool
	rootFail bool // its root's status is Error
	closeAt  time.Time
	lastSeen time.Time
	spans    []spans.SpanID
}

func newModelTracker(m *mapping.Mapper, opts runtracker.Options) *modelTracker {
	return &modelTracker{m: m, opts: opts.WithDefaults(), traces: map[spans.TraceID]*mTrace{},
		closed: map[spans.TraceID]string{}, lateReport: map[lateKey]runtracker.Late{}}
}

func (mt *modelTracker) add(now time.Time, batch []spans.Span) {
	for _, s := range batch {
		mt.addSpan(now, s)
	}
}

func (mt *modelTracker) addSpan(now time.Time, s spans.Span) {
	tr := mt.traces[s.TraceID]
	if tr == nil {
		if ext, ok := mt.closed[s.TraceID]; ok && s.HasParent() {
			if ext == "" {
				mt.unselected++
				return
			}
			mt.late++
			l := mt.lateReport[lateKey{s.TraceID, ext}]
			l.Spans++
			l.Events += 2 + len(s.Events)
			mt.lateReport[lateKey{s.TraceID, ext}] = l
			return
		}
		_, split := mt.closed[s.TraceID]
		tr = &mTrace{id: s.TraceID, created: now, seen: map[spans.SpanID]bool{}, runOf: map[spans.SpanID]*mRun{}, split: split}
		mt.traces[s.TraceID] = tr
	}
	if tr.seen[s.SpanID] {
		mt.duplicate++
		return
	}
	tr.seen[s.SpanID] = true
	switch {
	case !s.HasParent():
		agent := mt.m.AgentID(&s)
		selected := mt.m.Selects(&s) && agentosapi.IsUUID(agent)
		r := tr.orphan
		if r != nil && (!selected || r.agent != agent) {
			mt.closeRun(r, true)
			r = nil
		}
		if r == nil {
			r = mt.newRun(tr, agent, selected, mt.m.StartRequest(&s).ExternalRunID)
		}
		tr.orphan, tr.rooted = nil, r
		r.closeAt = now.Add(mt.opts.Grace)
		r.rootFail = s.StatusCode == spans.StatusError
		mt.assign(now, tr, r, s)
		for _, h := range tr.held {
			mt.assign(now, tr, r, h)
		}
		tr.held, tr.parked = nil, false
	case tr.rooted != nil || tr.orphan != nil:
		// A span joins its parent's run, even one closed since (late).
		r := tr.runOf[s.ParentSpanID]
		if r == nil {
			r = cmp.Or(tr.orphan, tr.rooted)
			mt.inexact = mt.inexact || (tr.split && tr.orphan == nil)
		}
		mt.assign(now, tr, r, s)
	default:
		tr.held = append(tr.held, s)
		if tr.parked {
			tr.parkedLast = now
			mt.startIfPicked(now, tr)
		}
	}
}

func (mt *modelTracker) newRun(tr *mTrace, agent string, selected bool, ext string) *mRun {
	r := &mRun{trace: tr.id, agent: agent, selected: selected, ext: ext}
	tr.runs = append(tr.runs, r)
	mt.runs = append(mt.runs, r)
	return r
}

func (mt *modelTracker) assign(now time.Time, tr *mTrace, r *mRun, s spans.Span) {
	tr.runOf[s.SpanID] = r
	if !r.selected {
		mt.unselected++
		return
	}
	if r.closed {
		mt.late++
		l := mt.lateReport[lateKey{tr.id, r.ext}]
		l.Spans++
		l.Events += 2 + len(s.Events)
		mt.lateReport[lateKey{tr.id, r.ext}] = l
		return
	}
	r.lastSeen = now
	r.spans = append(r.spans, s.SpanID)
}

// startIfPicked starts a run without its root from the held spans if the
// selector picks one of them and the earliest names a valid agent.
func (mt *modelTracker) startIfPicked(now time.Time, tr *mTrace) bool {
	picked := false
	first := &tr.held[0]
	for i := range tr.held {
		s := &tr.held[i]
		picked = picked || mt.m.Options().Selector.Mode == mapping.SelectAll || mt.m.Selects(s)
		if s.StartTime.Before(first.StartTime) {
			first = s
		}
	}
	if !picked || !agentosapi.IsUUID(mt.m.AgentID(first)) {
		return false
	}
	r := mt.newRun(tr, mt.m.AgentID(first), true, tr.id.String())
	r.started = true
	for _, h := range tr.held {
		mt.assign(now, tr, r, h)
	}
	tr.held, tr.parked, tr.orphan = nil, false, r
	return true
}

func (mt *modelTracker) closeRun(r *mRun, fail bool) {
	r.closed, r.fail = true, fail
	r.started = r.started || r.selected
}

func (mt *modelTracker) tick(now time.Time) {
	for _, tr := range mt.sorted() {
		if !tr.waitExpired && len(tr.held) > 0 && now.Sub(tr.created) >= mt.opts.MaxWait {
			tr.waitExpired = true
			if !mt.startIfPicked(now, tr) {
				tr.parked, tr.parkedLast = true, now
			}
		}
		if tr.parked && now.Sub(tr.parkedLast) >= mt.opts.OrphanTimeout {
			mt.unselected += int64(len(tr.held))
			tr.held, tr.parked = nil, false
		}
		if r := tr.rooted; r != nil && !r.closed && !now.Before(r.closeAt) {
			mt.closeRun(r, r.rootFail)
		}
		if r := tr.orphan; r != nil && !r.closed && now.Sub(r.lastSeen) >= mt.opts.OrphanTimeout {
			mt.closeRun(r, true)
		}
		mt.retireIfDone(tr)
	}
}

func (mt *modelTracker) shutdown(now time.Time) {
	for _, tr := range mt.sorted() {
		if len(tr.held) > 0 && !tr.parked {
			tr.waitExpired = true
			mt.startIfPicked(now, tr)
		}
		mt.unselected += int64(len(tr.held))
		tr.held = nil
		for _, r := range tr.runs {
			if !r.closed {
				mt.closeRun(r, r != tr.rooted || r.rootFail)
			}
		}
		mt.retireIfDone(tr)
	}
}

func (mt *modelTracker) retireIfDone(tr *mTrace) {
	if len(tr.held) > 0 {
		return
	}
	ext := ""
	for _, r := range tr.runs {
		if !r.closed {
			return
		}
		if ext == "" && r.started {
			ext = r.ext
		}
	}
	delete(mt.traces, tr.id)
	if _, ok := mt.closed[tr.id]; !ok || ext != "" {
		mt.closed[tr.id] = ext
	}
}

// sorted lists the open traces in a fixed order: the model's decisions do
// not depend on it, its run keys would.
func (mt *modelTracker) sorted() []*mTrace {
	return slices.SortedFunc(maps.Values(mt.traces), func(a, b *mTrace) int { return cmp.Compare(a.id[15], b.id[15]) })
}

// deepCopy copies spans with their attribute and span event arrays.
func deepCopy(batch []spans.Span) []spans.Span {
	out := slices.Clone(batch)
	for i := range out {
		out[i].Attrs = slices.Clone(out[i].Attrs)
		out[i].Events = slices.Clone(out[i].Events)
		for j := range out[i].Events {
			out[i].Events[j].Attrs = slices.Clone(out[i].Events[j].Attrs)
		}
	}
	return out
}

// scribble overwrites attributes in place, as a caller reusing them would.
func scribble(attrs []spans.Attr) {
	for i := range attrs {
		attrs[i] = spans.Attr{Key: "reused", Value: spans.StringValue("reused")}
	}
}
