# Sourced after scripts/moto.sh: puts the AWS behaviour layer (ecsctl-faultproxy
# --aws-rules) in front of the emulator, so that it answers as AWS does where moto does
# not (docs/aws-behaviour.md), and points the AWS SDK at it. Stops it when the script exits.
# Needs: target/debug/ecsctl-faultproxy (`cargo build -p ecsctl-faultproxy`).

FAULTPROXY=${FAULTPROXY:-target/debug/ecsctl-faultproxy}
LAYER_OUT=$(mktemp -t ecsctl-layer.XXXXXX.log)
"$FAULTPROXY" --upstream "$AWS_ENDPOINT_URL" --listen 127.0.0.1:0 --seed 1 --aws-rules >"$LAYER_OUT" 2>&1 &
LAYER_PID=$!
trap 'kill $LAYER_PID 2>/dev/null; wait $LAYER_PID 2>/dev/null; kill $MOTO_PID 2>/dev/null; wait $MOTO_PID 2>/dev/null; rm -f "$MOTO_LOG" "$LAYER_OUT"' EXIT

LAYER_ADDR=
for _ in $(seq 1 100); do
  LAYER_ADDR=$(sed -n 's/^listening on //p' "$LAYER_OUT")
  [ -n "$LAYER_ADDR" ] && break
  if ! kill -0 $LAYER_PID 2>/dev/null; then
    echo "the AWS behaviour layer failed to start:" >&2; cat "$LAYER_OUT" >&2; exit 1
  fi
  sleep 0.1
done
[ -n "$LAYER_ADDR" ] || { echo "the AWS behaviour layer did not start" >&2; exit 1; }
export AWS_ENDPOINT_URL="http://$LAYER_ADDR"
