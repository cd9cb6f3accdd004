#!/usr/bin/env bash
# The commit-log pre-faulter on and off (`prefault-ahead = 0` against the default): a fresh
# `ferromq standalone` and store per row, 5 s warm-up, then one `ferromq bench produce` row of
# 1 KiB sends, with the broker's page faults (`perf stat`, when perf is installed) and CPU
# ticks during the row. Rows alternate off/on.
#
#   scripts/bench-prefault.sh                       # 3 rounds, 10 s rows, 64 in flight
#   ROUNDS=4 SECS=10 INFLIGHT=1 scripts/bench-prefault.sh
#   BATCH=32 INFLIGHT=4 scripts/bench-prefault.sh   # batches (appended with pwrite)
#   EXTRA='flush-disk-type = "sync"' scripts/bench-prefault.sh   # more [broker] settings
#   BIN=path/to/ferromq scripts/bench-prefault.sh   # default: target/release/ferromq (built if absent)
#
# The store lives under target/bench-prefault (the repository's file system, not a tmpfs, whose
# pages fault differently). Ports 19876/19911. Not part of CI; figures in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-10}
INFLIGHT=${INFLIGHT:-64}
BATCH=${BATCH:-1}
BIN=${BIN:-target/release/ferromq}
[ -x "$BIN" ] || cargo build --release -p ferromq
DIR=target/bench-prefault
SP=
trap 'kill "$SP" 2>/dev/null || true; wait "$SP" 2>/dev/null || true; rm -rf "$DIR"' EXIT
ticks() { awk '{print $14 + $15}' "/proc/$SP/stat"; }
produce() {
  "$BIN" bench produce --namesrv 127.0.0.1:19876 --size 1024 --inflight "$INFLIGHT" --batch "$BATCH" "$@"
}

for _ in $(seq "$ROUNDS"); do
  for ahead in 0 2097152; do
    rm -rf "$DIR" && mkdir -p "$DIR"
    printf '[broker]\nprefault-ahead = %s\n%s\n' "$ahead" "${EXTRA:-}" > "$DIR/ferromq.toml"
    "$BIN" standalone --config "$DIR/ferromq.toml" --data-dir "$DIR/data" --namesrv-port 19876 \
      --broker-port 19911 --fast-port 0 > "$DIR/server.log" 2>&1 &
    SP=$!
    for _ in $(seq 100); do grep -q "ferromq ready" "$DIR/server.log" && break; sleep 0.1; done
    grep -q "ferromq ready" "$DIR/server.log" || { cat "$DIR/server.log"; exit 1; }
    produce --duration 5s > /dev/null 2>&1
    faults=()
    if command -v perf > /dev/null; then
      perf stat -e major-faults,minor-faults -p "$SP" -o "$DIR/perf.txt" -- sleep "$((SECS + 1))" &
      faults=($!)
    fi
    c0=$(ticks)
    out=$(produce --duration "${SECS}s" --json 2> /dev/null)
    c1=$(ticks)
    f=""
    if [ ${#faults[@]} -gt 0 ]; then
      wait "${faults[0]}" || true
      f=$(awk '/major-faults/ {maj=$1} /minor-faults/ {min=$1} END {printf " major_faults=%s minor_faults=%s", maj, min}' "$DIR/perf.txt")
    fi
    echo "prefault-ahead=$ahead $(python3 -c 'import json,sys; d=json.load(sys.stdin); print("msg/s=%.0f p50_us=%s p99_us=%s" % (d["msgs_per_sec"], d["p50_us"], d["p99_us"]))' <<< "$out") broker_cpu_ticks=$((c1 - c0))$f"
    kill "$SP"; wait "$SP" 2> /dev/null || true
  done
done
