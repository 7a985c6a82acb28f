package localserver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

func postTo(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+agentosapi.PathRunStart, strings.NewReader(startA))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

func TestListener(t *testing.T) {
	l, err := Start("127.0.0.1:0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Server().RegisterAgent(agentA, keyA)
	if !strings.HasPrefix(l.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", l.URL())
	}
	if status, err := postTo(t.Context(), l.URL()); err != nil || status != 200 {
		t.Fatalf("%d %v", status, err)
	}
	if len(l.Server().Runs()) != 1 {
		t.Fatal("the request did not reach the server")
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := postTo(t.Context(), l.URL()); err == nil {
		t.Fatal("served after Close")
	}
}

// TestListenerCloseWhileHanging: Close gives held requests until its
// context ends, then drops them instead of waiting for ever.
func TestListenerCloseWhileHanging(t *testing.T) {
	s := New(Options{})
	s.RegisterAgent(agentA, keyA)
	l, err := Listen("127.0.0.1:0", s)
	if err != nil {
		t.Fatal(err)
	}
	release := s.Hang()
	defer release()
	failed := make(chan error, 1)
	go func() {
		_, err := postTo(context.Background(), l.URL())
		failed <- err
	}()
	for s.Stats().Requests[agentosapi.PathRunStart] == 0 {
		time.Sleep(time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := l.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want the deadline", err)
	}
	select {
	case err := <-failed:
		if err == nil {
			t.Fatal("the held request got an answer")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held request is still held after Close")
	}
}

func TestListenBadAddress(t *testing.T) {
	if _, err := Start("127.0.0.1:-1", Options{}); err == nil {
		t.Fatal("listened on port -1")
	}
}
