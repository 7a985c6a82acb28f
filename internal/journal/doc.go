// Package journal keeps the state of the bridge that a crash must not lose
// in a key-value Store: the spans accepted for each open trace, with the
// time they arrived, and the progress of each run (its AgentOS run id and
// how many of its events were delivered). The Collector exporter backs it
// with the Collector's storage extension.
//
// The unit is the trace. Every write is a few small records, whatever the
// number of traces open; a trace's records are keyed in arrival order, so
// that a B-tree store touches few pages, and are deleted together once its
// runs are closed in AgentOS. Concurrent writes share transactions (group
// commit) in three lanes: spans, runs' progress, and run ids, which go
// first since a run id not yet stored is a run a crash leaves open.
package journal
