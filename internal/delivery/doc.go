// Package delivery sends the ops of the run tracker to AgentOS: the ops of
// one run strictly in order, one request at a time, and different runs in
// parallel up to a bound. Submit never blocks on I/O and never drops an op:
// it queues them in memory, and its owner (the pipeline) bounds that memory
// by admitting spans only while QueuedBytes is below its limit. A request
// that fails for good marks its run as failed, reported once by Failures
// (and logged, with repeated causes summarised); with RetryLater, a
// request that failed transiently is sent again later instead.
package delivery
