#!/usr/bin/env bash
# bench/perf_stat_phases.sh CHECKOUT API SIZE COUNT CONC PHASE...: a fresh `stackstore up` from CHECKOUT (its .venv,
# data in a new directory under /var/tmp), COUNT objects PUT first, then each PHASE (put, get, delete; repeat one
# for more rounds) of objload (API swift or s3) under `perf stat -e context-switches,task-clock` of the node
# processes and of the proxy: prints the rate, and context switches and CPU per request of each. Context
# switches per request are steady between runs where CPU per request is not (docs/benchmarks.md, session 17).
# Needs linux-perf and ../shared/anchor/setup.sh's load generator. Example:
#   bench/perf_stat_phases.sh . swift 4KiB 2000 32 get get get
set -eu
REPO=$(cd "$1" && pwd); API=$2; SIZE=$3; COUNT=$4; CONC=$5; shift 5
ANCHOR=$(cd "$(dirname "$0")/../../shared/anchor" 2>/dev/null && pwd || echo /work/shared/anchor)
PY=${BENCH_PY:-/var/tmp/stackstore-anchor/bench-venv/bin/python}
D=$(mktemp -d /var/tmp/perf-stat-XXXX)
cleanup() { pkill -INT -f "stackstore up --data-dir $D" || true; sleep 6; pkill -9 -f "$D" || true; rm -rf "$D"; }
trap cleanup EXIT
( cd "$REPO" && setsid .venv/bin/stackstore up --data-dir "$D" > "$D/up.log" 2>&1 & )
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:8080/healthcheck > /dev/null && break; sleep 1; done; sleep 3
if [ "$API" = swift ]; then
  TARGET=(swift --auth-url http://127.0.0.1:8080/auth/v1.0 --user test:tester --key testing)
else
  TARGET=(s3 --endpoint http://127.0.0.1:8080 --access-key test:tester --secret-key testing)
fi
L=("$PY" "$ANCHOR/objload.py" "${TARGET[@]}")
"${L[@]}" --container measured --size "$SIZE" --count "$COUNT" --concurrency "$CONC" --phases put --keep \
  --json > /dev/null
NODES=$(pgrep -f "store.server --config $D" | paste -sd,)
PROXY=$(pgrep -f "proxy --config $D" | paste -sd,)
for phase in "$@"; do
  perf stat -e context-switches,task-clock -p "$NODES" -o "$D/nodes.stat" -- \
    perf stat -e context-switches,task-clock -p "$PROXY" -o "$D/proxy.stat" -- \
    "${L[@]}" --container measured --size "$SIZE" --count "$COUNT" --concurrency "$CONC" --phases "$phase" \
    --keep --json > "$D/phase.json"
  python3 - "$D" "$COUNT" "$phase" <<'EOF'
import json, re, sys
d, n, phase = sys.argv[1], int(sys.argv[2]), sys.argv[3]
result = json.load(open(f"{d}/phase.json"))["phases"][phase]
def per_request(name: str) -> str:
    text = open(f"{d}/{name}.stat").read()
    switches = int(re.search(r"([\d,]+)\s+context-switches", text).group(1).replace(",", ""))
    ms = float(re.search(r"([\d.,]+)\s+msec task-clock", text).group(1).replace(",", ""))
    return f"{switches / n:.1f} cs/req {ms * 1000 / n:.0f} us/req"
print(f"{phase} {result['ops_per_s']:.0f}/s errors {result['errors']} | nodes {per_request('nodes')} | "
      f"proxy {per_request('proxy')}")
EOF
done
