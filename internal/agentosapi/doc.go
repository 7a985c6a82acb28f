// Package agentosapi holds the wire types of the AgentOS ingest API
// (docs/agentos-api.md) and the rules that decide whether a request is
// valid. The ingest client and the local server both use it, so the client
// can never drift from what the server enforces.
package agentosapi
