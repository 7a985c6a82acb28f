package mapping

import (
	"regexp"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Attribute keys the mapping reads. GenAI keys match semconv v1.41.0.
const (
	keyAgentID       = "agentos.agent_id"
	keyTriggerType   = "agentos.trigger_type"
	keyExternalRunID = "agentos.external_run_id"
	keyRunInput      = "agentos.run.input"
	keyRunOutput     = "agentos.run.output"
	keyLevel         = "agentos.level"

	keyExceptionMessage    = "exception.message"
	keyExceptionType       = "exception.type"
	keyExceptionStacktrace = "exception.stacktrace"
	keyErrorType           = "error.type"

	keyOpenInferenceKind = "openinference.span.kind"
	keyVercelOperationID = "ai.operationId"
)

const redactedValue = "[REDACTED]"

// TimeLayout is RFC 3339 in UTC with all nine fractional digits, so
// occurred_at keeps the span's nanoseconds and sorts as text.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// FormatTime renders t as occurred_at.
func FormatTime(t time.Time) string { return string(appendTime(nil, t)) }

// timeUTCExample is what TimeLayout renders for a year of four digits.
const timeUTCExample = "2006-01-02T15:04:05.000000000Z"

// appendTime appends t as FormatTime renders it, without the general
// layout interpreter for the years that have four digits.
func appendTime(buf []byte, t time.Time) []byte {
	u := t.UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		return u.AppendFormat(buf, TimeLayout)
	}
	hour, minute, sec := u.Clock()
	buf = appendDigits(buf, year, 4)
	buf = append(buf, '-')
	buf = appendDigits(buf, int(month), 2)
	buf = append(buf, '-')
	buf = appendDigits(buf, day, 2)
	buf = append(buf, 'T')
	buf = appendDigits(buf, hour, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, minute, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, sec, 2)
	buf = append(buf, '.')
	buf = appendDigits(buf, u.Nanosecond(), 9)
	return append(buf, 'Z')
}

// appendDigits appends n, which has at most width (up to 9) digits,
// zero-padded to width, two digits at a time.
func appendDigits(buf []byte, n, width int) []byte {
	var d [10]byte
	i := len(d)
	for n >= 10 {
		q := n / 100
		r := (n - q*100) * 2
		i -= 2
		d[i], d[i+1] = digitPairs[r], digitPairs[r+1]
		n = q
	}
	if n > 0 {
		i--
		d[i] = byte('0' + n)
	}
	for len(d)-i < width {
		i--
		d[i] = '0'
	}
	return append(buf, d[i:]...)
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

type redactAction uint8

const (
	redactNone redactAction = iota
	redactMask
	redactDrop
)

// Mapper applies Options to spans. It is safe for concurrent use.
type Mapper struct {
	opts         Options
	maxStringLen int
	minRank      int
	redactNames  map[string]struct{}
	redactRes    []*regexp.Regexp
	redactAction redactAction
}

// New returns a Mapper for opts, which must be valid.
func New(opts Options) (*Mapper, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	m := &Mapper{opts: opts, maxStringLen: opts.MaxStringLen, redactRes: opts.Redaction.Patterns}
	if m.maxStringLen == 0 {
		m.maxStringLen = DefaultMaxStringLen
	}
	if opts.DefaultTrigger == "" {
		m.opts.DefaultTrigger = agentosapi.TriggerSDK
	}
	if opts.MinLevel != "" {
		m.minRank = agentosapi.LevelRank(opts.MinLevel)
	}
	m.redactNames = make(map[string]struct{}, len(opts.Redaction.Names))
	for _, n := range opts.Redaction.Names {
		m.redactNames[n] = struct{}{}
	}
	m.redactAction = redactMask
	if opts.Redaction.Drop {
		m.redactAction = redactDrop
	}
	return m, nil
}

// Options returns the options the mapper was built with, defaults applied.
func (m *Mapper) Options() Options { return m.opts }

// redacting reports whether any redaction is configured.
func (m *Mapper) redacting() bool { return len(m.redactNames) > 0 || len(m.redactRes) > 0 }

func (m *Mapper) redact(key string) redactAction {
	if !m.redacting() {
		return redactNone
	}
	if _, ok := m.redactNames[key]; ok {
		return m.redactAction
	}
	for _, re := range m.redactRes {
		if re.MatchString(key) {
			return m.redactAction
		}
	}
	return redactNone
}

// keeps reports whether an event at level passes the minimum-level filter.
func (m *Mapper) keeps(level string) bool { return agentosapi.LevelRank(level) >= m.minRank }

// Selects reports whether a run root becomes an AgentOS run.
func (m *Mapper) Selects(root *spans.Span) bool {
	switch m.opts.Selector.Mode {
	case SelectInvokeAgent:
		op, _ := root.Attr(keyOperationName)
		s, _ := op.AsString()
		return s == opInvokeAgent
	case SelectNamePattern:
		return m.opts.Selector.Pattern.MatchString(root.Name)
	case SelectHasAgentID:
		_, ok := root.Attr(keyAgentID)
		return ok
	}
	return true
}

// AgentID is the span's agentos.agent_id, else its resource's, else the
// default. It may be empty when nothing names an agent.
func (m *Mapper) AgentID(s *spans.Span) string {
	if v, ok := s.Attr(keyAgentID); ok {
		if id, ok := v.AsString(); ok && id != "" {
			return id
		}
	}
	if v, ok := s.Resource.Attr(keyAgentID); ok {
		if id, ok := v.AsString(); ok && id != "" {
			return id
		}
	}
	return m.opts.DefaultAgentID
}

func stringAttr(attrs []spans.Attr, key string) string {
	v, _ := spans.Lookup(attrs, key)
	s, _ := v.AsString()
	return s
}

// firstAttr returns the first of keys present on the span.
func firstAttr(s *spans.Span, keys ...string) (string, spans.Value, bool) {
	for _, k := range keys {
		if v, ok := s.Attr(k); ok {
			return k, v, true
		}
	}
	return "", spans.Value{}, false
}

func firstInt(s *spans.Span, keys ...string) (int64, bool) {
	for _, k := range keys {
		if v, ok := s.Attr(k); ok {
			if n, ok := v.AsInt(); ok {
				return n, true
			}
		}
	}
	return 0, false
}

func firstString(s *spans.Span, keys ...string) string {
	for _, k := range keys {
		if v, ok := s.Attr(k); ok {
			if str, ok := v.AsString(); ok && str != "" {
				return str
			}
		}
	}
	return ""
}

// lastException returns the attributes of the span's last exception event.
func lastException(s *spans.Span) []spans.Attr {
	for i := len(s.Events) - 1; i >= 0; i-- {
		if s.Events[i].Name == "exception" {
			return s.Events[i].Attrs
		}
	}
	return nil
}

// errorText explains a failed span: its status message, else its last
// exception's message, else its error.type.
func errorText(s *spans.Span) string {
	if s.StatusMessage != "" {
		return s.StatusMessage
	}
	if msg := stringAttr(lastException(s), keyExceptionMessage); msg != "" {
		return msg
	}
	if t := firstString(s, keyErrorType); t != "" {
		return t
	}
	return s.Name + " failed"
}

// duration appends the span's duration in milliseconds (0 when it has not
// ended).
func (o *obj) duration(k string, s *spans.Span) {
	o.key(k)
	if !s.Ended() {
		o.buf = appendFloat(o.buf, 0)
		return
	}
	o.buf = appendMillis(o.buf, s.EndTime.Sub(s.StartTime).Nanoseconds())
}

func isVercel(s *spans.Span) bool {
	if strings.HasPrefix(s.Name, "ai.") {
		return true
	}
	_, ok := s.Attr(keyVercelOperationID)
	return ok
}
