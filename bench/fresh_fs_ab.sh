#!/usr/bin/env bash
# bench/fresh_fs_ab.sh CHECKOUT OBJLOAD_PYTHON OBJLOAD [COUNT]: one run of 4 KiB PUT, GET and DELETE (Swift API,
# c=32; env SIZE=1MiB CONC=16 COUNT for other objects, PHASES=put,get for fewer phases; THREADS=1 splits the CPU by event loop and other threads, user and system) against `stackstore up` from CHECKOUT (its .venv) with the cloud's data dir on a fresh XFS filesystem
# (a sparse image on a direct-I/O loop device, made and removed by this script: root). Prints ops/s and the
# cloud's CPU per request by process group (from /proc). On a shared VM the disk state left by earlier runs
# doubles a small write's system time within a sitting; a fresh filesystem per run makes two commits
# comparable: alternate them (A B B A). docs/benchmarks.md, session 14.
set -eu
REPO=$1; PY=$2; L=$3; COUNT=${4:-${COUNT:-2000}}
SIZE=${SIZE:-4KiB}; CONC=${CONC:-32}; PHASES=${PHASES:-put,get,delete}
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)  # this checkout (bench.cloud_cpu)
WORK=$(mktemp -d /var/tmp/fresh-fs-ab-XXXX)
IMG=$WORK/fs.img; MNT=$WORK/mnt; D=$MNT/data
truncate -s 16G "$IMG"; mkfs.xfs -q -f "$IMG"; mkdir -p "$MNT"
DEV=$(losetup --direct-io=on -f --show "$IMG"); mount "$DEV" "$MNT"; mkdir -p "$D"
cleanup() {
  pkill -INT -f "stackstore up --data-dir $D" || true; sleep 8; pkill -9 -f "$D" || true
  umount "$MNT" || true; losetup -d "$DEV" || true; rm -rf "$WORK"
}
trap cleanup EXIT
( cd "$REPO" && setsid .venv/bin/stackstore up --data-dir "$D" > "$WORK/up.log" 2>&1 & )
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:8080/healthcheck > /dev/null && break; sleep 1; done; sleep 5
SW=(swift --auth-url http://127.0.0.1:8080/auth/v1.0 --user test:tester --key testing)
cpu() { (cd "$BENCH_ROOT" && python3 -m bench.cloud_cpu "$D" ${THREADS:+--threads}); }  # CPU seconds by process kind (THREADS=1: by thread and user/system too)
"$PY" "$L" "${SW[@]}" --container warm --count 300 --concurrency 32 --phases put,get,delete > /dev/null
for phase in ${PHASES//,/ }; do
  before=$(cpu)
  rate=$("$PY" "$L" "${SW[@]}" --container ab --count "$COUNT" --size "$SIZE" --concurrency "$CONC" --phases $phase --keep --json |
         python3 -c "import json,sys; print(round(json.load(sys.stdin)['phases']['$phase']['ops_per_s']))")
  after=$(cpu)
  python3 -c "import json; a, b = json.loads('$before'), json.loads('$after'); print('$phase', '$rate/s', ' '.join(
      f'{k} {(b[k] - a.get(k, 0)) * 1e6 / $COUNT:.0f} us/req' for k in sorted(b)))"
  sleep 2
done
