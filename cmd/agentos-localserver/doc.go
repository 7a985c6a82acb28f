// Command agentos-localserver serves the strict local AgentOS ingest server
// (internal/localserver) on a TCP address, for tests and demos that run the
// exporter out of process, such as the end-to-end collector tests.
//
// Usage:
//
//	agentos-localserver -addr 127.0.0.1:8787 \
//	    -agent 3b241101-e2bb-4255-8caf-4136c566a962=aos_agent_dev \
//	    [-agent ID=KEY ...] [-agents-file FILE] [-addr-file FILE] [-v]
//
// Every -agent (and every "ID=KEY" line of -agents-file; blank lines and
// lines starting with # are skipped) registers one agent key. The ingest
// API is served under /api/ingest/v1 exactly as the local server enforces
// it. Two more endpoints let a harness inspect the result:
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
