package frontend

import (
	"errors"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/configerr"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
)

func TestRetryPolicyKeepsDefaultsAndOff(t *testing.T) {
	def := ingest.DefaultRetryPolicy()
	if got := (Retry{}).Policy(); got.Enabled || got.InitialInterval != def.InitialInterval || got.MaxElapsedTime != def.MaxElapsedTime {
		t.Errorf("zero Retry: %+v, want the defaults with retries off", got)
	}
	got := Retry{Enabled: true, MaxInterval: time.Second, Multiplier: 3}.Policy()
	if !got.Enabled || got.MaxInterval != time.Second || got.Multiplier != 3 || got.RandomizationFactor != def.RandomizationFactor {
		t.Errorf("policy %+v", got)
	}
}

func TestNamesPerFrontEnd(t *testing.T) {
	err := errors.Join(&configerr.FieldError{Field: "Tracker.Grace", Err: errors.New("must not be negative")},
		&configerr.FieldError{Field: "Tracker.MaxRunDuration", Err: errors.New("must not be negative")})
	if got, want := SDKNames(err).Error(), "WithTiming(Timing{GracePeriod}): must not be negative\nWithMaxRunDuration: must not be negative"; got != want {
		t.Errorf("SDK: %q, want %q", got, want)
	}
	// The Collector has no max run duration: the core's name stays.
	if got, want := YAMLNames(err).Error(), "timing::grace_period: must not be negative\nTracker.MaxRunDuration: must not be negative"; got != want {
		t.Errorf("YAML: %q, want %q", got, want)
	}
	for field, n := range names {
		if n.sdk == "" {
			t.Errorf("%s has no SDK name", field)
		}
	}
}

func TestInsecureHintOnlyForHTTP(t *testing.T) {
	if got := InsecureHint(ingest.CheckBaseURL("http://agentos.example.com", false), "x"); got != " (x permits it)" {
		t.Errorf("hint %q", got)
	}
	if got := InsecureHint(ingest.CheckBaseURL("https://agentos.example.com/?q=1", false), "x"); got != "" {
		t.Errorf("hint %q for a query", got)
	}
}

func TestSmallPool(t *testing.T) {
	for _, tc := range []struct {
		perHost, maxIdle, concurrency int
		small                         bool
	}{
		{256, 0, 256, false},
		{2, 0, 256, true},
		{256, 100, 256, true},
		{256, 300, 256, false},
	} {
		if got := SmallPool(tc.perHost, tc.maxIdle, tc.concurrency); got != tc.small {
			t.Errorf("SmallPool%v = %v", tc, got)
		}
	}
}

func TestIdlePool(t *testing.T) {
	for _, tc := range []struct {
		perHost, maxIdle, concurrency int
		wantPerHost, wantMaxIdle      int
	}{
		{16, 0, 256, 256, 0},     // unbounded in all stays so
		{16, 100, 256, 256, 256}, // both raised
		{300, 500, 256, 300, 500},
		{0, 8, 32, 32, 32},
	} {
		perHost, maxIdle := IdlePool(tc.perHost, tc.maxIdle, tc.concurrency)
		if perHost != tc.wantPerHost || maxIdle != tc.wantMaxIdle {
			t.Errorf("IdlePool(%d, %d, %d) = %d, %d; want %d, %d", tc.perHost, tc.maxIdle, tc.concurrency, perHost, maxIdle, tc.wantPerHost, tc.wantMaxIdle)
		}
	}
}

func TestEffectivePerHost(t *testing.T) {
	for v, want := range map[int]int{0: 2, -1: 0, 16: 16} {
		if got := EffectivePerHost(v); got != want {
			t.Errorf("EffectivePerHost(%d) = %d, want %d", v, got, want)
		}
	}
}
