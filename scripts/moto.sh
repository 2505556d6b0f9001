# Sourced by scripts that need a local AWS emulator: starts moto on a free loopback port,
# exports the variables that point the AWS SDK at it, and stops it when the script exits.
# Needs: python3 with moto[server] 5 (`make deps`).

PYTHON=${PYTHON:-python3}
MOTO_PORT=$($PYTHON -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_LOG=$(mktemp -t ecsctl-moto.XXXXXX.log)
MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ACM_VALIDATION_WAIT=0 \
  $PYTHON -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null; wait $MOTO_PID 2>/dev/null; rm -f "$MOTO_LOG"' EXIT

for _ in $(seq 1 100); do
  if $PYTHON -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$MOTO_PORT/moto-api/', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 $MOTO_PID 2>/dev/null; then
    echo "the AWS emulator (moto) failed to start:" >&2; cat "$MOTO_LOG" >&2; exit 1
  fi
  sleep 0.2
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-2
unset AWS_PROFILE AWS_SESSION_TOKEN
