#!/usr/bin/env bash
# Refresh cost: AWS calls and wall time of a no-op `ecsctl plan` right after an apply, for
# stack.toml.example and for the same stack with 30 services (written here), counted at the
# fault proxy with LATENCY (default 100ms) added to every call. Prints Markdown.
#   bash scripts/bench-refresh.sh                 (release binaries from scripts/bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
LATENCY_MS=${LATENCY_MS:-100}
. scripts/bench-lib.sh
export NO_COLOR=1

# stack.toml.example with 29 more services, each behind a path rule.
STACK30=$BENCH_WORK/stack30.toml
cp stack.toml.example "$STACK30"
for i in $(seq 2 30); do
  cat >>"$STACK30" <<EOF

[[service]]
name = "svc$i"
image = "public.ecr.aws/docker/library/python:3.12-slim"
command = ["python", "-m", "http.server", "5000"]
container_port = 5000
cpu = 128
memory = 256
desired_count = 1
path = "/svc$i/*"
[service.environment]
GREETING = "hello from $i"
EOF
done

echo "### Refresh: a no-op \`ecsctl plan\` after apply, ${LATENCY_MS} ms added to every call"
echo
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')."
echo
echo "| stack | resources | plan exit code | calls | calls per resource | wall time | vs 1 service |"
echo "|---|---:|---:|---:|---:|---:|---:|"
ONE_CALLS=
for stack in stack.toml.example "$STACK30"; do
  state=$BENCH_WORK/$(basename "$stack").state.json
  start_proxy 0ms
  "$ECSCTL" apply -f "$stack" --state "$state" --auto-approve --no-wait >"$BENCH_WORK/apply.log" 2>&1 \
    || { echo "apply of $stack failed:" >&2; tail -30 "$BENCH_WORK/apply.log" >&2; exit 1; }
  # One unmeasured plan so the emulator's first-call costs are paid.
  "$ECSCTL" plan -f "$stack" --state "$state" >/dev/null 2>&1 || true
  start_proxy "${LATENCY_MS}ms"
  proxy_reset
  t0=$(now_ms)
  code=0
  "$ECSCTL" plan -f "$stack" --state "$state" --detailed-exitcode >"$BENCH_WORK/plan.log" 2>&1 || code=$?
  wall=$(( $(now_ms) - t0 ))
  proxy_stats "$BENCH_WORK/plan.json"
  calls=$(stats_total "$BENCH_WORK/plan.json")
  resources=$("$ECSCTL" state list -f "$stack" --state "$state" | wc -l)
  name=$([ "$stack" = stack.toml.example ] && echo "stack.toml.example (1 service)" || echo "30 services")
  ONE_CALLS=${ONE_CALLS:-$calls}
  echo "| $name | $resources | $code | $calls | $(awk -v c="$calls" -v r="$resources" 'BEGIN{printf "%.2f", c/r}') | $(awk -v m="$wall" 'BEGIN{printf "%.2f s", m/1000}') | $(awk -v c="$calls" -v o="$ONE_CALLS" 'BEGIN{printf "%.2f×", c/o}') |"
  cp "$BENCH_WORK/plan.json" "$BENCH_WORK/$(basename "$stack").plan.json"
  [ "$code" = 2 ] && { echo; echo "(the plan of $name reported changes:)"; sed 's/^/    /' "$BENCH_WORK/plan.log" | head -40; echo; }
  start_proxy 0ms
  "$ECSCTL" destroy -f "$stack" --state "$state" --auto-approve >"$BENCH_WORK/destroy.log" 2>&1 \
    || { echo "destroy of $stack failed:" >&2; tail -30 "$BENCH_WORK/destroy.log" >&2; exit 1; }
done
echo
echo "Exit code 0 = no changes (\`--detailed-exitcode\`); 2 = the plan found changes."
echo
echo "#### Calls by action: stack.toml.example"
echo
stats_table "$BENCH_WORK/stack.toml.example.plan.json"
echo
echo "#### Calls by action: 30 services"
echo
stats_table "$BENCH_WORK/stack30.toml.plan.json"
echo
