#!/usr/bin/env bash
# gRPC sends against Remoting sends on one fresh `ferromq standalone`, same body size and
# requests in flight, with the broker's CPU per message read from /proc/<pid>/stat.
#
#   scripts/bench-grpc.sh              # 3 rounds of 6 s per row; prints every run and the medians
#   RUNS=5 SECS=10 scripts/bench-grpc.sh
#   BIN=path/to/ferromq scripts/bench-grpc.sh   # default: target/release/ferromq (built if absent)
#
# Rows: Remoting, 64 in flight over 4 connections; gRPC, 64 in flight over 1 and 4 connections.
# The load generator shares the machine's cores with the broker. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SECS=${SECS:-6}
BIN=${BIN:-target/release/ferromq}
[ -x "$BIN" ] || cargo build --release -p ferromq
DIR=$(mktemp -d /tmp/ferromq-bench-grpc.XXXX)
trap 'kill "$SP" 2>/dev/null || true; wait "$SP" 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$BIN" standalone --data-dir "$DIR/data" --namesrv-port 19876 --broker-port 19911 \
  --grpc-port 18081 > "$DIR/server.log" 2>&1 &
SP=$!
for _ in $(seq 100); do grep -q "ferromq ready" "$DIR/server.log" && break; sleep 0.1; done
grep -q "ferromq ready" "$DIR/server.log" || { cat "$DIR/server.log"; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$SP/stat"; }
# run <row> <bench args...>: one line "row msgs/s p50 p99 broker-cpu-us-per-msg".
run() {
  local row=$1; shift
  local c0 c1 out
  c0=$(ticks)
  out=$("$BIN" bench "$@" --duration "${SECS}s" --json 2>/dev/null | tail -1)
  c1=$(ticks)
  python3 -c '
import json, os, sys
row, out, c0, c1 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
j = json.loads(out)
hz = os.sysconf("SC_CLK_TCK")
cpu = (c1 - c0) / hz * 1e6 / max(j["msgs"], 1)
print(row, round(j["msgs_per_sec"]), j["p50_us"], j["p99_us"], round(cpu, 1))
' "$row" "$out" "$c0" "$c1" | tee -a "$DIR/runs.txt"
}
for _ in $(seq "$RUNS"); do
  run remoting-64x4 produce --namesrv 127.0.0.1:19876 --topic BT --size 1024 --inflight 64 --producers 4
  run grpc-64x1 grpc-produce --endpoint 127.0.0.1:18081 --topic GT --size 1024 --inflight 64
  run grpc-64x4 grpc-produce --endpoint 127.0.0.1:18081 --topic GT --size 1024 --inflight 64 --connections 4
done
echo "medians over $RUNS runs (row, msg/s, p50 us, p99 us, broker CPU us/msg, share of Remoting):"
python3 -c '
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    r, *v = line.split()
    rows.setdefault(r, []).append([float(x) for x in v])
med = {r: [statistics.median(c) for c in zip(*vs)] for r, vs in rows.items()}
base = med["remoting-64x4"][0]
for r, (rate, p50, p99, cpu) in med.items():
    lo, hi = min(v[0] for v in rows[r]), max(v[0] for v in rows[r])
    print(f"{r:14} {rate:8.0f} ({lo:.0f}-{hi:.0f})  p50 {p50:.0f}  p99 {p99:.0f}  cpu {cpu:.1f}  {100 * rate / base:.0f}%")
' "$DIR/runs.txt"
