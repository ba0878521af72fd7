#!/usr/bin/env bash
# Idempotent project setup. Safe to re-run; the second run only rebuilds and
# re-applies migrations/seed (both idempotent), everything else is skipped.
#
#   SETUP_SKIP_DB=1  skip database creation, build-dependent DB steps
#                    (create db, migrate, seed). Used by `make test`, whose
#                    tests create their own throwaway database.
#   SETUP_SKIP_CHROMIUM=1  don't install Debian's chromium (the dashboard's
#                    end-to-end test drives it; nothing else needs it)
#   DATABASE_URL     defaults to postgres://postgres@127.0.0.1:5432/durable_tasks
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

NODE_VERSION=24.21.0
TEMPORAL_CLI_VERSION=v1.5.1
NODE_BIN_DIR=$ROOT/.tools/node/node_modules/.bin
: "${DATABASE_URL:=postgres://postgres@127.0.0.1:5432/durable_tasks}"

log() { printf '==> %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# (a) Project-local Node 24: the system node is v20 (EOL). The `node` npm
# package ships the official binary, so npm is the only download channel needed.
if [[ "$("$NODE_BIN_DIR/node" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]]; then
  log "installing Node $NODE_VERSION into .tools/node"
  npm install --prefix .tools/node --no-save --no-audit --no-fund "node@$NODE_VERSION"
else
  log "Node $NODE_VERSION already installed"
fi
# Everything below (npm included) must run under Node 24.
export PATH="$NODE_BIN_DIR:$PATH"
[[ "$(node --version)" == "v$NODE_VERSION" ]] || die "node on PATH is $(node --version), expected v$NODE_VERSION"

# (b) Dependencies: `npm ci` wipes node_modules, so only run it when the
# lockfile differs from the one recorded at the last successful install.
STAMP=node_modules/.setup-stamp
LOCK_SHA=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || "$(cat "$STAMP" 2>/dev/null || true)" != "$LOCK_SHA" ]]; then
  log "npm ci (node_modules missing or package-lock.json changed)"
  npm ci --no-audit --no-fund
  echo "$LOCK_SHA" > "$STAMP"
else
  log "node_modules up to date with package-lock.json"
fi

# (c) Temporal CLI (dev server + Web UI), built from source via the Go proxy.
if [[ ! -x .tools/bin/temporal ]]; then
  log "building Temporal CLI $TEMPORAL_CLI_VERSION (takes a few minutes the first time)"
  GOBIN=$ROOT/.tools/bin go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
else
  log "Temporal CLI already built"
fi

# Debian packages for tests, installed when missing: needs root or passwordless
# sudo; without them, a warning says what to install by hand. `apt_install why pkg…`
apt_install() {
  local why=$1; shift
  if ! command -v apt-get >/dev/null 2>&1; then
    log "WARNING: $* missing and apt-get is not available; install them by hand ($why)"
    return 0
  fi
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      log "WARNING: $* missing and installing needs root: run 'sudo apt-get install -y $*' ($why)"
      return 0
    fi
  fi
  log "installing $* (apt-get): $why"
  "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || die "apt-get install $* failed; install by hand"
}

# (c2) Chromium for the dashboard's end-to-end test (playwright-core drives the
# system browser; no browser download).
if [[ "${SETUP_SKIP_CHROMIUM:-0}" != 1 ]]; then
  if command -v chromium >/dev/null 2>&1; then
    log "chromium already installed"
  else
    apt_install "the dashboard E2E test drives it; or set CHROMIUM_PATH, or re-run with SETUP_SKIP_CHROMIUM=1" chromium
  fi
fi

# (c3) curl, jq and Python's requests: the tests run seed 003's examples as
# written (bash with curl and jq, Python with requests).
SEED_TOOLS=()
command -v curl >/dev/null 2>&1 || SEED_TOOLS+=(curl)
command -v jq >/dev/null 2>&1 || SEED_TOOLS+=(jq)
if ! python3 -c 'import requests' >/dev/null 2>&1 && ! /usr/bin/python3 -c 'import requests' >/dev/null 2>&1; then
  SEED_TOOLS+=(python3-requests)
fi
if (( ${#SEED_TOOLS[@]} == 0 )); then
  log "curl, jq and python3 requests already installed"
else
  apt_install "the seed 003 example tests run them" "${SEED_TOOLS[@]}"
fi

# (d) .env with a random JWT secret, created once: regenerating it would
# invalidate every token already handed out.
if [[ ! -f .env ]]; then
  log "creating .env with a random JWT_SECRET"
  (umask 077; echo "JWT_SECRET=$(openssl rand -hex 48)" > .env)
else
  log ".env already exists, leaving it alone"
fi
# The demo admin's dashboard password, also created once (an .env from before
# the dashboard gets it appended); seed-demo sets it from the environment.
if ! grep -q '^DEMO_ADMIN_PASSWORD=' .env; then
  log "adding a random DEMO_ADMIN_PASSWORD to .env"
  echo "DEMO_ADMIN_PASSWORD=$(openssl rand -hex 12)" >> .env
fi

if [[ "${SETUP_SKIP_DB:-0}" != 1 ]]; then
  # (e) Application database (pg_trgm etc. are created by the migrations).
  DB_NAME=${DATABASE_URL##*/}; DB_NAME=${DB_NAME%%\?*}
  PG_ADMIN_URL=${DATABASE_URL%/*}/postgres
  if [[ "$(psql "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'")" != 1 ]]; then
    log "creating database $DB_NAME"
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE \"$DB_NAME\""
  else
    log "database $DB_NAME exists"
  fi
fi

# (f) Compile TypeScript into dist/.
"$ROOT/scripts/build-go-worker.sh" # the Go worker (workers/go) that dev-stack.sh starts beside the TS one
log "npm run build"
npm run build --silent || die "TypeScript build failed (npm run build); see the tsc errors above"

if [[ "${SETUP_SKIP_DB:-0}" != 1 ]]; then
  # The app reads JWT_SECRET etc. from the environment; export .env for it.
  set -a; source .env; set +a
  export DATABASE_URL
  # (g) + (h) both idempotent: migrations track what ran, seed-demo upserts.
  log "npm run migrate"
  npm run migrate --silent || die "migrations failed (npm run migrate, DATABASE_URL=$DATABASE_URL)"
  log "seeding demo brand and admin user (password: DEMO_ADMIN_PASSWORD in .env)"
  npm run admin --silent -- seed-demo || die "demo seed failed (npm run admin -- seed-demo)"
else
  log "SETUP_SKIP_DB=1: skipping database, migrations and seed"
fi

log "setup complete"
