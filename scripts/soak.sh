#!/usr/bin/env bash
# Soak: a release `ferromq standalone` under a steady produce + consume load for MINUTES, sampled
# every INTERVAL seconds (default 10): RSS (anonymous and file-backed) and open fds of the broker, connections, held
# pulls and limit hits from its Prometheus endpoint, and the producer's p99 send latency of the
# last interval. Writes target/soak/soak.csv and prints a summary plus an ASCII plot of each
# column (paste into docs/reliability.md). Loopback only; stops everything it started.
#
#   scripts/soak.sh MINUTES [INTERVAL]
#
# The load is deliberately modest (one send in flight, 256-byte bodies, one consumer that
# commits), so that a long soak measures leaks and drift, not the disk filling up.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES="${1:?usage: scripts/soak.sh MINUTES [INTERVAL]}"
INTERVAL="${2:-10}"
LOCK="${FERROMQ_CARGO_LOCK:-/tmp/ferromq-cargo.lock}"
OUT=target/soak
mkdir -p "$OUT"

flock "$LOCK" cargo build --release --quiet --bin ferromq
BIN=target/release/ferromq

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NS_PORT=$(free_port); BR_PORT=$(free_port); METRICS_PORT=$(free_port)
DATA=$(mktemp -d /tmp/ferromq-soak-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

"$BIN" standalone --data-dir "$DATA" --host 127.0.0.1 --namesrv-port "$NS_PORT" \
  --broker-port "$BR_PORT" --fast-port 0 --grpc-port 0 --metrics-port "$METRICS_PORT" >"$OUT/broker.log" 2>&1 &
BROKER=$!
PIDS+=("$BROKER")
for _ in $(seq 1 100); do grep -q "ferromq ready" "$OUT/broker.log" && break; sleep 0.1; done
grep -q "ferromq ready" "$OUT/broker.log" || { echo "broker did not start"; cat "$OUT/broker.log"; exit 1; }

NS="127.0.0.1:$NS_PORT"
SECS=$((MINUTES * 60))
"$BIN" bench produce --namesrv "$NS" --topic Soak --size 256 --inflight 1 --create-topic-queues 4 \
  --duration "${SECS}s" --report-interval "${INTERVAL}s" --json >"$OUT/produce.out" 2>"$OUT/produce.jsonl" &
PIDS+=("$!")
sleep 1
"$BIN" bench consume --namesrv "$NS" --topic Soak --group SoakGroup \
  --duration "${SECS}s" --report-interval "${INTERVAL}s" --json >"$OUT/consume.out" 2>"$OUT/consume.jsonl" &
PIDS+=("$!")

metric() { # name -> value (sum over label sets), 0 when absent
  curl -s "127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" {s+=$2} END {print s+0}'
}
# RSS is split: anonymous memory (heap: what a leak grows) and file pages (the mapped commit
# log and consume queues the load touched, page cache the kernel reclaims).
echo "elapsed_s,rss_anon_mib,rss_file_mib,fds,connections,held_pulls,limit_hits,produce_p99_us" >"$OUT/soak.csv"
START=$(date +%s)
while :; do
  sleep "$INTERVAL"
  NOW=$(( $(date +%s) - START ))
  kill -0 "$BROKER" 2>/dev/null || { echo "the broker died"; tail -20 "$OUT/broker.log"; exit 1; }
  ANON=$(awk '/RssAnon/ {print int($2/1024)}' "/proc/$BROKER/status")
  FILE=$(awk '/RssFile/ {print int($2/1024)}' "/proc/$BROKER/status")
  FDS=$(ls "/proc/$BROKER/fd" | wc -l)
  P99=$(grep '"interval"' "$OUT/produce.jsonl" 2>/dev/null | tail -n 1 | python3 -c 'import json,sys
try: print(json.loads(sys.stdin.read()).get("p99_us", 0))
except Exception: print(0)')
  echo "$NOW,$ANON,$FILE,$FDS,$(metric ferromq_connections),$(metric ferromq_held_pulls),$(metric ferromq_limit_hits_total),$P99" >>"$OUT/soak.csv"
  [ "$NOW" -ge "$SECS" ] && break
done

python3 - "$OUT/soak.csv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cols = ["rss_anon_mib", "rss_file_mib", "fds", "connections", "held_pulls", "limit_hits", "produce_p99_us"]
bars = " ▁▂▃▄▅▆▇█"
print(f"{len(rows)} samples over {rows[-1]['elapsed_s']} s")
for c in cols:
    v = [float(r[c]) for r in rows]
    lo, hi = min(v), max(v)
    spark = "".join(bars[int((x - lo) / (hi - lo) * 8) if hi > lo else 0] for x in v)
    print(f"{c:>15}: first {v[0]:>9.0f} last {v[-1]:>9.0f} median {statistics.median(v):>9.0f} max {hi:>9.0f}  {spark}")
EOF
