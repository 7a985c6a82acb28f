// Package ingest is the client of the AgentOS ingest API: it starts runs,
// sends their events in order, records tasks and closes runs, one agent key
// per agent.
//
// The client is for background delivery, not for the instrumented
// program's hot path: every call blocks until AgentOS has answered, retries
// transient failures (429, 5xx, timeouts, dropped connections) with
// exponential backoff and jitter, honours Retry-After, and gives up after
// RetryPolicy.MaxElapsedTime. Other 4xx answers, and 2xx answers whose
// envelope carries an error, are permanent and carry the server's message.
// IsRetryable, IsPermanent, IsAmbiguous, the sentinels (ErrRunClosed,
// ErrUnauthorized, ErrForbidden, ErrRunMayExist) and *APIError let callers
// decide what to do with a failure.
//
// A failure is ambiguous when the request may have taken effect: a timeout
// or a dropped connection after it was sent, a 5xx other than 503. The next
// attempt then gets twice the timeout. run/start, which is not idempotent,
// is tried at most twice after ambiguous failures and then gives up with a
// *RunMayExistError naming the external_run_id. Other requests are retried,
// so an events batch may be recorded twice; Stats counts it. A retried
// close that meets 409 "already closed" counts as success. After a 401 or
// 403, calls with that key fail at once for Config.AuthFailureBackoff.
//
// Agent keys never leave the Authorization header: errors, logs and the
// formatted forms of Client and Config show them as [REDACTED].
package ingest
