// Package e2e holds the end-to-end tests of the collectors built by the
// Collector Builder (run by e2e/run.sh, `make e2e`; build tag e2e): real
// binaries, real OTLP over the network, and the strict local AgentOS server
// as its own process (cmd/agentos-localserver), whose GET /_local/runs the
// tests read to check every run, its status and its timeline.
package e2e
