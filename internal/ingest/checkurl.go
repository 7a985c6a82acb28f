package ingest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
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

// parseBaseURL accepts an absolute http(s) URL with a host and maybe a path
// prefix, and refuses to send keys in clear text beyond this machine unless
// allowInsecure.
func parseBaseURL(raw string, allowInsecure bool) (string, error) {
	base, err := checkEndpoint(raw, allowInsecure)
	if err != nil {
		hint := ""
		if errors.Is(err, ErrInsecureEndpoint) {
			hint = " (Config.AllowInsecure permits it)"
		}
		return "", fieldErrorf("BaseURL", "%w%s", err, hint)
	}
	return base, nil
}

// checkEndpoint validates an AgentOS base URL. Its messages name no
// setting: each front end says which of its own settings holds the URL.
func checkEndpoint(raw string, allowInsecure bool) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = agentosapi.DefaultBaseURL
	}
	if !strings.Contains(raw, "://") {
		// "127.0.0.1:8787" would fail to parse with a riddle about colons
		// in path segments; say what is missing instead, without echoing
		// the value, which may hold anything.
		return "", fmt.Errorf("has no scheme: want an absolute URL such as %s, or http://127.0.0.1:8787 for this machine",
			agentosapi.DefaultBaseURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole input, which may hold credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("not a valid URL: %v", err)
	}
	switch {
	case (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		return "", fmt.Errorf("%q must be an absolute http or https URL with a host, such as %s",
			shownURL(u), agentosapi.DefaultBaseURL)
	case u.User != nil:
		return "", fmt.Errorf("%q must not carry user info: agent keys have settings of their own", shownURL(u))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%q must not have a query or fragment", shownURL(u))
	case strings.Contains(u.Path, ingestPath):
		base := *u
		base.Path, base.RawPath = u.Path[:strings.Index(u.Path, ingestPath)], ""
		return "", fmt.Errorf("%q includes the ingest path %s, which the client adds itself: use the base URL, here %q (e.g. %s)",
			shownURL(u), ingestPath, strings.TrimRight(shownURL(&base), "/"), agentosapi.DefaultBaseURL)
	case u.Scheme == "http" && !allowInsecure && !isLoopback(u.Hostname()):
		return "", fmt.Errorf("%q uses http:// to a host other than this machine, which would send agent keys in clear text: use https://, or %w explicitly",
			shownURL(u), ErrInsecureEndpoint)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

func isLoopback(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
