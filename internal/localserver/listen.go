package localserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Listener serves a Server on a TCP address.
type Listener struct {
	server *Server
	http   *http.Server
	url    string
	done   chan error // Serve's result

	closeOnce sync.Once
	closeErr  error
}

// Start serves a new Server with opts on addr, such as "127.0.0.1:0".
// Register agents through Listener.Server.
func Start(addr string, opts Options) (*Listener, error) {
	return Listen(addr, New(opts))
}

// Listen serves s on addr, such as "127.0.0.1:0".
func Listen(addr string, s *Server) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &Listener{
		server: s,
		// No ReadTimeout: it would also cut requests held by Latency or Hang.
		http: &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
		url:  "http://" + ln.Addr().String(),
		done: make(chan error, 1),
	}
	go func() { l.done <- l.http.Serve(ln) }()
	return l, nil
}

// Server is the served Server.
func (l *Listener) Server() *Server { return l.server }

// URL is the base URL to give a client, such as "http://127.0.0.1:41234".
func (l *Listener) URL() string { return l.url }

// Close stops serving. It waits for requests in flight until ctx ends,
// then drops their connections. Later calls return the first call's
// result.
func (l *Listener) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		err := l.http.Shutdown(ctx)
		if err != nil {
			// Requests still held (by Hang, say) see their client leave.
			err = errors.Join(err, l.http.Close())
		}
		if serveErr := <-l.done; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		l.closeErr = err
	})
	return l.closeErr
}
