// Package localserver is a local AgentOS-compatible ingest server. It
// enforces the documented API strictly (auth per agent key, exact bodies,
// run lifecycle), records runs with their events in received order, and can
// inject faults. The tests use it as the real counterpart of the client,
// and the example agent embeds it when no AgentOS key is set.
//
// Runs live in a Store: in memory by default (NewMemoryStore), or in a
// bbolt database file (OpenBoltStore) so that they survive a restart, as
// the agentos-localserver command keeps them. The Server checks every rule
// and serialises writes; a Store only records. A Store keeps each run's
// summary (RunSummary) apart from the run, so that listings (Store.List:
// pages, filters, search) never read inputs, outputs or events, and
// appending events rewrites neither. OpenBoltStore checks the whole file
// first and refuses a damaged one with ErrDamaged, rather than let bbolt
// crash on it later.
//
// Where the API documentation leaves the status code open, the server
// answers, in the order it checks:
//
//	404  unknown path
//	405  a method other than POST on an ingest path (with Allow: POST)
//	401  missing or malformed Authorization header, unknown or revoked key
//	415  Content-Type other than application/json (charset, if any, utf-8)
//	413  body larger than Options.MaxBodyBytes
//	400  body that is not exactly one JSON value of the endpoint's shape:
//	     bad JSON or UTF-8, trailing data, unknown, duplicate or
//	     wrongly-cased field names, wrong types, or a rule of
//	     agentosapi's Validate methods
//	403  agent_id, or the run's agent, is not the key's agent
//	404  run_id names no run
//	409  the run is already completed or failed
//
// Faults (Server.FailNext, Server.SetFaults, Server.Hang) apply before
// any of these checks and never change recorded runs, except
// Faults.ResponseDelay, which holds the answer of an applied request.
package localserver
