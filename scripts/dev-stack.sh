#!/usr/bin/env bash
# Local development stack: setup, then Temporal dev server + worker + API in the
# background (logs in .data/logs/), prints how to call the API, waits.
# Ctrl-C stops everything this script started.
#
#   PORT              API port (default 8000)
#   TEMPORAL_PORT     Temporal frontend gRPC port (default 7233)
#   TEMPORAL_UI_PORT  Temporal Web UI port (default 8233)
#   DATABASE_URL      default postgres://postgres@127.0.0.1:5432/durable_tasks
#   SKIP_SETUP=1      don't run scripts/setup.sh first
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

: "${PORT:=8000}"
: "${TEMPORAL_PORT:=7233}"
: "${TEMPORAL_UI_PORT:=8233}"
: "${DATABASE_URL:=postgres://postgres@127.0.0.1:5432/durable_tasks}"
TEMPORAL=$ROOT/.tools/bin/temporal
TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
LOG_DIR=$ROOT/.data/logs
SEARCH_ATTRIBUTES=(TaskType TaskId BrandId TaskPriority) # see workflows/contracts/search-attributes.ts

log() { printf '==> %s\n' "$*"; }
die() { printf 'dev-stack: ERROR: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
temporal_ready() { "$TEMPORAL" operator namespace describe default --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; }
# wait_for <seconds> <command...>: poll once a second until the command succeeds
# (exit 0); exit status 2 means "give up now".
wait_for() {
  local timeout=$1; shift
  local rc
  for ((i = 0; i < timeout; i++)); do
    rc=0; "$@" || rc=$?
    ((rc == 0)) && return 0
    ((rc == 2)) && return 1 # 2 = will never succeed, stop polling
    sleep 1
  done
  return 1
}

[[ "${SKIP_SETUP:-0}" == 1 ]] || "$ROOT/scripts/setup.sh"
export PATH="$ROOT/.tools/node/node_modules/.bin:$PATH"
mkdir -p "$LOG_DIR"

# Fail early (before starting anything) if the API port is taken.
port_open "$PORT" && die "port $PORT is already in use; stop whatever listens there or set PORT=..."

# Kill every child we started, on Ctrl-C / SIGTERM / error exit.
PIDS=()
cleanup() {
  trap - INT TERM EXIT
  if ((${#PIDS[@]})); then
    log "stopping (pids ${PIDS[*]})"
    kill -TERM "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM # exit runs the EXIT trap exactly once

# start <name> <command...>: run in background, log to .data/logs/<name>.log.
start() {
  local name=$1; shift
  "$@" >"$LOG_DIR/$name.log" 2>&1 &
  PIDS+=("$!")
  log "started $name (pid $!, log .data/logs/$name.log)"
}

# --- Temporal dev server (SQLite file in .data so history survives restarts) ---
if temporal_ready; then
  # Left over from a previous run (or started by hand): reuse it, and make sure
  # our search attributes exist there (create is a no-op when they already do).
  log "Temporal already answering on $TEMPORAL_ADDRESS, reusing it (not stopped on exit)"
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do
    "$TEMPORAL" operator search-attribute create --address "$TEMPORAL_ADDRESS" \
      --name "$sa" --type Keyword >/dev/null || log "warning: could not register search attribute $sa"
  done
elif port_open "$TEMPORAL_PORT"; then
  die "port $TEMPORAL_PORT is in use but is not a Temporal server answering for namespace default"
else
  sa_flags=()
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do sa_flags+=(--search-attribute "$sa=Keyword"); done
  # useNewMatcher: task priority; one task-queue partition: priority order is strict (it holds per partition);
  # a 5 s ack interval: DELETE /tasks/{id}/ removes the closed execution within seconds instead of up to a minute.
  start temporal "$TEMPORAL" server start-dev \
    --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$ROOT/.data/temporal.db" --namespace default --log-level warn \
    "${sa_flags[@]}" \
    --dynamic-config-value matching.useNewMatcher=true \
    --dynamic-config-value matching.numTaskqueueReadPartitions=1 \
    --dynamic-config-value matching.numTaskqueueWritePartitions=1 \
    --dynamic-config-value history.transferProcessorUpdateAckInterval='"5s"' \
    --dynamic-config-value frontend.workerVersioningDataAPIs=true
  TEMPORAL_PID=${PIDS[-1]}
  temporal_started() { kill -0 "$TEMPORAL_PID" 2>/dev/null || return 2; temporal_ready; }
  wait_for 60 temporal_started || {
    tail -n 30 "$LOG_DIR/temporal.log" >&2
    die "Temporal did not answer on $TEMPORAL_ADDRESS within 60 s, or exited (log above)"
  }
  log "Temporal ready on $TEMPORAL_ADDRESS"
fi

# --- Worker and API: the app reads its config from the environment ---
set -a; source "$ROOT/.env"; set +a
export DATABASE_URL PORT TEMPORAL_ADDRESS TEMPORAL_NAMESPACE=default
start go-worker "$ROOT/.tools/bin/go-worker" # polls $TEMPORAL_TASK_QUEUE-go (workers/go/README.md); started first so PIDS[-2..-1] stay worker, api
start worker node dist/worker/main.js
start api node dist/api/server.js
# Up = /ready answers 200 (PostgreSQL, Temporal, and the worker polling the task
# queue; /health is liveness only) and neither process has already crashed
# (checking them lets a startup crash fail in a second instead of after the timeout).
api_healthy() {
  kill -0 "$WORKER_PID" "$API_PID" 2>/dev/null || return 2
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/ready" 2>/dev/null
}
WORKER_PID=${PIDS[-2]} API_PID=${PIDS[-1]}
wait_for 60 api_healthy || {
  for name in worker api; do printf -- '--- tail of .data/logs/%s.log\n' "$name" >&2; tail -n 20 "$LOG_DIR/$name.log" >&2; done
  die "API not ready on http://127.0.0.1:$PORT/ready within 60 s (see curl -s http://127.0.0.1:$PORT/ready), or worker/api exited (logs above)"
}

TOKEN=$(node dist/db/admin-cli.js token --username admin) || die "could not mint a token (admin-cli token --username admin)"
BRAND_ID=$(node dist/db/admin-cli.js demo-brand-id) || die "could not read the demo brand id (admin-cli demo-brand-id)"
DASHBOARD_LOGIN="user admin, password ${DEMO_ADMIN_PASSWORD:-(none set: npm run admin -- set-password --username admin)}"
cat <<EOF

Stack is up.
  API        http://127.0.0.1:$PORT
  Dashboard  http://127.0.0.1:$PORT/admin/  ($DASHBOARD_LOGIN)
  Web UI     http://127.0.0.1:$TEMPORAL_UI_PORT
  Logs       .data/logs/

  export TOKEN=$TOKEN
  curl -s http://127.0.0.1:$PORT/tasks/ -H "Authorization: Bearer \$TOKEN" -H "X-Brand-ID: $BRAND_ID"

Press Ctrl-C to stop.
EOF

# If any child dies on its own, tear the rest down too rather than limp along.
wait -n "${PIDS[@]}" || true
log "a process exited; see .data/logs/"
exit 1
