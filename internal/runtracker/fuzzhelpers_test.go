package runtracker_test

import (
	"bytes"
	"io"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func newLike(v interface{ Validate() error }) interface{ Validate() error } {
	switch v.(type) {
	case *agentosapi.StartRunRequest:
		return &agentosapi.StartRunRequest{}
	case *agentosapi.EventsRequest:
		return &agentosapi.EventsRequest{}
	case *agentosapi.TaskRequest:
		return &agentosapi.TaskRequest{}
	case *agentosapi.FailRunRequest:
		return &agentosapi.FailRunRequest{}
	}
	return &agentosapi.CompleteRunRequest{}
}
