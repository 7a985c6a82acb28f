package agentosapi

import (
	"regexp"
	"testing"
	"time"
)

// IsUUID agrees with the pattern it replaced for every byte at every
// position of a UUID, and for lengths around 36.
func TestIsUUIDMatchesThePattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	const valid = "3b241101-E2BB-4255-8caf-4136c566a962"
	if !IsUUID(valid) {
		t.Fatalf("IsUUID(%q) = false", valid)
	}
	for pos := range len(valid) {
		for b := range 256 {
			s := []byte(valid)
			s[pos] = byte(b)
			if got, want := IsUUID(string(s)), pattern.Match(s); got != want {
				t.Fatalf("IsUUID(%q) = %t, want %t", s, got, want)
			}
		}
	}
	for _, s := range []string{"", valid[:35], valid + "0", "-" + valid[1:], valid[:8] + "0" + valid[9:]} {
		if got, want := IsUUID(s), pattern.MatchString(s); got != want {
			t.Errorf("IsUUID(%q) = %t, want %t", s, got, want)
		}
	}
}

// ValidTimestamp accepts exactly what time.Parse(time.RFC3339Nano) does,
// for every byte at every position of the layout the mapping writes, for
// the calendar's edges, and for other layouts.
func TestValidTimestampMatchesTimeParse(t *testing.T) {
	parses := func(s string) bool { _, err := time.Parse(time.RFC3339Nano, s); return err == nil }
	base := "2024-02-29T23:59:59.123456789Z"
	for pos := range len(base) {
		for b := range 256 {
			s := []byte(base)
			s[pos] = byte(b)
			if got, want := ValidTimestamp(string(s)), parses(string(s)); got != want {
				t.Fatalf("ValidTimestamp(%q) = %t, time.Parse says %t", s, got, want)
			}
		}
	}
	for _, s := range []string{
		"2023-02-29T00:00:00.000000000Z", "2000-02-29T00:00:00.000000000Z", "1900-02-29T00:00:00.000000000Z",
		"2024-04-31T00:00:00.000000000Z", "2024-12-31T00:00:00.000000000Z", "2024-00-10T00:00:00.000000000Z",
		"2024-01-00T00:00:00.000000000Z", "2024-01-01T24:00:00.000000000Z", "2024-01-01T00:60:00.000000000Z",
		"2024-01-01T00:00:60.000000000Z", "0000-01-01T00:00:00.000000000Z", "9999-12-31T23:59:59.999999999Z",
		"2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5+02:00", "2024-01-01T00:00:00.000000000+00:00", "", "x",
	} {
		if got, want := ValidTimestamp(s), parses(s); got != want {
			t.Errorf("ValidTimestamp(%q) = %t, time.Parse says %t", s, got, want)
		}
	}
}
