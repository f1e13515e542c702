#!/usr/bin/env bash
# bench/local_sockets_ab.sh CHECKOUT: the nodes' Unix sockets (stackstore/local_sockets.py) against loopback TCP in
# alternating rounds on one fresh `stackstore up` from CHECKOUT (its .venv): a round with the sockets directory in
# place (sockets) and one with it moved away (TCP: clients find no socket file), in alternating order, 6 s apart so
# that pooled connections of the other kind expire (idle_timeout 4 s). Prints each round's rate and the proxy's and
# nodes' CPU per request (from /proc, bench.cloud_cpu). Environment: SIZE (4KiB), COUNT (2000), CONC (32), PHASE
# (get or put; GETs read what one PUT phase left), ROUNDS (6). Needs ../shared/anchor/setup.sh's load generator.
# docs/benchmarks.md, session 20.
set -eu
REPO=$(cd "$1" && pwd)
SIZE=${SIZE:-4KiB}; COUNT=${COUNT:-2000}; CONC=${CONC:-32}; ROUNDS=${ROUNDS:-6}; PHASE=${PHASE:-get}
ANCHOR=$(cd "$(dirname "$0")/../../shared/anchor" 2>/dev/null && pwd || echo /work/shared/anchor)
PY=${BENCH_PY:-/var/tmp/stackstore-anchor/bench-venv/bin/python}
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d /var/tmp/local-sockets-ab-XXXX)
cleanup() { pkill -INT -f "stackstore up --data-dir $D" || true; sleep 6; pkill -9 -f "$D" || true; rm -rf "$D"; }
trap cleanup EXIT
( cd "$REPO" && setsid .venv/bin/stackstore up --data-dir "$D" > "$D/up.log" 2>&1 & )
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:8080/healthcheck > /dev/null && break; sleep 1; done; sleep 3
L=("$PY" "$ANCHOR/objload.py" swift --auth-url http://127.0.0.1:8080/auth/v1.0 --user test:tester --key testing)
"${L[@]}" --container m --size "$SIZE" --count "$COUNT" --concurrency "$CONC" --phases put --keep --json > /dev/null
cpu() { (cd "$BENCH_ROOT" && python3 -m bench.cloud_cpu "$D"); }
round() {
  local before after rate
  before=$(cpu)
  rate=$("${L[@]}" --container m --size "$SIZE" --count "$COUNT" --concurrency "$CONC" --phases "$PHASE" --keep \
    --json | python3 -c "import json,sys; print(round(json.load(sys.stdin)['phases']['$PHASE']['ops_per_s']))")
  after=$(cpu)
  python3 - "$1" "$rate" "$before" "$after" "$COUNT" <<'PYEOF'
import json, sys
mode, rate, a, b, n = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
per = {k: round((b.get(k, 0) - a.get(k, 0)) / n * 1e6) for k in ("proxy", "nodes")}
print(f"{mode:7s} {rate:>6}/s  proxy {per['proxy']:>6} us/req  nodes {per['nodes']:>6} us/req")
PYEOF
}
for i in $(seq 1 "$ROUNDS"); do
  if [ $((i % 2)) = 1 ]; then order="sockets tcp"; else order="tcp sockets"; fi
  for mode in $order; do
    if [ "$mode" = tcp ] && [ -d "$D/sockets" ]; then
      mv "$D/sockets" "$D/sockets.away"
    elif [ "$mode" = sockets ] && [ -d "$D/sockets.away" ]; then
      mv "$D/sockets.away" "$D/sockets"
    fi
    sleep 6
    round "$mode"
  done
done
