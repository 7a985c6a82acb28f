package frontend

import (
	"errors"
	"net/http"

	"github.com/agentos-ai/agentos-otel/internal/configerr"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
)

// names are each core setting's name in the SDK bridge (its environment
// variable and option) and in the Collector (its YAML key), for errors
// that name one. A setting one front end does not offer has no name
// there.
var names = map[string]struct{ sdk, yaml string }{
	"Config.DefaultKey":            {"AGENTOS_API_KEY / WithAPIKey", "api_key"},
	"Config.AgentKeys":             {"WithAgentKeys", "agent_keys"},
	"Config.BaseURL":               {"AGENTOS_ENDPOINT / WithEndpoint", "endpoint"},
	"Config.MaxBodyBytes":          {"WithLimits(Limits{MaxRequestBytes})", "limits::max_request_bytes"},
	"Config.MaxBatchEvents":        {"WithLimits(Limits{MaxBatchEvents})", "limits::max_batch_events"},
	"Config.Retry.InitialInterval": {"WithRetry(RetryConfig{InitialInterval})", "request_retry::initial_interval"},
	"Config.Retry.MaxInterval":     {"WithRetry(RetryConfig{MaxInterval})", "request_retry::max_interval"},
	"Config.Retry.MaxElapsedTime":  {"WithRetry(RetryConfig{MaxElapsedTime})", "request_retry::max_elapsed_time"},
	"Config.Timeout":               {"WithTimeout", ""},
	"Config.Headers":               {"WithHeaders", ""},
	"Config.TLSConfig":             {"WithTLSClientConfig (with WithHTTPClient, set TLS on your client's transport)", ""},
	"Config.Proxy":                 {"WithProxy (with WithHTTPClient, set the proxy on your client's transport)", ""},
	"Mapping.DefaultAgentID":       {"AGENTOS_AGENT_ID / WithAgentID", "agent_id"},
	"Mapping.DefaultTrigger":       {"WithTriggerType", "trigger_type"},
	"Mapping.MinLevel":             {"WithMinLevel", "min_level"},
	"Mapping.MaxStringLen":         {"WithMaxStringLength", "max_string_length"},
	"Tracker.MaxWait":              {"WithTiming(Timing{MaxWait})", "timing::max_wait"},
	"Tracker.Grace":                {"WithTiming(Timing{GracePeriod})", "timing::grace_period"},
	"Tracker.OrphanTimeout":        {"WithTiming(Timing{OrphanTimeout})", "timing::orphan_timeout"},
	"Tracker.MaxRunDuration":       {"WithMaxRunDuration", ""},
	"Tracker.MaxSpansPerTrace":     {"WithLimits(Limits{MaxSpansPerTrace})", "limits::max_spans_per_trace"},
	"Tracker.MaxHeldSpans":         {"WithLimits(Limits{MaxHeldSpans})", "limits::max_held_spans"},
	"Tracker.MaxOpenRuns":          {"WithLimits(Limits{MaxOpenRuns})", "limits::max_open_runs"},
}

// SDKNames renders the core's errors that name a setting with the SDK
// bridge's names.
func SDKNames(err error) error {
	return configerr.Rename(err, func(field string) string { return names[field].sdk })
}

// YAMLNames renders the core's errors that name a setting with the
// Collector's YAML keys.
func YAMLNames(err error) error {
	if err == nil {
		return nil
	}
	return configerr.Rename(err, func(field string) string { return names[field].yaml })
}

// InsecureHint names what permits plain HTTP, when that is what the
// endpoint lacks, and nothing otherwise: a query or user info in the URL
// is not fixed by it.
func InsecureHint(err error, setting string) string {
	if errors.Is(err, ingest.ErrInsecureEndpoint) {
		return " (" + setting + " permits it)"
	}
	return ""
}

// SmallPool says whether a client keeping perHost idle connections per
// host, and maxIdle in all (0: no bound), keeps fewer than runs are
// delivered at once: the rest would be closed after each burst, and
// dialed (and handshaken) again for the next. perHost is the effective
// bound (net/http reads 0 as 2 and a negative value as none).
func SmallPool(perHost, maxIdle, concurrency int) bool {
	return perHost < concurrency || (maxIdle > 0 && maxIdle < concurrency)
}

// IdlePool raises a pool's bounds to one idle connection per run in
// flight: perHost (as EffectivePerHost reads it) and maxIdle when bounded
// (0 stays unbounded). A larger pool costs only the
// idle sockets: never more connections are busy than runs in flight.
func IdlePool(perHost, maxIdle, concurrency int) (int, int) {
	if maxIdle > 0 {
		maxIdle = max(maxIdle, concurrency)
	}
	return max(perHost, concurrency), maxIdle
}

// EffectivePerHost is net/http's reading of MaxIdleConnsPerHost: 0 means
// http.DefaultMaxIdleConnsPerHost, a negative value keeps none.
func EffectivePerHost(v int) int {
	switch {
	case v == 0:
		return http.DefaultMaxIdleConnsPerHost
	case v < 0:
		return 0
	}
	return v
}
