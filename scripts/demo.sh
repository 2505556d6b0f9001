#!/usr/bin/env bash
# `make demo`: the whole life of stack.toml.example against a local AWS emulator —
# validate, plan, apply, outputs, a second plan with no changes, destroy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/moto.sh
. scripts/aws-layer.sh

ECSCTL=${ECSCTL:-target/debug/ecsctl}
STACK_FILE=${STACK_FILE:-stack.toml.example}
WORK=$(mktemp -d -t ecsctl-demo.XXXXXX)
STATE="$WORK/demo.state.json"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
  step() { printf '\n==> %s\n' "$*"; }
fi

echo "local AWS emulator (moto) behind the AWS behaviour layer at $AWS_ENDPOINT_URL; state in $STATE"
step "ecsctl validate";              $ECSCTL validate -f "$STACK_FILE"
step "ecsctl plan";                  $ECSCTL plan -f "$STACK_FILE" --state "$STATE"
step "ecsctl apply --auto-approve";  $ECSCTL apply -f "$STACK_FILE" --state "$STATE" --auto-approve --no-wait
step "ecsctl output";                $ECSCTL output -f "$STACK_FILE" --state "$STATE"
step "ecsctl plan (expect no changes)"
$ECSCTL plan -f "$STACK_FILE" --state "$STATE" --detailed-exitcode || {
  code=$?; [ $code -eq 2 ] && echo "unexpected changes after apply" >&2; exit $code; }
step "ecsctl destroy --auto-approve"; $ECSCTL destroy -f "$STACK_FILE" --state "$STATE" --auto-approve
rm -rf "$WORK"
step "demo complete: everything created was destroyed"
