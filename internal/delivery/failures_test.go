package delivery

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

var errUnauthorized = errors.New("401 Unauthorized: API key is not valid")

// Failed runs are reported once each, by cause, to the next Failures call,
// and logged one line per run.
func TestFailuresSummariseRunsByCause(t *testing.T) {
	rec := newRecorder()
	rec.failAll = errUnauthorized
	var logs bytes.Buffer
	s := New(rec, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	for k := range 3 {
		if err := s.Submit(runOps(runtracker.RunKey(k+1), 2)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := s.Failures()
	var failed *FailedRunsError
	if !errors.As(err, &failed) || failed.Runs != 3 || len(failed.Causes) != 1 {
		t.Fatalf("Failures() = %v, want 3 runs with one cause", err)
	}
	if !errors.Is(err, errUnauthorized) {
		t.Errorf("%v does not match its cause", err)
	}
	if want := "agentos: 3 runs not delivered: 401 Unauthorized: API key is not valid"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	if got := strings.Count(logs.String(), `"level":"ERROR"`); got != 3 {
		t.Errorf("%d error lines for 3 failed runs:\n%s", got, logs.String())
	}
	if err := s.Failures(); err != nil {
		t.Errorf("second Failures() = %v, want nil: each failure is reported once", err)
	}
	_ = s.Shutdown(context.Background())
}

func TestFailuresMessageWithSeveralCauses(t *testing.T) {
	var f failures
	now := time.Now()
	for i, err := range []error{errUnauthorized, errors.New("503"), errUnauthorized, errors.New("timeout"), errors.New("reset")} {
		f.add(err, now.Add(time.Duration(i)))
	}
	err := f.take()
	want := "agentos: 5 runs not delivered; 2: 401 Unauthorized: API key is not valid; 1: 503; 1: timeout; and 1 more causes"
	if err.Error() != want {
		t.Errorf("got %q\nwant %q", err.Error(), want)
	}
	if len(err.Unwrap()) != 4 {
		t.Errorf("Unwrap has %d causes, want 4", len(err.Unwrap()))
	}
}

// Past a few runs a minute with the same cause, runs are not logged one by
// one; the next window starts with a line saying how many were not.
func TestFailureLogsAreRateLimitedPerCause(t *testing.T) {
	var f failures
	now := time.Now()
	logged := 0
	for i := range 20 {
		if line, summary, _ := f.add(errUnauthorized, now.Add(time.Duration(i)*time.Second)); line {
			logged++
		} else if summary != "" {
			t.Fatalf("summary within the first window")
		}
	}
	if logged != logLinesPerCause {
		t.Fatalf("%d runs logged in one window, want %d", logged, logLinesPerCause)
	}
	line, summary, suppressed := f.add(errUnauthorized, now.Add(logWindowLength+time.Second))
	if !line || summary != errUnauthorized.Error() || suppressed != 20-logLinesPerCause {
		t.Fatalf("next window: line %v, summary %q of %d runs", line, summary, suppressed)
	}
	if other, _, _ := f.add(errors.New("503"), now); !other {
		t.Fatal("another cause is limited separately")
	}
}

type repeated struct{ of error }

func (r repeated) Error() string  { return "not sent again: " + r.of.Error() }
func (r repeated) Repeats() error { return r.of }

// A failure decided from an earlier one is that cause again, whichever
// order the runs fail in.
func TestFailuresCountRepeatsUnderTheirCause(t *testing.T) {
	var f failures
	now := time.Now()
	f.add(errUnauthorized, now)
	f.add(repeated{errUnauthorized}, now)
	f.add(repeated{errUnauthorized}, now)
	err := f.take()
	if len(err.Causes) != 1 || err.Causes[0].Runs != 3 {
		t.Fatalf("%v: want 3 runs under one cause", err)
	}
}
