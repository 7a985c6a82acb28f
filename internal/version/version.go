package version

import "strings"

// Product is the first token of every User-Agent this project sends.
const Product = "agentos-otel-go"

// Version is this project's release, bumped by the release process.
const Version = "0.1.0"

// UserAgent returns "agentos-otel-go/<Version>", followed by a space and
// component when component is not blank: UserAgent("sdkbridge") is
// "agentos-otel-go/0.1.0 sdkbridge". Leading and trailing blanks of
// component are dropped.
func UserAgent(component string) string {
	base := Product + "/" + Version
	if component = strings.TrimSpace(component); component != "" {
		return base + " " + component
	}
	return base
}
