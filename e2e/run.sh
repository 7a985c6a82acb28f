#!/usr/bin/env bash
# End-to-end tests of the custom collectors (make e2e).
#
#   e2e/run.sh             build everything, then run the e2e tests
#   e2e/run.sh build       only build both collectors (make collector)
#   e2e/run.sh build-lb    only build the router (make collector-lb)
#
# Installs the Collector Builder v0.165.0 and v0.161.0 through the Go module
# proxy into .e2e/ (gitignored), builds otelcol-agentos (builder-config.yaml,
# builder v0.165.0) and the router of the scale-out layout, otelcol-agentos-lb
# (testdata/collector/builder-lb.yaml, builder v0.161.0: the manifest says
# why), builds agentos-localserver, then runs the Go tests under e2e/
# (build tag e2e), which start the local AgentOS server and the
# collectors, send OTLP traces and check the runs. Only Go is needed. The
# first run downloads and compiles the Collector (minutes); later runs
# reuse Go's module and build caches and the installed builders, and take
# seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/.e2e
mkdir -p "$out"

# Everything this script starts runs in its own process group (set -m), and
# the trap stops that group however the script ends.
pgid=
cleanup() {
	local rc=$?
	if [ -n "$pgid" ] && kill -0 -- "-$pgid" 2>/dev/null; then
		kill -TERM -- "-$pgid" 2>/dev/null || true
		sleep 2
		kill -KILL -- "-$pgid" 2>/dev/null || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
set -m

# run CMD...: runs a command in its own process group and waits for it.
run() {
	"$@" &
	pgid=$!
	wait "$pgid"
	local rc=$?
	pgid=
	return "$rc"
}

timings=()
# timed label cmd...: runs cmd, notes how long it took, and returns its
# status (called with ||, set -e does not stop at a failure inside).
timed() {
	local label=$1 start=$SECONDS rc=0
	shift
	run "$@" || rc=$?
	timings+=("$label: $((SECONDS - start))s")
	return "$rc"
}

build() { # builder-version manifest
	local bin=$out/builder-$1/builder log
	log=$out/build-$(basename "$2" .yaml).log
	if [ ! -x "$bin" ]; then
		echo "e2e: installing the Collector Builder $1"
		timed "install builder $1" env GOBIN="$out/builder-$1" go install "go.opentelemetry.io/collector/cmd/builder@$1"
	fi
	echo "e2e: building from $2 (log: ${log#"$root"/})"
	if ! timed "build $2" "$bin" --config "$2" >"$log" 2>&1; then
		cat "$log"
		return 1
	fi
}

export OTELCOL_AGENTOS=$out/otelcol-agentos/otelcol-agentos
export OTELCOL_LB=$out/otelcol-agentos-lb/otelcol-agentos-lb
if [ "${1:-}" = build-lb ]; then
	build v0.161.0 testdata/collector/builder-lb.yaml
	printf 'e2e: %s\n' "${timings[@]}"
	echo "e2e: $OTELCOL_LB"
	exit 0
fi
build v0.165.0 builder-config.yaml
build v0.161.0 testdata/collector/builder-lb.yaml

if [ "${1:-}" = build ]; then
	printf 'e2e: %s\n' "${timings[@]}"
	echo "e2e: $OTELCOL_AGENTOS"
	echo "e2e: $OTELCOL_LB"
	exit 0
fi

timed "build agentos-localserver" go build -o "$out/agentos-localserver" ./cmd/agentos-localserver
export AGENTOS_LOCALSERVER=$out/agentos-localserver

status=0
timed "e2e tests" go test -tags e2e -count=1 -v -timeout 10m ./e2e/ || status=$?
printf 'e2e: %s\n' "${timings[@]}"
exit "$status"
