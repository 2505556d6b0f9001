#!/usr/bin/env bash
# `make bench`: benchmarks, not tests. Builds the release binaries, then prints Markdown
# tables (BENCHMARKS.md records them with the commands that reproduce each number):
#   offline core (scripts: ecsctl-bench), start-up (bench-startup.sh), apply/destroy
#   against the physical limit (bench-apply.sh), refresh cost (bench-refresh.sh), and
#   Terraform on the same emulator where it can run (bench-terraform.sh).
# Needs python3 with moto (`make deps`); installs hyperfine with apt-get when missing and
# possible. BENCH_ONLY="offline startup apply refresh terraform" picks sections.
set -euo pipefail
cd "$(dirname "$0")/.."
ONLY=${BENCH_ONLY:-offline startup apply refresh terraform}
want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if want startup && ! command -v hyperfine >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -qq hyperfine >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq hyperfine >/dev/null 2>&1; } \
    || echo "(hyperfine could not be installed; timing start-up with a loop)" >&2
fi
echo "building the release binaries (slow the first time)..." >&2
cargo build --release --quiet -p ecsctl -p ecsctl-faultproxy -p ecsctl-bench >&2

echo "# ecsctl benchmarks"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' with uncommitted changes')"
echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
echo "- $(rustc --version); moto $(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null || echo 'not installed')"
echo
if want offline; then
  echo "## Offline core: parse + validate, expand, plan (target/release/ecsctl-bench)"
  echo
  target/release/ecsctl-bench
  echo
fi
if want startup; then bash scripts/bench-startup.sh; fi
if want apply; then bash scripts/bench-apply.sh; fi
if want refresh; then bash scripts/bench-refresh.sh; fi
if want terraform; then bash scripts/bench-terraform.sh; fi
