package version

import "testing"

func TestUserAgent(t *testing.T) {
	for component, want := range map[string]string{
		"":                     "agentos-otel-go/" + Version,
		"  ":                   "agentos-otel-go/" + Version,
		"sdkbridge":            "agentos-otel-go/" + Version + " sdkbridge",
		" collector-exporter ": "agentos-otel-go/" + Version + " collector-exporter",
	} {
		if got := UserAgent(component); got != want {
			t.Errorf("UserAgent(%q) = %q, want %q", component, got, want)
		}
	}
	if Version != "0.1.0" {
		t.Errorf("Version = %q", Version)
	}
}
