// Package pdataspans converts Collector pdata traces into the core's span
// model. The exporter uses it; the golden tests here feed the core's tracker
// OTLP JSON through it, which is the Collector's path into the core.
package pdataspans
