package localserver

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Query asks a Store for a page of run summaries, newest first (by
// RunSummary.Start, then id).
type Query struct {
	Status  string // StatusRunning, StatusCompleted or StatusFailed; "" for all
	AgentID string // "" for all
	// Text, if not empty, must occur (case-insensitively) in the run's id,
	// agent, external run id, error message, or the text of its input or
	// output (their first few KB).
	Text string
	// The run's start is within [From, To); zero bounds are open.
	From, To time.Time
	// At most one of Before and After, a Cursor of a previous Listing:
	// Before gives the runs older than it, After the runs newer.
	Before, After string
	Limit         int // default DefaultListLimit, at most MaxListLimit
}

// Listing limits.
const (
	DefaultListLimit = 50
	MaxListLimit     = 1000
)

// ErrBadCursor is returned by List for a cursor it did not give.
var ErrBadCursor = errors.New("localserver: malformed cursor")

// Listing is a page of run summaries.
type Listing struct {
	Runs    []RunSummary // newest first
	Total   int          // runs stored
	Matched int          // runs matching the query, on every page
	Offset  int          // matching runs newer than the first of Runs
	// Counts are the runs of each status among those matching the query
	// but for its Status.
	Counts map[string]int
	// Cursors of the pages next to this one: Older for Query.Before,
	// Newer for Query.After; empty where there is none.
	Older, Newer string
}

// Cursor names the run's place in the newest-first order of List, for
// Query.Before and Query.After.
func (s RunSummary) Cursor() string {
	return strconv.FormatInt(s.Start().UnixNano(), 36) + "." + s.ID
}

type place struct {
	start int64
	id    string
}

// parseCursor reads a Cursor; nil for none.
func parseCursor(c string) (*place, error) {
	if c == "" {
		return nil, nil
	}
	n, id, ok := strings.Cut(c, ".")
	start, err := strconv.ParseInt(n, 36, 64)
	if !ok || err != nil || id == "" {
		return nil, fmt.Errorf("%w %q", ErrBadCursor, c)
	}
	return &place{start, id}, nil
}

// newer reports whether s comes before p in the newest-first order.
func (p place) newer(s *RunSummary) bool {
	t := s.Start().UnixNano()
	return t > p.start || t == p.start && s.ID > p.id
}

// list answers q over every stored summary; matchText tells whether a run
// holds q.Text (lower case).
func list(all []RunSummary, q Query, matchText func(s *RunSummary, text string) bool) (Listing, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	before, err := parseCursor(q.Before)
	if err != nil {
		return Listing{}, err
	}
	after, err := parseCursor(q.After)
	if err != nil {
		return Listing{}, err
	}
	text := strings.ToLower(strings.TrimSpace(q.Text))
	out := Listing{Total: len(all), Counts: map[string]int{}}
	var matched []*RunSummary
	for i := range all {
		s := &all[i]
		if q.AgentID != "" && !strings.EqualFold(s.AgentID, q.AgentID) {
			continue
		}
		if start := s.Start(); !q.From.IsZero() && start.Before(q.From) || !q.To.IsZero() && !start.Before(q.To) {
			continue
		}
		if text != "" && !matchText(s, text) {
			continue
		}
		out.Counts[s.Status]++
		if q.Status == "" || s.Status == q.Status {
			matched = append(matched, s)
		}
	}
	out.Matched = len(matched)
	slices.SortFunc(matched, func(a, b *RunSummary) int {
		if c := b.Start().Compare(a.Start()); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	// The page: after a cursor, or the newest; before a cursor, the
	// newest of those older than it.
	from, to := 0, min(limit, len(matched))
	switch {
	case before != nil:
		from, _ = slices.BinarySearchFunc(matched, *before, func(s *RunSummary, p place) int {
			if p.newer(s) || s.Start().UnixNano() == p.start && s.ID == p.id {
				return -1
			}
			return 1
		})
		to = min(from+limit, len(matched))
	case after != nil:
		to, _ = slices.BinarySearchFunc(matched, *after, func(s *RunSummary, p place) int {
			if p.newer(s) {
				return -1
			}
			return 1
		})
		from = max(to-limit, 0)
	}
	out.Offset = from
	for _, s := range matched[from:to] {
		out.Runs = append(out.Runs, *s)
	}
	if to < len(matched) && to > from {
		out.Older = matched[to-1].Cursor()
	}
	if from > 0 && to > from {
		out.Newer = matched[from].Cursor()
	}
	return out, nil
}
