// Package runtracker holds spans per trace until their run root arrives,
// decides when each run starts and closes, and emits the ordered stream of
// AgentOS operations for every run. It does no I/O: delivery consumes what it
// emits. Time comes from an injectable clock so tests control every timeout.
package runtracker
