// Package mapping turns spans into AgentOS requests, as docs/mapping.md
// describes: which roots are runs, the run/start input, the timeline events
// with their types, levels and order, the close request, and the optional
// tasks. It is pure: no I/O, no clocks, no state between calls.
package mapping
