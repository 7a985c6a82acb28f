package ingest

import (
	"errors"
	"strings"
)

// ErrInsecureEndpoint marks an http:// endpoint to a host other than this
// machine, refused unless insecure HTTP is allowed. Front ends test for it
// to name their own setting that allows it, and only then.
var ErrInsecureEndpoint = errors.New("allow insecure HTTP")

// ingestPath is the prefix of every ingest endpoint, which the client adds
// to the base URL itself.
const ingestPath = "/api/ingest/v1"

// CheckBaseURL reports whether New would accept raw as Config.BaseURL, so
// front ends can reject a bad endpoint while validating their own config.
// The error names no setting; the caller adds its own setting's name.
func CheckBaseURL(raw string, allowInsecure bool) error {
	_, err := checkEndpoint(raw, allowInsecure)
	return err
}

// EndpointURL turns an endpoint given as host[:port], optionally with a
// path, into a base URL, as otlptracehttp's WithEndpoint does: https://,
// or http:// when the host is this machine (loopback). A value that has a
// scheme is returned as it is, and an empty one stays empty.
func EndpointURL(endpoint string) string {
	endpoint = strings.TrimSpace(endpoint)
	if endpoint == "" || strings.Contains(endpoint, "://") {
		return endpoint
	}
	host := endpoint
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:] // user info: refused later, with the value redacted
	}
	if h, _, ok := strings.Cut(strings.TrimPrefix(host, "["), "]"); ok && strings.HasPrefix(host, "[") {
		host = h
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Count(host, ":") == 1 {
		host = host[:i]
	}
	if isLoopback(host) {
		return "http://" + endpoint
	}
	return "https://" + endpoint
}
