#!/usr/bin/env bash
# End-to-end tests: builds otelcol-agentos (Collector Builder v0.165.0) and
# the routing collector (v0.161.0) through the Go module proxy, then runs
# the e2e Go tests against the binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/.e2e
mkdir -p "$out"

build() { # builder-version manifest
  local version=$1 manifest=$2 bin=$out/builder-$1
  if [ ! -x "$bin/builder" ]; then
    echo "e2e: installing the Collector Builder $version"
    GOBIN=$bin go install "go.opentelemetry.io/collector/cmd/builder@$version"
  fi
  echo "e2e: building from $manifest"
  local start=$SECONDS
  "$bin/builder" --config "$manifest" >"$out/build-$(basename "$manifest" .yaml).log" 2>&1 ||
    { cat "$out/build-$(basename "$manifest" .yaml).log"; return 1; }
  echo "e2e: built in $((SECONDS - start))s"
}

build v0.165.0 builder-config.yaml
build v0.161.0 testdata/collector/builder-lb.yaml

export OTELCOL_AGENTOS=$out/otelcol-agentos/otelcol-agentos
export OTELCOL_LB=$out/otelcol-agentos-lb/otelcol-agentos-lb
go test -tags e2e -count=1 -v -timeout 15m ./e2e/
