"""Turns the output of `ecsctl apply|destroy --parallelism 1` run with the AWS SDK's debug
log (see scripts/bench-apply.sh) into a call log for `ecsctl-bench chain`: one line per AWS
call, ADDRESS<TAB>service:Action<TAB>start_us<TAB>end_us, where ADDRESS is the change that
was running (one at a time) or `-` outside any change.

usage: python3 scripts/bench-calls.py LOG > CALLS
"""

import re
import sys
from datetime import datetime

STAMP = r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z"
CALL = re.compile(STAMP + r'.*?\{rpc\.service="([^"]*)" rpc\.method="(\w+)" sdk_invocation_id=(\d+).*?(beginning attempt #1|exiting attempt loop)')
# Progress lines: `[  1.2s]   + vpc.main: creating...` / `... created in 0.3s`.
PROGRESS = re.compile(r"^\[\s*[^\]]*\]\s+\S+\s+([a-z_]+\.[^:\s]+): (.*)$")
# The SDK's service names, as the fault proxy's stats name them (by signing name).
SERVICE = {
    "EC2": "ec2", "ECS": "ecs", "IAM": "iam", "STS": "sts", "SSM": "ssm",
    "Auto Scaling": "autoscaling", "Elastic Load Balancing v2": "elasticloadbalancing",
    "Route 53": "route53", "CloudWatch Logs": "logs",
}


def micros(stamp):
    t = datetime.strptime(stamp[:26], "%Y-%m-%dT%H:%M:%S.%f")
    return int(t.timestamp() * 1_000_000)


def main(path):
    current = "-"
    open_calls = {}
    out = []
    last = 0
    for line in open(path, encoding="utf-8", errors="replace"):
        m = CALL.search(line)
        if m:
            stamp, svc, action, inv, what = m.groups()
            last = micros(stamp)
            if what.startswith("beginning"):
                open_calls[inv] = (current, f"{SERVICE.get(svc, svc.lower().replace(' ', ''))}:{action}", last)
            elif inv in open_calls:
                addr, name, start = open_calls.pop(inv)
                out.append((start, addr, name, last))
            continue
        p = PROGRESS.match(line.strip("\n"))
        if p:
            address, message = p.groups()
            if message.endswith("..."):
                current = address
            elif " in " in message or "failed" in message:
                current = "-"
    for addr, name, start in open_calls.values():
        out.append((start, addr, name, max(start, last)))
    for start, addr, name, end in sorted(out):
        print(f"{addr}\t{name}\t{start}\t{end}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
