package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
)

// ingestPrefix starts every path of the ingest API.
const ingestPrefix = "/api/ingest/"

// hostFlag collects repeated -allow-host NAME flags.
type hostFlag []string

func (h *hostFlag) String() string { return strings.Join(*h, ",") }

func (h *hostFlag) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || strings.ContainsAny(s, "/: ") {
		return fmt.Errorf("want a host name without port, such as host.docker.internal")
	}
	*h = append(*h, s)
	return nil
}

// checkHost answers 403 to a request for the pages or /_local whose Host
// is not loopback, an IP address, or a name in allowed. A page of another
// site whose name the attacker re-points at 127.0.0.1 (DNS rebinding)
// reaches this server with its own name as Host, and must not read the
// prompts and outputs it holds. The ingest API is left to its keys, which
// such a page does not have, so collectors may call it by any name.
func checkHost(allowed []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ingestPrefix) || hostAllowed(r.Host, allowed) {
			next.ServeHTTP(w, r)
			return
		}
		// The Host is the client's own word: not echoed, not logged whole.
		http.Error(w, "this server answers to localhost and IP addresses only; start it with -allow-host NAME to allow another name", http.StatusForbidden)
	})
}

func hostAllowed(hostport string, allowed []string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if net.ParseIP(host) != nil {
		// An address is an origin of its own: a rebinding page has a name.
		return true
	}
	// Browsers resolve localhost and *.localhost to loopback themselves
	// (RFC 6761), whatever DNS says.
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	return slices.Contains(allowed, host)
}

// recoverPanics answers 500 to a request whose handler panicked, logging
// the panic and its stack, so that one bad page does not take the
// connection down with no word said.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p) // a deliberate drop of the connection (injected faults)
			}
			log.Error("a handler panicked", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			// If the answer has begun, this is appended to it: the client
			// sees a broken answer rather than a silent one.
			http.Error(w, fmt.Sprintf("internal error: %v (the server's log has the details)", p), http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}
