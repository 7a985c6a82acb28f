// Package ingest is the client of the AgentOS ingest API
// (/work/shared/AGENTOS_API.md): it starts runs, sends their events in
// order, records tasks and closes runs, one agent key per agent.
//
// The client is for background delivery, not for the instrumented
// program's hot path: every call blocks until AgentOS has answered, retries
// transient failures (429, 5xx, timeouts, dropped connections) with
// exponential backoff and jitter, honours Retry-After, and gives up after
// RetryPolicy.MaxElapsedTime. Other 4xx answers are permanent and carry the
// server's message. IsRetryable, IsPermanent, ErrRunClosed and *APIError let
// callers decide what to do with a failure.
//
// Delivery is at least once: a request whose answer was lost (a reset
// connection, a timeout) is sent again, so AgentOS may record an event batch
// twice or, for run/start, open a second run. A retried close that meets
// 409 "already closed" counts as success.
//
// Agent keys never leave the Authorization header: errors, logs and the
// formatted forms of Client and Config show them as [REDACTED].
package ingest
