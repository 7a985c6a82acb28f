// Package delivery sends the ops of the run tracker to AgentOS: the ops of
// one run strictly in order, one request at a time, and different runs in
// parallel up to a bound. It never blocks its caller: ops queue in memory,
// and events beyond the queue bound are dropped and counted.
package delivery
