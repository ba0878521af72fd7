#!/usr/bin/env bash
# Builds the Go worker (workers/go) into .tools/bin/go-worker. Idempotent: go's build cache makes a rebuild of
# unchanged sources take about a second; the first build downloads the modules from the Go proxy (go.sum pins them).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null 2>&1 || { echo 'build-go-worker: ERROR: go is not on PATH (Go 1.26 is needed for workers/go)' >&2; exit 1; }
mkdir -p .tools/bin
(cd workers/go && go build -trimpath -o ../../.tools/bin/go-worker .)
echo '==> built .tools/bin/go-worker'
