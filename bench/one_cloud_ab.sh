#!/usr/bin/env bash
# bench/one_cloud_ab.sh CHECKOUT SWITCH: two settings of one fresh `stackstore up` from CHECKOUT (its .venv) in
# alternating rounds (A B, B A, ...), so that both meet the same machine state. SWITCH says what alternates:
#   sockets  the nodes' Unix sockets (stackstore/local_sockets.py) against loopback TCP: the sockets directory in
#            place, or moved away (clients find no socket file), 6 s before a round so that pooled connections of
#            the other kind expire (idle_timeout 4 s); docs/benchmarks.md, session 20
#   sched    the CPU policy of every thread of the cloud's processes (stackstore/cpu_scheduling.py): SCHED_OTHER or
#            SCHED_BATCH, set with `chrt -a -p` before the round; docs/benchmarks.md, session 26
# Prints each round's rate, p99 latency and the proxy's and nodes' CPU per request (from /proc, bench.cloud_cpu).
# Environment: SIZE (4KiB), COUNT (2000), CONC (32), PHASE (get or put; GETs read what one PUT phase left; PUTs
# write a new container per round), ROUNDS (6). Needs ../shared/anchor/setup.sh's load generator.
set -eu
REPO=$(cd "$1" && pwd); SWITCH=${2:?sockets or sched}
SIZE=${SIZE:-4KiB}; COUNT=${COUNT:-2000}; CONC=${CONC:-32}; ROUNDS=${ROUNDS:-6}; PHASE=${PHASE:-get}
ANCHOR=$(cd "$(dirname "$0")/../../shared/anchor" 2>/dev/null && pwd || echo /work/shared/anchor)
PY=${BENCH_PY:-/var/tmp/stackstore-anchor/bench-venv/bin/python}
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d /var/tmp/one-cloud-ab-XXXX)
cleanup() { pkill -INT -f "stackstore up --data-dir $D" || true; sleep 6; pkill -9 -f "$D" || true; rm -rf "$D"; }
trap cleanup EXIT
( cd "$REPO" && setsid .venv/bin/stackstore up --data-dir "$D" > "$D/up.log" 2>&1 & )
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:8080/healthcheck > /dev/null && break; sleep 1; done; sleep 3
L=("$PY" "$ANCHOR/objload.py" swift --auth-url http://127.0.0.1:8080/auth/v1.0 --user test:tester --key testing)
"${L[@]}" --container m --size "$SIZE" --count "$COUNT" --concurrency "$CONC" --phases put --keep --json > /dev/null
cpu() { (cd "$BENCH_ROOT" && python3 -m bench.cloud_cpu "$D"); }
round() {
  local before after result container=m
  [ "$PHASE" = put ] && container="r$2$1"
  before=$(cpu)
  result=$("${L[@]}" --container "$container" --size "$SIZE" --count "$COUNT" --concurrency "$CONC" --phases "$PHASE" \
    --keep --json | python3 -c "import json,sys; p=json.load(sys.stdin)['phases']['$PHASE']
print(round(p['ops_per_s']), round(p['lat_ms']['p99'], 1))")
  after=$(cpu)
  python3 - "$1" "$result" "$before" "$after" "$COUNT" <<'PYEOF'
import json, sys
mode, result, a, b, n = sys.argv[1], sys.argv[2].split(), json.loads(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
per = {k: round((b.get(k, 0) - a.get(k, 0)) / n * 1e6) for k in ("proxy", "nodes")}
print(f"{mode:7s} {result[0]:>6}/s  p99 {result[1]:>6} ms  proxy {per['proxy']:>6} us/req  nodes {per['nodes']:>6} us/req")
PYEOF
}
switch() {  # put the cloud in mode $1
  case "$SWITCH:$1" in
    sockets:tcp) if [ -d "$D/sockets" ]; then mv "$D/sockets" "$D/sockets.away"; fi; sleep 6 ;;
    sockets:sockets) if [ -d "$D/sockets.away" ]; then mv "$D/sockets.away" "$D/sockets"; fi; sleep 6 ;;
    sched:other) for p in $(pgrep -f "$D"); do chrt -o -a -p 0 "$p" > /dev/null 2>&1 || true; done ;;
    sched:batch) for p in $(pgrep -f "$D"); do chrt -b -a -p 0 "$p" > /dev/null 2>&1 || true; done ;;
  esac
}
case "$SWITCH" in
  sockets) MODES=(sockets tcp) ;;
  sched) MODES=(other batch) ;;
  *) echo "SWITCH must be sockets or sched" >&2; exit 2 ;;
esac
for i in $(seq 1 "$ROUNDS"); do
  if [ $((i % 2)) = 1 ]; then order="${MODES[0]} ${MODES[1]}"; else order="${MODES[1]} ${MODES[0]}"; fi
  for mode in $order; do
    switch "$mode"
    round "$mode" "$i"
  done
done
