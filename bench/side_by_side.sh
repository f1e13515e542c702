#!/usr/bin/env bash
# bench/side_by_side.sh CHECKOUT OUT: issue 18's side-by-side measurement in one sitting. The disk's limit (dd with
# fsync), real Swift 2.38.3 (../shared/anchor: Swift API, then S3), then a fresh `stackstore up` from CHECKOUT
# (its .venv, data on a fresh directory under /var/tmp) through the same load generator and workloads. Raw tables
# and objload's JSON go to OUT; the last lines are the markdown table for docs/benchmarks.md. Run nothing else
# meanwhile (about 6 minutes; REPEAT=3 runs every workload three times and reports medians, about 20). Needs ../shared/anchor/swift/setup.sh and ../shared/anchor/setup.sh done once.
set -eu
REPO=$(cd "$1" && pwd); OUT=$2
ANCHOR=$(cd "$(dirname "$0")/../../shared/anchor" 2>/dev/null && pwd || echo /work/shared/anchor)
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
DATA=$(mktemp -d /var/tmp/sbs-data-XXXX)
cleanup() {
  pkill -INT -f "stackstore up --data-dir $DATA" || true; sleep 8; pkill -9 -f "$DATA" || true
  "$ANCHOR/swift/stop.sh" > /dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT

dd if=/dev/zero of=/var/tmp/sbs-dd.bin bs=4M count=256 conv=fsync 2>&1 | tail -1 | tee "$OUT/dd.txt"
rm -f /var/tmp/sbs-dd.bin

"$ANCHOR/swift/start.sh" > "$OUT/swift-start.log" 2>&1
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:28080/healthcheck > /dev/null && break; sleep 1; done; sleep 3
echo "loadavg before Swift: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/load.txt"
OUT="$OUT/swift-swift" "$ANCHOR/run-baseline.sh" swift --auth-url http://127.0.0.1:28080/auth/v1.0 \
  --user test:tester --key testing > "$OUT/swift-swift.md" 2> "$OUT/swift-swift.err"
OUT="$OUT/swift-s3" "$ANCHOR/run-baseline.sh" s3 --endpoint http://127.0.0.1:28080 \
  --access-key test:tester --secret-key testing > "$OUT/swift-s3.md" 2> "$OUT/swift-s3.err"
"$ANCHOR/swift/stop.sh" > /dev/null 2>&1
sleep 10

( cd "$REPO" && setsid .venv/bin/stackstore up --data-dir "$DATA" > "$OUT/up.log" 2>&1 & )
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:8080/healthcheck > /dev/null && break; sleep 1; done; sleep 5
echo "loadavg before StackStore ($(git -C "$REPO" rev-parse --short HEAD)): $(cut -d' ' -f1-3 /proc/loadavg)" |
  tee -a "$OUT/load.txt"
OUT="$OUT/ss-swift" "$ANCHOR/run-baseline.sh" swift --auth-url http://127.0.0.1:8080/auth/v1.0 \
  --user test:tester --key testing > "$OUT/ss-swift.md" 2> "$OUT/ss-swift.err"
OUT="$OUT/ss-s3" "$ANCHOR/run-baseline.sh" s3 --endpoint http://127.0.0.1:8080 \
  --access-key test:tester --secret-key testing > "$OUT/ss-s3.md" 2> "$OUT/ss-s3.err"

python3 "$HERE/side_by_side_table.py" "$OUT"
