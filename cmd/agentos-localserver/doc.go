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
//	    [-db FILE | -memory] [-allow-host NAME ...] [-addr-file FILE] [-v]
//
// Every -agent (and every "ID=KEY" line of -agents-file; blank lines and
// lines starting with # are skipped) registers one agent key. A key given
// twice is refused, and no error quotes a key. The ingest API is served
// under /api/ingest/v1 exactly as the local server enforces it.
//
// Runs are kept in a bbolt database file, so they survive a restart: -db
// names it, by default runs.db in the agentos-localserver directory of the
// user's cache directory (on Linux ~/.cache/agentos-localserver/runs.db).
// One server at a time may use a file. The file is checked at start, and a
// damaged one is refused with one line naming it. -memory keeps runs in
// memory only. Request counters are never kept.
//
// Pages, for a browser (nothing is loaded from elsewhere):
//
//	GET  /                      runs, newest first, 50 a page (?before= and
//	                            ?after= the cursors of its links), with
//	                            status, agent, external run id, start,
//	                            duration, input, model, tokens, events and
//	                            error; ?q= searches, ?status=, ?agent=,
//	                            ?from= and ?to= (2026-05-01T14:30) filter
//	GET  /runs/{id}             a run: its trace as a waterfall of spans,
//	                            its timeline (200 events a page, ?from=N)
//	GET  /runs/{id}/payload     one raw JSON value, fetched by the page when
//	                            opened: ?event=N, or ?part=input, output or
//	                            error_detail
//	GET  /_local/changes        {"version": "…"}, which changes when any run
//	                            does (with ?run=ID, when that run does); the
//	                            pages poll it every two seconds while visible
//
// The pages and /_local answer only a Host that is localhost, a
// *.localhost name, an IP address, or a name given with -allow-host: a
// page of another site whose name resolves to 127.0.0.1 (DNS rebinding)
// must not read the runs. The ingest API is left to its keys.
//
// Event times are the agent's (occurred_at, or the receipt time without
// it). A run starts at its run/start or its first event, whichever is
// earlier, and ends at its last event: the SDK exporter sends a run once it
// has ended, so the server hears of it later than it happened.
//
// Two more endpoints let a harness inspect the result:
//
//	GET  /_local/runs   {"runs": [...], "next": "ID"}: runs in run/start
//	                    order with their events in received order and their
//	                    sequence numbers, 500 a page (?limit= up to 5000);
//	                    ?after=ID continues after a page, "next" is absent
//	                    on the last
//	GET  /_local/stats  {"requests": {path: n}, "status": {code: n}, "rejected": n}
//
// With -addr 127.0.0.1:0 the kernel picks a port; -addr-file then receives
// the bound address once the server accepts connections, so a script can
// wait for that file instead of polling. SIGINT or SIGTERM stops the server
// after the requests in flight (at most five seconds). A handler that
// panics answers 500 and is logged with its stack.
package main
