// Package frontend holds what the two front ends, the SDK bridge
// (sdkbridge) and the Collector exporter, share in turning their own
// configuration into the core's: one set of settings and its conversion
// to a pipeline.Config, the retry policy, each setting's name in either
// front end for errors that name it, and the hints and warnings about
// the configuration. Each front end fills Settings from its options or
// YAML and adds what only it has (the SDK's transport options, the
// Collector's HTTP client and storage).
package frontend
