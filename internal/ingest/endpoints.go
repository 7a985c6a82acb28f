package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// StartRun opens a run and returns its id, with the key of req.AgentID.
//
// run/start is not idempotent: when an attempt's outcome is unknown
// (timeout after sending, reset connection, a 5xx other than 503), a retry
// may open a second run. Failures that provably had no effect are retried
// within the budget; after an ambiguous one the start is tried once more,
// with twice the timeout, and then given up with a *RunMayExistError
// (ErrRunMayExist) naming the ExternalRunID, so the caller can report the
// run that may stay open. Set ExternalRunID so that it can be reconciled.
func (c *Client) StartRun(ctx context.Context, req *agentosapi.StartRunRequest) (string, error) {
	if req == nil {
		return "", fmt.Errorf("ingest: POST %s: %w: nil request", agentosapi.PathRunStart, agentosapi.ErrInvalid)
	}
	if err := req.Validate(); err != nil {
		return "", fmt.Errorf("ingest: POST %s: %w", agentosapi.PathRunStart, err)
	}
	key, err := c.keys.key(req.AgentID)
	if err != nil {
		return "", err
	}
	var data agentosapi.StartRunResponse
	rc := retryCall{endpoint: agentosapi.PathRunStart, maxAmbiguous: maxAmbiguousStarts, starts: startObserver(ctx)}
	out, err := c.postJSON(ctx, rc, req.AgentID, key, req, &data)
	err = c.shrinkTooLarge(ctx, err, rc.endpoint, len(req.Input), func(keep int) error {
		cut := *req
		cut.Input = truncatedObject(req.Input, keep)
		o, err := c.postJSON(ctx, rc, req.AgentID, key, &cut, &data)
		out.attempts, out.ambiguous = out.attempts+o.attempts, out.ambiguous+o.ambiguous
		return err
	})
	if err != nil {
		if out.ambiguous > 0 {
			c.stats.runsMayExist.Add(1)
			return "", &RunMayExistError{AgentID: req.AgentID, ExternalRunID: req.ExternalRunID,
				Attempts: out.attempts, AmbiguousAttempts: out.ambiguous, Err: err}
		}
		return "", err
	}
	if out.ambiguous > 0 {
		c.stats.startsMaybeDuplicated.Add(1)
		// The id in the message: log sampling keyed on the message (the
		// Collector's) keeps every such line.
		c.log.LogAttrs(ctx, slog.LevelWarn, "AgentOS may hold an earlier open run with external_run_id "+req.ExternalRunID+
			": a run/start attempt with an unknown outcome came before the one that started this run; close the earlier one in AgentOS",
			slog.String("agent_id", req.AgentID), slog.String("external_run_id", req.ExternalRunID), slog.String("run_id", data.RunID))
	}
	if !agentosapi.IsUUID(data.RunID) {
		return "", permanentf("ingest: POST %s: the answer's run_id %q is not a uuid", agentosapi.PathRunStart, data.RunID)
	}
	return data.RunID, nil
}

// StartObserver hears each attempt of a StartRun whose context carries it
// (see WithStartObserver), so that the caller can record durably, before
// a request may reach AgentOS, that the run may exist, and take that back
// when the attempt provably had no effect (IsAmbiguous is false).
type StartObserver interface {
	// Sending is called before each attempt; the attempt waits for it.
	Sending()
	// Attempted is called after each attempt with its error, nil when it
	// succeeded.
	Attempted(err error)
}

type startObserverKey struct{}

// WithStartObserver returns a context with which StartRun tells o about
// its attempts.
func WithStartObserver(ctx context.Context, o StartObserver) context.Context {
	return context.WithValue(ctx, startObserverKey{}, o)
}

func startObserver(ctx context.Context) StartObserver {
	o, _ := ctx.Value(startObserverKey{}).(StartObserver)
	return o
}

// maxAmbiguousStarts bounds the run/start attempts that may each have
// opened a run: one, and one more with a longer timeout.
const maxAmbiguousStarts = 2

// SendEvents sends events to a run, in order, in as many sequential
// requests as MaxBodyBytes (the whole encoded body) and MaxBatchEvents
// require. An event that is invalid or alone exceeds MaxBodyBytes is left
// out and the others are sent; callers truncate content upstream so this
// does not happen. A request answered 413 is split in halves, down to one
// event, and an event that alone is answered 413 is sent with its payload
// cut (see truncateEvent), so no run loses its timeline to a 413. A request
// sent again after an ambiguous failure may be recorded twice, which
// Stats.EventsMaybeDuplicated counts. When some events were sent or left out but not all were
// sent, the error is a *SendEventsError; when none was sent for a single
// reason, it is that reason. A 409 matches ErrRunClosed.
func (c *Client) SendEvents(ctx context.Context, agentID, runID string, events []agentosapi.Event) error {
	if len(events) == 0 {
		return nil
	}
	if !agentosapi.IsUUID(runID) {
		return fmt.Errorf("ingest: POST %s: %w: run_id %q must be a uuid", agentosapi.PathEvents, agentosapi.ErrInvalid, runID)
	}
	key, err := c.keys.key(agentID)
	if err != nil {
		return err
	}
	overhead := eventsOverhead(runID)
	scratch := c.getBuf()
	ok, b := checkEvents(scratch.AvailableBuffer(), events, overhead, c.maxBody)
	scratch.Write(b[:0]) // keeps what grew
	c.putBuf(scratch)

	s := &eventSender{c: c, agentID: agentID, runID: runID, key: key, events: events, ok: ok, body: c.getBuf()}
	n := len(ok.sizes)
	var failed error
	for first := 0; first < n; {
		end := nextBatch(ok.size, n, first, overhead, c.maxBody, c.maxEvents)
		if failed = s.send(ctx, first, end); failed != nil {
			break
		}
		first = end
	}
	c.putBuf(s.body)
	sent := s.sent
	switch {
	case failed == nil && len(ok.bad) == 0:
		return nil
	case sent == 0 && len(ok.bad) == 0:
		return failed // nothing to add: none was sent
	}
	return &SendEventsError{Total: len(events), Sent: sent, Err: failed, Rejected: ok.bad}
}

// CompleteRun closes a run as completed. A 409, the run being closed
// already (perhaps by an earlier attempt whose answer was lost), is success.
func (c *Client) CompleteRun(ctx context.Context, agentID string, req *agentosapi.CompleteRunRequest) error {
	if req == nil {
		return fmt.Errorf("ingest: POST %s: %w: nil request", agentosapi.PathRunComplete, agentosapi.ErrInvalid)
	}
	return c.closeRun(ctx, agentosapi.PathRunComplete, agentID, req.RunID, req.Validate, req, len(req.Output), func(keep int) any {
		cut := *req
		cut.Output = truncatedObject(req.Output, keep)
		return &cut
	})
}

// FailRun closes a run as failed. A 409 is success, as for CompleteRun.
func (c *Client) FailRun(ctx context.Context, agentID string, req *agentosapi.FailRunRequest) error {
	if req == nil {
		return fmt.Errorf("ingest: POST %s: %w: nil request", agentosapi.PathRunFail, agentosapi.ErrInvalid)
	}
	return c.closeRun(ctx, agentosapi.PathRunFail, agentID, req.RunID, req.Validate, req, len(req.ErrorDetail), func(keep int) any {
		cut := *req
		cut.ErrorDetail = truncatedObject(req.ErrorDetail, keep)
		return &cut
	})
}

// closeRun posts req; after a 413 it posts cut(keep) requests, whose large
// field (size bytes) is cut to keep bytes.
func (c *Client) closeRun(ctx context.Context, endpoint, agentID, runID string, validate func() error, req any,
	size int, cut func(keep int) any) error {
	if err := validate(); err != nil {
		return fmt.Errorf("ingest: POST %s: %w", endpoint, err)
	}
	key, err := c.keys.key(agentID)
	if err != nil {
		return err
	}
	_, err = c.postJSON(ctx, retryCall{endpoint: endpoint}, agentID, key, req, nil)
	err = c.shrinkTooLarge(ctx, err, endpoint, size, func(keep int) error {
		_, err := c.postJSON(ctx, retryCall{endpoint: endpoint}, agentID, key, cut(keep), nil)
		return err
	})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusConflict {
		c.log.LogAttrs(ctx, slog.LevelDebug, "AgentOS run was already closed",
			slog.String("endpoint", endpoint), slog.String("run_id", runID), slog.String("message", apiErr.Message))
		return nil
	}
	return err
}

// PutTask creates or updates a task of a run. A 409 matches ErrRunClosed.
func (c *Client) PutTask(ctx context.Context, agentID string, req *agentosapi.TaskRequest) error {
	if req == nil {
		return fmt.Errorf("ingest: POST %s: %w: nil request", agentosapi.PathTasks, agentosapi.ErrInvalid)
	}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("ingest: POST %s: %w", agentosapi.PathTasks, err)
	}
	key, err := c.keys.key(agentID)
	if err != nil {
		return err
	}
	_, err = c.postJSON(ctx, retryCall{endpoint: agentosapi.PathTasks}, agentID, key, req, nil)
	return err
}
