package localserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Listener serves a Server on a TCP address.
type Listener struct {
	srv  *http.Server
	url  string
	done chan error
}

// Listen serves s on addr, such as "127.0.0.1:0".
func Listen(addr string, s *Server) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &Listener{
		srv:  &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
		url:  "http://" + ln.Addr().String(),
		done: make(chan error, 1),
	}
	go func() { l.done <- l.srv.Serve(ln) }()
	return l, nil
}

// URL is the base URL to give a client.
func (l *Listener) URL() string { return l.url }

// Close stops serving, waiting for requests in flight until ctx ends.
func (l *Listener) Close(ctx context.Context) error {
	err := l.srv.Shutdown(ctx)
	if serveErr := <-l.done; !errors.Is(serveErr, http.ErrServerClosed) {
		return errors.Join(err, serveErr)
	}
	return err
}
