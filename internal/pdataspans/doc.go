// Package pdataspans converts Collector pdata traces into the core's span
// model. The Collector exporter uses it, and so do the core's golden tests,
// which read OTLP JSON.
package pdataspans
