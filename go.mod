module github.com/agentos-ai/agentos-otel

go 1.26.0
