#!/usr/bin/env bash
# Apply and destroy against the physical limit: moto behind the fault proxy adding
# LATENCY (default 100ms) to every AWS call. Prints Markdown.
#   bash scripts/bench-apply.sh [STACK_FILE]      (release binaries from scripts/bench.sh)
# 1. warm-up apply + destroy with no added latency: moto's first call to each service takes
#    up to 2 s (also after a reset), so the emulator is never reset between measured runs;
#    every destroy leaves it empty again
# 2. apply and destroy at the default --parallelism 10: wall time, calls by action
# 3. the same with --parallelism 1 and the SDK's debug log: which calls each change makes,
#    and from them and the graph the longest chain of dependent calls (ecsctl-bench chain)
set -euo pipefail
cd "$(dirname "$0")/.."
STACK_FILE=${1:-stack.toml.example}
LATENCY_MS=${LATENCY_MS:-100}
. scripts/bench-lib.sh

SDK_LOG=warn,aws_smithy_runtime::client::orchestrator=debug
for s in ec2 ecs autoscaling elasticloadbalancingv2 iam route53 ssm cloudwatchlogs sts; do
  SDK_LOG=$SDK_LOG,aws_sdk_$s=debug
done
export NO_COLOR=1
STATE=$BENCH_WORK/state.json

run() { # run NAME CMD...: wall time in ms into $BENCH_WORK/NAME.ms, output into NAME.log
  local name=$1; shift
  local t0; t0=$(now_ms)
  if ! "$@" >"$BENCH_WORK/$name.log" 2>&1; then
    echo "failed: $*" >&2; tail -30 "$BENCH_WORK/$name.log" >&2; exit 1
  fi
  echo $(( $(now_ms) - t0 )) >"$BENCH_WORK/$name.ms"
}
ms() { cat "$BENCH_WORK/$1.ms"; }
secs() { awk -v m="$(ms "$1")" 'BEGIN { printf "%.2f s", m / 1000 }'; }

start_proxy 0ms
run warm-apply "$ECSCTL" apply -f "$STACK_FILE" --state "$STATE" --auto-approve --no-wait
run warm-destroy "$ECSCTL" destroy -f "$STACK_FILE" --state "$STATE" --auto-approve
rm -f "$STATE"*
proxy_reset
run apply-0 "$ECSCTL" apply -f "$STACK_FILE" --state "$STATE" --auto-approve --no-wait
run destroy-0 "$ECSCTL" destroy -f "$STACK_FILE" --state "$STATE" --auto-approve
rm -f "$STATE"*

start_proxy "${LATENCY_MS}ms"
proxy_reset
run apply "$ECSCTL" apply -f "$STACK_FILE" --state "$STATE" --auto-approve --no-wait
proxy_stats "$BENCH_WORK/apply.json"
proxy_reset
run destroy "$ECSCTL" destroy -f "$STACK_FILE" --state "$STATE" --auto-approve
proxy_stats "$BENCH_WORK/destroy.json"
rm -f "$STATE"*

RUST_LOG=$SDK_LOG run apply-p1 "$ECSCTL" apply -f "$STACK_FILE" --state "$STATE" --auto-approve --no-wait --parallelism 1
RUST_LOG=$SDK_LOG run destroy-p1 "$ECSCTL" destroy -f "$STACK_FILE" --state "$STATE" --auto-approve --parallelism 1
$PYTHON scripts/bench-calls.py "$BENCH_WORK/apply-p1.log" >"$BENCH_WORK/apply.calls"
$PYTHON scripts/bench-calls.py "$BENCH_WORK/destroy-p1.log" >"$BENCH_WORK/destroy.calls"
"$BENCH" chain --stack "$STACK_FILE" --calls "$BENCH_WORK/apply.calls" --latency-ms "$LATENCY_MS" >"$BENCH_WORK/apply.chain"
"$BENCH" chain --stack "$STACK_FILE" --calls "$BENCH_WORK/destroy.calls" --latency-ms "$LATENCY_MS" --destroy >"$BENCH_WORK/destroy.chain"

chain_len() { sed -n 's/^| \*\*chain\*\* | \*\*\([0-9]*\)\*\*.*/\1/p' "$1"; }
A_CHAIN=$(chain_len "$BENCH_WORK/apply.chain")
D_CHAIN=$(chain_len "$BENCH_WORK/destroy.chain")
ratio() { awk -v w="$1" -v c="$2" -v l="$LATENCY_MS" 'BEGIN { printf "%.2f×", w / (c * l) }'; }

echo "### Apply and destroy of $STACK_FILE, ${LATENCY_MS} ms added to every call"
echo
echo "| run | wall time | calls | longest chain | limit | wall / limit | no added latency |"
echo "|---|---:|---:|---:|---:|---:|---:|"
echo "| apply --auto-approve --no-wait | $(secs apply) | $(stats_total "$BENCH_WORK/apply.json") | $A_CHAIN | $(awk -v c="$A_CHAIN" -v l="$LATENCY_MS" 'BEGIN{printf "%.1f s", c*l/1000}') | $(ratio "$(ms apply)" "$A_CHAIN") | $(secs apply-0) |"
echo "| destroy --auto-approve | $(secs destroy) | $(stats_total "$BENCH_WORK/destroy.json") | $D_CHAIN | $(awk -v c="$D_CHAIN" -v l="$LATENCY_MS" 'BEGIN{printf "%.1f s", c*l/1000}') | $(ratio "$(ms destroy)" "$D_CHAIN") | $(secs destroy-0) |"
echo
echo "With one change at a time (--parallelism 1): apply $(secs apply-p1), destroy $(secs destroy-p1)."
echo
echo "#### The longest chain of dependent calls: apply"
echo
cat "$BENCH_WORK/apply.chain"
echo
echo "#### The longest chain of dependent calls: destroy"
echo
cat "$BENCH_WORK/destroy.chain"
echo
echo "#### Calls by action: apply"
echo
stats_table "$BENCH_WORK/apply.json"
echo
echo "#### Calls by action: destroy"
echo
stats_table "$BENCH_WORK/destroy.json"
echo
if [ -n "${BENCH_KEEP:-}" ]; then
  mkdir -p "$BENCH_KEEP"; cp "$BENCH_WORK"/*.log "$BENCH_WORK"/*.calls "$BENCH_WORK"/*.json "$BENCH_KEEP"/
  echo "(logs kept in $BENCH_KEEP)"
fi
