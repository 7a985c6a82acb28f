// Package e2e holds the end-to-end tests of the collector built by the
// Collector Builder (run by e2e/run.sh, build tag e2e): real binaries, real
// OTLP over the network, the strict local AgentOS server.
package e2e
