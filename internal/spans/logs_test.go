package spans

import "testing"

// TestAppendLogs: log records follow the span events without writing into
// an array the span shares (a converter's pool), and come off again.
func TestAppendLogs(t *testing.T) {
	shared := make([]Event, 1, 4)
	shared[0] = Event{Name: "own"}
	s := Span{Events: shared[:1]}
	s.AppendLogs(Event{Name: "log1"}, Event{Name: "log2"})
	if got := shared[:2][1].Name; got != "" {
		t.Fatalf("AppendLogs wrote into the shared array: %q", got)
	}
	if len(s.SpanEvents()) != 1 || s.SpanEvents()[0].Name != "own" || len(s.Logs()) != 2 || s.Logs()[1].Name != "log2" {
		t.Fatalf("events %v, logs %v", s.SpanEvents(), s.Logs())
	}
	if logs := s.TakeLogs(); len(logs) != 2 || len(s.Events) != 1 || len(s.Logs()) != 0 {
		t.Fatalf("TakeLogs: took %v, left %v", logs, s.Events)
	}
	s.AppendLogs(Event{Name: "log3"})
	if len(s.Logs()) != 1 || s.Logs()[0].Name != "log3" || s.SpanEvents()[0].Name != "own" {
		t.Fatalf("after re-attach: %v", s.Events)
	}
}
