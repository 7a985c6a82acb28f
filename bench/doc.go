// Package bench measures what the bridge costs the process that runs it,
// side by side with what users would otherwise run (otel-go's otlptracehttp,
// sdktrace's BatchSpanProcessor, the Collector's otlphttp exporter), in one
// run on one machine. `make bench` runs it and prints the ratios.
package bench
