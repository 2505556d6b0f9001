# Sourced by the scripts/bench-*.sh benchmarks: a local AWS emulator (moto, from
# scripts/moto.sh) behind the fault proxy, which adds latency to every call and counts
# calls by service and action. Needs the release binaries (scripts/bench.sh builds them).
#
#   start_proxy 100ms      starts ecsctl-faultproxy in front of moto; sets PROXY_URL and
#                          exports AWS_ENDPOINT_URL=$PROXY_URL (stopped on exit)
#   proxy_reset            zeroes the proxy's counters
#   proxy_stats FILE       saves the counters (JSON) to FILE
#   moto_reset             deletes everything in the emulator
#   now_ms                 a monotonic-enough wall clock in milliseconds
#   stats_total FILE       the number of calls in a saved stats file
#   stats_table FILE       the calls per service:Action of a saved stats file, as a table

. scripts/moto.sh
MOTO_URL=$AWS_ENDPOINT_URL
RELEASE=${RELEASE:-target/release}
ECSCTL=${ECSCTL:-$RELEASE/ecsctl}
FAULTPROXY=${FAULTPROXY:-$RELEASE/ecsctl-faultproxy}
BENCH=${BENCH:-$RELEASE/ecsctl-bench}
BENCH_WORK=$(mktemp -d -t ecsctl-bench.XXXXXX)
PROXY_PID=

bench_cleanup() {
  if [ -n "$PROXY_PID" ]; then kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; fi
  kill "$MOTO_PID" 2>/dev/null; wait "$MOTO_PID" 2>/dev/null
  rm -f "$MOTO_LOG"
  rm -rf "$BENCH_WORK"
}
trap bench_cleanup EXIT

start_proxy() {
  local latency=$1 fifo="$BENCH_WORK/proxy.out" line
  if [ -n "$PROXY_PID" ]; then kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; fi
  rm -f "$fifo"; mkfifo "$fifo"
  "$FAULTPROXY" --upstream "$MOTO_URL" --latency "$latency" --seed 1 >"$fifo" 2>"$BENCH_WORK/proxy.err" &
  PROXY_PID=$!
  if ! read -r -t 20 line <"$fifo"; then
    echo "the fault proxy did not start:" >&2; cat "$BENCH_WORK/proxy.err" >&2; exit 1
  fi
  PROXY_URL="http://${line#listening on }"
  export AWS_ENDPOINT_URL=$PROXY_URL
}

proxy_reset() {
  $PYTHON -c "import urllib.request as u; u.urlopen(u.Request('$PROXY_URL/__proxy/reset-stats', method='POST'), timeout=5)"
}

proxy_stats() {
  $PYTHON -c "import urllib.request as u; open('$1','wb').write(u.urlopen('$PROXY_URL/__proxy/stats', timeout=5).read())"
}

moto_reset() {
  $PYTHON -c "import urllib.request as u; u.urlopen(u.Request('$MOTO_URL/moto-api/reset', method='POST'), timeout=30)"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

stats_total() {
  $PYTHON -c "import json,sys; print(json.load(open(sys.argv[1]))['total']['calls'])" "$1"
}

stats_table() {
  $PYTHON - "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rows = [(svc, a, c["calls"]) for svc, v in s["services"].items() for a, c in v["actions"].items()]
print("| service:Action | calls |")
print("|---|---:|")
for svc, a, n in sorted(rows, key=lambda r: (-r[2], r[0], r[1])):
    print(f"| {svc}:{a} | {n} |")
print(f"| **total** | **{s['total']['calls']}** |")
PY
}
