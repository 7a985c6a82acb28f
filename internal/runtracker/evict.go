package runtracker

import "time"

// links are a trace's place on one of the tracker's lists.
type links struct{ prev, next *trace }

// traceList links traces, oldest first, through one of their links: the
// tracker keeps every trace in arrival order (for Tick), and the traces
// without a started run open on a list of their own ("cold"): evicting one
// of those closes no run AgentOS shows as running, so they go first, and
// finding one costs O(1) however many started runs are open.
type traceList struct {
	oldest, newest *trace
	cold           bool // links through trace.coldLinks, not trace.arrival
}

func (l *traceList) at(tr *trace) *links {
	if l.cold {
		return &tr.coldLinks
	}
	return &tr.arrival
}

func (l *traceList) push(tr *trace) {
	*l.at(tr) = links{prev: l.newest}
	if l.newest != nil {
		l.at(l.newest).next = tr
	} else {
		l.oldest = tr
	}
	l.newest = tr
}

// remove unlinks tr; it must be on the list.
func (l *traceList) remove(tr *trace) {
	lk := l.at(tr)
	if lk.prev != nil {
		l.at(lk.prev).next = lk.next
	} else {
		l.oldest = lk.next
	}
	if lk.next != nil {
		l.at(lk.next).prev = lk.prev
	} else {
		l.newest = lk.prev
	}
	*lk = links{}
}

// victim is the trace to evict to make room: the oldest without a started
// run open, else the oldest.
func (t *Tracker) victim() *trace {
	if t.cold.oldest != nil {
		return t.cold.oldest
	}
	return t.all.oldest
}

// evict closes tr to make room, counting the runs that closes.
func (t *Tracker) evict(now time.Time, tr *trace, reason string) {
	before := t.stats.RunsCompleted + t.stats.RunsFailed
	t.closeTrace(now, tr, reason)
	t.stats.RunsEvicted += t.stats.RunsCompleted + t.stats.RunsFailed - before
}
