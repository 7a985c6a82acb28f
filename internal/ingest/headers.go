package ingest

import (
	"net/http"
	"slices"
	"strings"

	"github.com/agentos-ai/agentos-otel/internal/version"
)

// requestHeaders are the headers of every request made with key: the
// requests share this map (see shareHeaders) or copies of it, and its
// values, which nothing modifies.
func (c *Client) requestHeaders(key secret) http.Header {
	h := make(http.Header, len(c.headers)+4)
	for name, values := range c.headers {
		h[name] = values
	}
	h["Authorization"] = []string{"Bearer " + key.reveal()}
	h["Content-Type"] = []string{"application/json"}
	h["Accept"] = []string{"application/json"}
	h["User-Agent"] = []string{c.userAgent}
	return h
}

// validHeaderName reports whether name is an HTTP token (RFC 9110).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// reservedHeaders are set by the client on every request.
var reservedHeaders = []string{"Authorization", "Content-Type", "Accept", "User-Agent"}

// extraHeaders checks the caller's headers and returns them canonical.
func extraHeaders(h map[string]string) (http.Header, error) {
	if len(h) == 0 {
		return nil, nil
	}
	out := make(http.Header, len(h))
	for name, value := range h {
		canon := http.CanonicalHeaderKey(name)
		if slices.Contains(reservedHeaders, canon) {
			return nil, fieldErrorf("Headers", "%s is set by the client", canon)
		}
		if !validHeaderName(name) {
			return nil, fieldErrorf("Headers", "%q is not a valid header name", name)
		}
		if strings.ContainsFunc(value, func(r rune) bool { return r != '\t' && (r < ' ' || r == 0x7f) }) {
			// The value may be a credential: name the header only.
			return nil, fieldErrorf("Headers", "the value of %s has characters a header cannot carry", canon)
		}
		out.Set(canon, value)
	}
	return out, nil
}

// userAgent puts this project's product token first, then whatever a front
// end adds.
func userAgent(custom string) (string, error) {
	custom = strings.TrimSpace(custom)
	for i := 0; i < len(custom); i++ {
		if custom[i] < ' ' || custom[i] == 0x7f {
			return "", fieldErrorf("UserAgent", "contains control characters")
		}
	}
	switch {
	case custom == "":
		return version.UserAgent(""), nil
	case strings.HasPrefix(custom, version.Product+"/"):
		return custom, nil
	}
	return version.UserAgent(custom), nil
}
