//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml

// Package agentosexporter is an OpenTelemetry Collector exporter that turns
// traces into AgentOS runs: root spans become runs, child spans and span
// events their ordered timeline. It is a thin adapter: spans are converted
// with internal/pdataspans and handed to the same core (internal/pipeline)
// the SDK bridge uses, so both produce the same requests.
package agentosexporter
