// Package spans is the core's own span model: the one input both front ends
// (the otel-go SDK bridge and the Collector exporter) convert into before the
// shared mapping takes over. It is deliberately small and flat so that the
// conversion costs one allocation per span at most.
package spans
