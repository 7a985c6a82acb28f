package localserver

import (
	"log/slog"
	"net/http"
)

// injection is a scripted misbehaviour of one request, queued by
// DropNext or ErrorEnvelopeNext and served before FailNext's.
type injection struct {
	drop    bool // close the connection without an answer
	applied bool // with drop: apply the request first
	code    string
	message string // without drop: answer 200 with this envelope error
}

// DropNext closes the connection of each of the next n requests without
// answering. With applied, each request takes effect first, as when an
// answer is lost on its way back: a client cannot tell the two apart, and
// a retry of an applied request is applied again. Calls queue up.
func (s *Server) DropNext(n int, applied bool) {
	s.inject(n, injection{drop: true, applied: applied})
}

// ErrorEnvelopeNext answers each of the next n requests 200 with an
// envelope whose error is {code, message} and whose data is null, without
// applying them. Calls queue up.
func (s *Server) ErrorEnvelopeNext(n int, code, message string) {
	s.inject(n, injection{code: code, message: message})
}

func (s *Server) inject(n int, in injection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.injected = append(s.injected, in)
	}
}

// serveInjected serves the next injection, if any, and reports whether it
// did.
func (s *Server) serveInjected(w http.ResponseWriter, r *http.Request, body []byte, readErr error) bool {
	s.mu.Lock()
	if len(s.injected) == 0 {
		s.mu.Unlock()
		return false
	}
	in := s.injected[0]
	s.injected = s.injected[1:]
	s.mu.Unlock()
	if !in.drop {
		s.log.Info("answered 200 with an injected error", slog.String("path", r.URL.Path), slog.String("code", in.code))
		s.write(w, http.StatusOK, map[string]any{"data": nil, "error": map[string]string{"code": in.code, "message": in.message}})
		return true
	}
	if in.applied {
		_, _ = s.handle(w, r, body, readErr)
	}
	s.log.Info("dropped the connection", slog.String("path", r.URL.Path), slog.Bool("applied", in.applied))
	// net/http closes the connection, unanswered, and logs nothing.
	panic(http.ErrAbortHandler)
}
