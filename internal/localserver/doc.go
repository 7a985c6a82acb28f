// Package localserver is a local AgentOS-compatible ingest server. It
// enforces the documented API strictly (auth per agent key, exact bodies,
// run lifecycle), records runs with their events in received order, and can
// inject faults. The tests use it as the real counterpart of the client,
// and the example agent embeds it when no AgentOS key is set.
package localserver
