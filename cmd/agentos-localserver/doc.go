// Command agentos-localserver is a local AgentOS dev server: the strict
// ingest API of internal/localserver, which rejects whatever AgentOS would,
// plus web pages that show the runs it received. Point an instrumented
// agent or a collector at it to see its runs with no account and no
// network; the end-to-end collector tests run it too.
//
// Usage:
//
//	go run ./cmd/agentos-localserver \
//	    -agent 7f3c9a2e-4b1d-4e8a-9c6f-2d5b8e1a7c40=aos_agent_local_demo \
//	    [-agent ID=KEY ...] [-agents-file FILE] [-addr 127.0.0.1:8787] \
//	    [-db FILE | -memory] [-addr-file FILE] [-v]
//
// Every -agent (and every "ID=KEY" line of -agents-file; blank lines and
// lines starting with # are skipped) registers one agent key. The ingest
// API is served under /api/ingest/v1 exactly as the local server enforces
// it.
//
// Runs are kept in a bbolt database file, so they survive a restart: -db
// names it, by default runs.db in the agentos-localserver directory of the
// user's cache directory (on Linux ~/.cache/agentos-localserver/runs.db).
// One server at a time may use a file. -memory keeps runs in memory only.
// Request counters are never kept.
//
// Pages, for a browser (nothing is loaded from elsewhere):
//
//	GET  /              runs, newest first, with status, agent, external
//	                    run id, start, duration, event count and error;
//	                    ?status=running|completed|failed filters. It
//	                    reloads itself while a run is open.
//	GET  /runs/{id}     a run: its timeline in order with each event's
//	                    offset from the run's start, payloads, errors, the
//	                    models and tokens of its llm.response events
//
// Event times are the agent's (occurred_at, or the receipt time without
// it). A run starts at its run/start or its first event, whichever is
// earlier, and ends at its last event: the SDK exporter sends a run once it
// has ended, so the server hears of it later than it happened.
//
// Two more endpoints let a harness inspect the result:
//
//	GET  /_local/runs   {"runs": [...]}: every run in run/start order, with
//	                    its events in received order and their sequence numbers
//	GET  /_local/stats  {"requests": {path: n}, "status": {code: n}, "rejected": n}
//
// With -addr 127.0.0.1:0 the kernel picks a port; -addr-file then receives
// the bound address once the server accepts connections, so a script can
// wait for that file instead of polling. SIGINT or SIGTERM stops the server
// after the requests in flight (at most five seconds).
package main
