package localserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

type validator interface{ Validate() error }

// newBody returns the request type of an ingest path.
func newBody(path string) (validator, bool) {
	switch path {
	case agentosapi.PathRunStart:
		return &agentosapi.StartRunRequest{}, true
	case agentosapi.PathEvents:
		return &agentosapi.EventsRequest{}, true
	case agentosapi.PathRunComplete:
		return &agentosapi.CompleteRunRequest{}, true
	case agentosapi.PathRunFail:
		return &agentosapi.FailRunRequest{}, true
	case agentosapi.PathTasks:
		return &agentosapi.TaskRequest{}, true
	}
	return nil, false
}

// Decode applies the server's strict decoding and validation to a body
// sent to path, without auth or run state: unknown fields, wrong types,
// trailing data and anything the API's rules reject are errors.
func Decode(path string, body []byte) (any, error) {
	v, ok := newBody(path)
	if !ok {
		return nil, fmt.Errorf("unknown path %s", path)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, describe(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	if err := requireFields(path, body); err != nil {
		return nil, err
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}

// requireFields rejects bodies that omit a required array, which the
// decoder alone would read as empty.
func requireFields(path string, body []byte) error {
	if path != agentosapi.PathEvents {
		return nil
	}
	var probe struct {
		Events json.RawMessage `json:"events"`
	}
	_ = json.Unmarshal(body, &probe)
	if len(probe.Events) == 0 || bytes.Equal(probe.Events, []byte("null")) {
		return errors.New("events is required")
	}
	return nil
}

func describe(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Errorf("field %s: expected %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("invalid JSON at byte %d: %v", syntaxErr.Offset, err)
	case errors.Is(err, io.EOF):
		return errors.New("empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: the body ends before the value does")
	}
	return fmt.Errorf("invalid body: %v", err) // includes `unknown field "x"`
}
