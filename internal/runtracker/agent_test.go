package runtracker_test

// goldenAgent is the default agent id of the tracker's tests; the golden
// tests (exporter/agentosexporter/internal/pdataspans) use the same one.
const goldenAgent = "00000000-0000-4000-8000-000000000001"
