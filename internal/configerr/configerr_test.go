package configerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestRename(t *testing.T) {
	cause := errors.New("must be at least 256, got 100")
	core := fmt.Errorf("ingest: %w", &FieldError{Field: "Config.MaxBodyBytes", Err: cause})
	names := map[string]string{"Config.MaxBodyBytes": "WithLimits(Limits{MaxRequestBytes})"}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"renamed", core, "WithLimits(Limits{MaxRequestBytes}): must be at least 256, got 100"},
		{"no name for it", fmt.Errorf("ingest: %w", &FieldError{Field: "Config.UserAgent", Err: cause}), "ingest: Config.UserAgent: must be at least 256, got 100"},
		{"not a field error", cause, cause.Error()},
		{"joined", errors.Join(core, fmt.Errorf("ingest: %w", &FieldError{Field: "Config.UserAgent", Err: cause})),
			"WithLimits(Limits{MaxRequestBytes}): must be at least 256, got 100\ningest: Config.UserAgent: must be at least 256, got 100"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Rename(tt.err, func(f string) string { return names[f] })
			if got.Error() != tt.want || !errors.Is(got, cause) {
				t.Errorf("Rename = %q, want %q wrapping the cause", got, tt.want)
			}
		})
	}
}
