# Accolade — the two everyday commands are `make dev` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PORT ?= 3000
export PORT

.PHONY: help dev test venv lint openapi package bench clean

help:
	@echo "make dev       run the whole product locally (emulator, demo data, http://127.0.0.1:$(PORT))"
	@echo "make test      every check and test (installs what it needs, runs its own emulator)"
	@echo "make package   build every Lambda as a bootstrap zip with cargo-lambda (ARCH=arm64|x86_64)"
	@echo "make bench     criterion benchmarks and the local latency script -> docs/performance.md"
	@echo "make openapi   regenerate shared/src/http/api/openapi.json"

venv:
	@infra/scripts/venv.sh

dev:
	@infra/scripts/venv.sh --emulator-only
	cargo run -p infra -- dev --port $(PORT)

test:
	@infra/scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

openapi:
	python3 infra/scripts/openapi.py

package:
	@infra/scripts/package.sh

bench:
	@infra/scripts/bench.sh

clean:
	cargo clean
	rm -rf .local test-output
