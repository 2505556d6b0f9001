#!/usr/bin/env bash
# `make bench`: benchmarks, not tests. Prints Markdown tables to paste into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "## Offline core: validate + expand + plan (release build)"
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sm); $(rustc --version)"
echo
cargo run --quiet --release -p ecsctl-bench -- "$@"
