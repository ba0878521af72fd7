# Thin wrappers around scripts/; `make` alone prints help.
# The project runs on a project-local Node 24 (system node is v20), so put it
# first in PATH for every recipe (npm then runs under Node 24 too).
export PATH := $(CURDIR)/.tools/node/node_modules/.bin:$(PATH)
SHELL := /bin/bash

.DEFAULT_GOAL := help
.PHONY: help up test setup build bench clean token

help: ## show this help
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

up: ## install, then run Temporal dev server + worker + API (Ctrl-C stops)
	scripts/dev-stack.sh

test: ## typecheck, lint and run the tests (they start their own Temporal + database)
	SETUP_SKIP_DB=1 scripts/setup.sh
	npm run typecheck && npm run lint && npm test

setup: ## idempotent install: Node 24, deps, Temporal CLI, .env, database, build, migrate, seed
	scripts/setup.sh

build: ## compile TypeScript into dist/
	npm run build

bench: ## run the throughput benchmark (after setup)
	scripts/setup.sh
	npm run bench

clean: ## remove dist/ and .data/ (keeps .tools/)
	rm -rf dist .data

token: ## print a fresh admin token (valid 24 h) for the demo admin
	@node dist/db/admin-cli.js token --username admin
