#!/usr/bin/env bash
# Start-up cost of the release binary: `ecsctl --version`, `ecsctl validate` of the example
# stack (no AWS calls), and the binary's size. hyperfine when installed (`apt-get install -y
# hyperfine`), else a loop timed with date. Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
ECSCTL=${ECSCTL:-target/release/ecsctl}
RUNS=${RUNS:-50}
echo "### Start-up"
echo
if command -v hyperfine >/dev/null; then
  out=$(mktemp -t ecsctl-hyperfine.XXXXXX.md)
  hyperfine --shell=none --warmup 5 --runs "$RUNS" --export-markdown "$out" \
    "$ECSCTL --version" "$ECSCTL validate -f stack.toml.example" >/dev/null
  echo "hyperfine $(hyperfine --version | cut -d' ' -f2), $RUNS runs each after 5 warm-up runs:"
  echo
  cat "$out"; rm -f "$out"
else
  echo "hyperfine is not installed: mean of $RUNS runs timed with date +%s%N (includes the fork of the shell)."
  echo
  echo "| Command | Mean [ms] |"
  echo "|:---|---:|"
  for cmd in "--version" "validate -f stack.toml.example"; do
    t0=$(date +%s%N)
    for _ in $(seq "$RUNS"); do $ECSCTL $cmd >/dev/null; done
    ns=$(( $(date +%s%N) - t0 ))
    echo "| \`ecsctl $cmd\` | $(awk -v ns="$ns" -v n="$RUNS" 'BEGIN { printf "%.1f", ns / n / 1e6 }') |"
  done
fi
echo
echo "Release binary: $(stat -c %s "$ECSCTL" | awk '{printf "%.1f MiB (%d bytes)", $1/1048576, $1}') (lto = \"thin\", strip = \"symbols\")."
echo
