package runtracker

import "time"

// coldList links, oldest first, the traces without a started run open:
// held spans waiting for their root, parked traces, runs not started yet.
// Evicting one of them closes no run AgentOS shows as running, so they go
// first, and finding one costs O(1) however many started runs are open.
type coldList struct {
	oldest, newest *trace
}

func (l *coldList) push(tr *trace) {
	tr.coldPrev, tr.coldNext = l.newest, nil
	if l.newest != nil {
		l.newest.coldNext = tr
	} else {
		l.oldest = tr
	}
	l.newest = tr
}

// remove unlinks tr; it must be on the list.
func (l *coldList) remove(tr *trace) {
	if tr.coldPrev != nil {
		tr.coldPrev.coldNext = tr.coldNext
	} else {
		l.oldest = tr.coldNext
	}
	if tr.coldNext != nil {
		tr.coldNext.coldPrev = tr.coldPrev
	} else {
		l.newest = tr.coldPrev
	}
	tr.coldPrev, tr.coldNext = nil, nil
}

// victim is the trace to evict to make room: the oldest without a started
// run open, else the oldest.
func (t *Tracker) victim() *trace {
	if t.cold.oldest != nil {
		return t.cold.oldest
	}
	return t.oldest
}

// evict closes tr to make room, counting the runs that closes.
func (t *Tracker) evict(now time.Time, tr *trace, reason string) {
	before := t.stats.RunsCompleted + t.stats.RunsFailed
	t.closeTrace(now, tr, reason)
	t.stats.RunsEvicted += t.stats.RunsCompleted + t.stats.RunsFailed - before
}
