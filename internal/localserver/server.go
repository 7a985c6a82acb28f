package localserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBodyBytes is the body limit unless Options say otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Options configure a Server.
type Options struct {
	MaxBodyBytes int64            // default 1 MiB; larger bodies get 413
	Logger       *slog.Logger     // nil discards
	Now          func() time.Time // nil means time.Now
	// Store keeps the runs; nil keeps them in memory (NewMemoryStore).
	// The Server does not close it.
	Store Store
}

// Server is the ingest API as an http.Handler. It is safe for concurrent
// use.
type Server struct {
	maxBody int64
	log     *slog.Logger
	now     func() time.Time

	// One mutex guards everything but reads of the store: requests are
	// short, and a single lock around each check and write makes sequence
	// numbers and run closing trivially exact.
	mu       sync.Mutex
	keys     map[string]string // api key -> agent id
	store    Store             // read without mu; written under it
	stats    Stats
	faults   Faults
	rng      *rand.Rand
	bucket   tokenBucket // Faults.RequestsPerSecond
	failNext []fault
	injected []injection   // DropNext, ErrorEnvelopeNext
	hang     chan struct{} // non-nil: requests wait until it is closed
}

// New returns a Server with no agents registered.
func New(opts Options) *Server {
	s := &Server{maxBody: opts.MaxBodyBytes, log: opts.Logger, now: opts.Now,
		keys: map[string]string{}, store: opts.Store}
	if s.store == nil {
		s.store = NewMemoryStore()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.stats = newStats()
	s.rng = newRand(0)
	return s
}

// RegisterAgent accepts apiKey as an agent key of agentID. An agent may
// have several keys; registering a key again moves it to agentID.
func (s *Server) RegisterAgent(agentID, apiKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[apiKey] = agentID
}

// RevokeKey rejects apiKey from the next request on, as AgentOS does.
func (s *Server) RevokeKey(apiKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, apiKey)
}

// apiError is a rejection: its status and the envelope's error.
type apiError struct {
	status  int
	code    string
	message string
}

func reject(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// ServeHTTP handles one ingest request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests[r.URL.Path]++
	hang, latency, responseDelay := s.hang, s.faults.Latency, s.faults.ResponseDelay
	s.mu.Unlock()

	// Read the body before waiting: net/http notices a client that gives
	// up, and cancels r.Context, only once the body has been consumed.
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	// A body cut off by the limit leaves no way to notice the client
	// leaving, so such a request is not held (it could block forever).
	if readErr == nil && !wait(r, hang, latency) {
		s.log.Debug("client gave up", slog.String("path", r.URL.Path))
		return
	}
	if s.serveInjected(w, r, body, readErr) {
		return
	}
	if f, ok := s.nextFault(); ok {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		s.fail(w, r, reject(f.status, faultCode(f.status), "injected fault: %s", http.StatusText(f.status)))
		return
	}
	data, err := s.handle(w, r, body, readErr)
	if !wait(r, nil, responseDelay) {
		s.log.Debug("client gave up after the request was applied", slog.String("path", r.URL.Path))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Debug("accepted", slog.String("path", r.URL.Path))
	s.write(w, http.StatusOK, map[string]any{"data": data, "error": nil})
}

// handle checks a request from the outside in (path, method, key, body)
// and applies it.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, body []byte, readErr error) (any, *apiError) {
	if _, known := newBody(r.URL.Path); !known {
		return nil, reject(http.StatusNotFound, "not_found", "no endpoint %s", r.URL.Path)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, reject(http.StatusMethodNotAllowed, "method_not_allowed", "%s takes POST, not %s", r.URL.Path, r.Method)
	}
	agent, err := s.authenticate(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	if readErr != nil {
		if tooBig := new(http.MaxBytesError); errors.As(readErr, &tooBig) {
			return nil, reject(http.StatusRequestEntityTooLarge, "payload_too_large", "body exceeds %d bytes", s.maxBody)
		}
		return nil, reject(http.StatusBadRequest, "bad_request", "reading body: %v", readErr)
	}
	req, decErr := Decode(r.URL.Path, body)
	if decErr != nil {
		return nil, reject(http.StatusBadRequest, "validation_error", "%v", decErr)
	}
	return s.apply(agent, req)
}

// authenticate returns the agent of the bearer key in header.
func (s *Server) authenticate(header string) (string, *apiError) {
	scheme, key, _ := strings.Cut(header, " ")
	// HTTP allows any case for the scheme and several spaces after it
	// (RFC 9110, 11.4); the key itself is taken verbatim.
	key = strings.TrimLeft(key, " ")
	if !strings.EqualFold(scheme, "Bearer") || key == "" || strings.ContainsAny(key, " \t") {
		return "", reject(http.StatusUnauthorized, "unauthorized", "missing or malformed Authorization header: want Bearer <agent key>")
	}
	s.mu.Lock()
	agent, known := s.keys[key]
	s.mu.Unlock()
	switch {
	case known:
		return agent, nil
	case strings.HasPrefix(key, "aos_ws_"):
		return "", reject(http.StatusUnauthorized, "unauthorized", "a workspace key (aos_ws_…) cannot ingest: use the agent's key (aos_agent_…)")
	}
	return "", reject(http.StatusUnauthorized, "unauthorized", "unknown or revoked API key")
}

func checkContentType(header string) *apiError {
	mt, params, err := mime.ParseMediaType(header)
	if err != nil || mt != "application/json" {
		return reject(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json, got %q", header)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return reject(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type charset must be utf-8, got %q", cs)
	}
	return nil
}

// fail answers with the error envelope of e.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	s.log.Info("rejected", slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", e.status), slog.String("code", e.code), slog.String("error", e.message))
	s.write(w, e.status, map[string]any{"data": nil, "error": map[string]string{"code": e.code, "message": e.message}})
}

func (s *Server) write(w http.ResponseWriter, status int, envelope map[string]any) {
	s.mu.Lock()
	s.stats.Status[status]++
	if status >= 400 {
		s.stats.Rejected++
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(envelope)
}
