package mapping

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestMappingDocListsEveryKey keeps docs/mapping.md in step with the
// classifier: every key the mapping reads is documented, and every key in
// the documented tables is one it reads.
func TestMappingDocListsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../../docs/mapping.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start, end := strings.Index(doc, "<!-- keys:start -->"), strings.Index(doc, "<!-- keys:end -->")
	if start < 0 || end < start {
		t.Fatal("docs/mapping.md: no <!-- keys:start --> … <!-- keys:end --> section")
	}
	tables := doc[start:end]
	known := map[string]bool{}
	for _, k := range recognisedKeys() {
		known[k] = true
		if !strings.Contains(tables, "`"+k+"`") {
			t.Errorf("docs/mapping.md does not document %q", k)
		}
	}
	for _, line := range strings.Split(tables, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.SplitN(line, "|", 3)[1]
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cell, -1) {
			if !known[m[1]] {
				t.Errorf("docs/mapping.md documents %q, which the mapping does not read", m[1])
			}
		}
	}
}
