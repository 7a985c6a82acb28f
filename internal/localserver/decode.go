package localserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

type validator interface{ Validate() error }

// newBody returns an empty request of the endpoint at path.
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

// Decode applies the server's strict decoding and validation to a body sent
// to path, without auth or run state. It returns a pointer to the
// agentosapi request type of path.
func Decode(path string, body []byte) (any, error) {
	v, ok := newBody(path)
	if !ok {
		return nil, fmt.Errorf("no endpoint %s", path)
	}
	if err := decodeStrict(body, v); err != nil {
		return nil, err
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeStrict decodes exactly one JSON value into v.
func decodeStrict(body []byte, v any) error {
	// encoding/json would replace bad bytes silently; a client that cuts a
	// string inside a UTF-8 sequence must hear about it here.
	if !utf8.Valid(body) {
		return errors.New("body is not valid UTF-8")
	}
	switch trimmed := bytes.TrimLeft(body, " \t\r\n"); {
	case len(trimmed) == 0:
		return errors.New("empty body: want a JSON object")
	case trimmed[0] != '{':
		return errors.New("body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describe(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("invalid JSON: data after the top-level value")
	}
	// encoding/json matches names case-insensitively and keeps the last of
	// repeated keys; the hosted API need not, so insist on exact names once.
	return checkNames(json.NewDecoder(bytes.NewReader(body)), reflect.TypeOf(v).Elem(), "")
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

// checkNames reads the next value from dec, which has already decoded into
// Go type t, and rejects object keys that are not exactly one of the
// struct's JSON names, or that repeat. Free-form objects (json.RawMessage)
// are skipped.
func checkNames(dec *json.Decoder, t reflect.Type, at string) error {
	if t == rawMessage {
		var skip json.RawMessage
		return dec.Decode(&skip)
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch {
	case tok == json.Delim('{') && t.Kind() == reflect.Struct:
		fields := jsonFields(t)
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			name := key
			if at != "" {
				name = at + "." + key
			}
			if seen[key] {
				return fmt.Errorf("field %q appears more than once", name)
			}
			seen[key] = true
			ft, ok := fields[key]
			if !ok {
				return fmt.Errorf("unknown field %q (field names are case-sensitive)", name)
			}
			if err := checkNames(dec, ft, name); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case tok == json.Delim('[') && t.Kind() == reflect.Slice:
		for i := 0; dec.More(); i++ {
			if err := checkNames(dec, t.Elem(), fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case tok == json.Delim('{') || tok == json.Delim('['):
		// Unreachable after a successful Decode; kept so a new field type
		// fails loudly instead of being waved through.
		return fmt.Errorf("field %q: unexpected %v", at, tok)
	}
	return nil // a scalar, already type-checked by the decoder
}

// jsonFields maps the JSON names of struct t to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-":
			continue
		case name == "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// describe turns a decoding error into a message that names the problem.
func describe(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Errorf("field %s: expected %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("invalid JSON at byte %d: %v", syntaxErr.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: the body ends before the value does")
	}
	return fmt.Errorf("invalid body: %v", err) // such as `json: unknown field "x"`
}
