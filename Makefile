# ecsctl — the README's two commands are `make demo` and `make test`.
# Real use: `make plan STACK=path/to/stack.toml` (likewise validate, apply, destroy, output).

CARGO  ?= cargo
PYTHON ?= python3
STACK  ?= stack.toml
ARGS   ?=
ECSCTL := target/debug/ecsctl

.PHONY: help deps build test demo validate plan apply destroy output graph bench fmt lint

help:
	@echo "make demo      apply stack.toml.example to a local AWS emulator, then destroy it"
	@echo "make test      run every test (installs the emulator if missing)"
	@echo "make validate|plan|apply|destroy|output|graph STACK=path/to/stack.toml [ARGS=...]"
	@echo "make bench     benchmarks (results in BENCHMARKS.md)"

# The local AWS emulator (moto) for tests and the demo; installed only when missing.
deps:
	@$(PYTHON) -c "import moto, flask, flask_cors; assert moto.__version__.startswith('5.')" 2>/dev/null \
	  || $(PYTHON) -m pip install --quiet 'moto[server]==5.*'

build:
	$(CARGO) build -p ecsctl -p ecsctl-faultproxy

test: deps
	$(CARGO) test --workspace --no-fail-fast

demo: deps build
	bash scripts/demo.sh

validate plan apply destroy output graph: build
	$(ECSCTL) $@ -f $(STACK) $(ARGS)

bench: deps
	bash scripts/bench.sh

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
