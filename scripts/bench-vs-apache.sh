#!/usr/bin/env bash
# ferromq against Apache RocketMQ on the same machine, one broker after the other, same
# durability, same load generator (`ferromq bench`, which speaks to any RocketMQ broker), plus
# Apache's own benchmark producer (rocketmq-example) so the peer is also measured with its tool.
#
#   scripts/bench-vs-apache.sh            # full run (about 30-40 minutes on 2 cores)
#   QUICK=1 scripts/bench-vs-apache.sh    # smaller counts, shorter runs (a few minutes)
#   RUNS=3 scripts/bench-vs-apache.sh     # the whole sequence 3 times; the table shows medians
#
# Each broker gets a 5 s warm-up run first (not recorded). Rows: 1 KiB sends with 1, 64 and 256 in flight and in batches of 32 (async flush), 64 in
# flight with sync flush, Apache's benchmark producer (64 threads, 1 KiB) against both, a backlog
# pull, offset commits over the wire, resetOffsetByTime on one big queue, broker RSS and CPU
# seconds per million messages, cold start, and restart after SIGKILL with a large commit log.
# Writes target/bench-vs-apache/results.tsv and replaces the section between the
# `bench-vs-apache` markers in docs/benchmarks.md (command, machine, date, both columns, ratio).
#
# Environment: DURATION (10s), BACKLOG (1000000), RESET_MSGS (10000000), RESTART_GIB (5),
# APACHE_HEAP (2g), KEEP_DOCS=1 (do not touch docs/benchmarks.md). Loopback only; everything
# it starts is stopped on exit. Needs compat/setup.sh (Apache RocketMQ 5.5.0 from Maven Central).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK="${QUICK:-0}"
if [[ $QUICK == 1 ]]; then
  DURATION="${DURATION:-5s}"; BACKLOG="${BACKLOG:-200000}"; RESET_MSGS="${RESET_MSGS:-1000000}"
  RESTART_GIB="${RESTART_GIB:-1}"; APACHE_Q="${APACHE_Q:-100000}"
else
  DURATION="${DURATION:-10s}"; BACKLOG="${BACKLOG:-1000000}"; RESET_MSGS="${RESET_MSGS:-10000000}"
  RESTART_GIB="${RESTART_GIB:-5}"; APACHE_Q="${APACHE_Q:-500000}"
fi
APACHE_HEAP="${APACHE_HEAP:-2g}"
RUNS="${RUNS:-1}"
RUN=1
APACHE_VERSION=5.5.0
LOCK="${FERROMQ_CARGO_LOCK:-/tmp/ferromq-cargo.lock}"
OUT=target/bench-vs-apache
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv"
: >"$RESULTS"

log() { printf '[bench-vs-apache] %s\n' "$*" >&2; }

flock "$LOCK" cargo build --release --quiet --bin ferromq
BIN="$PWD/target/release/ferromq"
bash compat/setup.sh >&2
CP="$(cat "compat/apache/target/$APACHE_VERSION/classpath.txt")"
CLK_TCK="$(getconf CLK_TCK)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# A port p with p-2 free too (Apache binds its "fast" port there).
broker_port() {
  python3 - <<'PY'
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p - 2)); print(p); break
    except OSError:
        pass
    finally:
        t.close(); s.close()
PY
}
now_ms() { date +%s%3N; }

WORK="$(mktemp -d /tmp/ferromq-bench-vs-apache-XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- brokers -------------------------------------------------------------------------------
# Each start_* sets NS (name server address), BROKER_PID, CLUSTER and START_MS (spawn to ready).

wait_line() { # file pattern seconds
  local i
  for i in $(seq 1 $(( $3 * 10 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  log "timed out waiting for '$2' in $1"; tail -30 "$1" >&2; return 1
}

start_ferromq() { # flush-mode data-dir
  local ns_port br_port t0
  ns_port=$(free_port); br_port=$(free_port)
  t0=$(now_ms)
  "$BIN" standalone --data-dir "$2" --host 127.0.0.1 --namesrv-port "$ns_port" \
    --broker-port "$br_port" --fast-port 0 --grpc-port 0 --flush-mode "$1" >"$2.log" 2>&1 &
  BROKER_PID=$!; PIDS+=("$BROKER_PID")
  wait_line "$2.log" "ferromq ready" 60
  START_MS=$(( $(now_ms) - t0 ))
  NS="127.0.0.1:$ns_port"; CLUSTER=DefaultCluster; FERRO_RESTART=("$1" "$2" "$ns_port" "$br_port")
}

restart_ferromq() { # after SIGKILL: same data dir and ports
  local t0; t0=$(now_ms)
  "$BIN" standalone --data-dir "${FERRO_RESTART[1]}" --host 127.0.0.1 \
    --namesrv-port "${FERRO_RESTART[2]}" --broker-port "${FERRO_RESTART[3]}" --fast-port 0 --grpc-port 0 \
    --flush-mode "${FERRO_RESTART[0]}" >"${FERRO_RESTART[1]}.log2" 2>&1 &
  BROKER_PID=$!; PIDS+=("$BROKER_PID")
  wait_line "${FERRO_RESTART[1]}.log2" "ferromq ready" 600
  START_MS=$(( $(now_ms) - t0 ))
}

start_apache() { # ASYNC_FLUSH|SYNC_FLUSH home-dir
  local home="$2" ns_port br_port ha_port t0
  mkdir -p "$home"
  ns_port=$(free_port); br_port=$(broker_port); ha_port=$(free_port)
  printf 'listenPort=%s\nbindAddress=127.0.0.1\n' "$ns_port" >"$home/ns.conf"
  cat >"$home/broker.conf" <<EOF
brokerClusterName=ApacheBench
brokerName=apache-bench
brokerId=0
namesrvAddr=127.0.0.1:$ns_port
listenPort=$br_port
haListenPort=$ha_port
brokerIP1=127.0.0.1
bindAddress=127.0.0.1
storePathRootDir=$home/store
storePathCommitLog=$home/store/commitlog
autoCreateTopicEnable=true
flushDiskType=$1
EOF
  java -Xms256m -Xmx256m -cp "$CP" -Drocketmq.home.dir="$home" -Duser.home="$home" \
    org.apache.rocketmq.namesrv.NamesrvStartup -c "$home/ns.conf" >"$home/ns.log" 2>&1 &
  PIDS+=("$!"); APACHE_NS_PID=$!
  wait_line "$home/ns.log" "boot success" 60
  t0=$(now_ms)
  apache_broker_spawn "$home"
  START_MS=$(( $(now_ms) - t0 ))
  NS="127.0.0.1:$ns_port"; CLUSTER=ApacheBench; APACHE_HOME="$home"
  # "boot success" comes before the broker's first registration: wait for it (not timed).
  local i
  for i in $(seq 1 300); do
    "$BIN" admin -n "$NS" clusterList 2>/dev/null | grep -q apache-bench && return 0; sleep 0.2
  done
  log "the Apache broker never registered"; return 1
}

apache_broker_spawn() { # home
  : >"$1/broker.log"
  java -Xms"$APACHE_HEAP" -Xmx"$APACHE_HEAP" -XX:+UseG1GC -cp "$CP" -Drocketmq.home.dir="$1" \
    -Duser.home="$1" org.apache.rocketmq.broker.BrokerStartup -c "$1/broker.conf" \
    >"$1/broker.log" 2>&1 &
  BROKER_PID=$!; PIDS+=("$BROKER_PID")
  wait_line "$1/broker.log" "boot success" 600
}

stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  PIDS=()
}

topic() { # name queues
  "$BIN" admin -n "$NS" updateTopic -c "$CLUSTER" -t "$1" -r "$2" -w "$2" >/dev/null
  local i
  for i in $(seq 1 300); do
    "$BIN" admin -n "$NS" topicRoute -t "$1" >/dev/null 2>&1 && return 0; sleep 0.2
  done
  log "topic $1 never routed"; return 1
}

# --- measurements --------------------------------------------------------------------------
# Before each measured row: write back and drop the clean page cache (when allowed), so both
# brokers start every row from the same memory state. Measured on this VM: a new broker on an
# empty store sends batches at 202k msg/s while ~10 GB of an earlier run sit in the page cache
# and at 376k once that data is deleted; the kernel's copy into page-cache folios
# (copy_folio_from_iter_atomic) went from 6.6 % to 32 % of the broker's CPU, with no reclaim
# (pgscan 0) and under 300 MiB dirty. Without this, the faster broker, having written more in
# the earlier rows, is measured on a fuller page cache.
settle() {
  sync
  if [[ -w /proc/sys/vm/drop_caches ]]; then echo 1 >/proc/sys/vm/drop_caches; fi
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Anonymous RSS (heap, buffers) and the whole RSS (which adds the store files each broker maps;
# the kernel reclaims those pages under pressure).
rss_anon_mib() { awk '/RssAnon/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# bench <args...>: the summary JSON line of `ferromq bench`.
bench() { "$BIN" bench "$@" --json --report-interval 1h | grep '"type":"summary"' | tail -1; }
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }

record() { # broker row value unit
  printf '%s\t%s\t%s\t%s\t%s\n' "$RUN" "$1" "$2" "$3" "$4" >>"$RESULTS"
  log "$1 | $2 | $3 $4"
}

# The rows measured on one broker (async flush), named $1.
run_async_rows() {
  local who=$1 s c0 c1 msgs
  topic BenchT 8
  # Warm-up, not recorded (the JVM's JIT, both brokers' page cache and connections).
  bench produce --namesrv "$NS" --topic BenchT --size 1024 --inflight 64 --producers 4 \
    --duration 5s >/dev/null
  for inflight in 1 64 256; do
    settle
    s=$(bench produce --namesrv "$NS" --topic BenchT --size 1024 --inflight "$inflight" \
      --producers $(( inflight < 4 ? inflight : 4 )) --duration "$DURATION")
    record "$who" "send 1 KiB, $inflight in flight: msg/s" "$(field msgs_per_sec <<<"$s")" msg/s
    record "$who" "send 1 KiB, $inflight in flight: p99" "$(field p99_us <<<"$s")" µs
  done
  settle
  c0=$(cpu_ticks "$BROKER_PID")
  s=$(bench produce --namesrv "$NS" --topic BenchT --size 1024 --batch 32 --inflight 4 \
    --duration "$DURATION")
  c1=$(cpu_ticks "$BROKER_PID")
  msgs=$(field msgs <<<"$s")
  record "$who" "batches of 32 x 1 KiB: msg/s" "$(field msgs_per_sec <<<"$s")" msg/s
  record "$who" "broker CPU seconds per million messages (batches)" \
    "$(python3 -c "print(round(($c1-$c0)/$CLK_TCK/max($msgs,1)*1e6, 2))")" s
  record "$who" "broker anonymous RSS after the send runs" "$(rss_anon_mib "$BROKER_PID")" MiB
  record "$who" "broker RSS incl. mapped store files" "$(rss_mib "$BROKER_PID")" MiB

  # Apache's own benchmark producer, 64 sending threads, 1 KiB.
  local line
  settle
  line=$(java -Xmx512m -cp "$CP" org.apache.rocketmq.example.benchmark.Producer -n "$NS" \
    -t BenchT -w 64 -s 1024 -q "$APACHE_Q" -ri 1000 2>/dev/null | grep -a '\[Complete\]' | tail -1 || true)
  record "$who" "Apache benchmark Producer, 64 threads, 1 KiB: msg/s" \
    "$(sed -n 's/.*Send TPS: \([0-9]*\).*/\1/p' <<<"$line")" msg/s
  record "$who" "Apache benchmark Producer, 64 threads: mean RT" \
    "$(sed -n 's/.*Average RT(ms): *\([0-9.]*\).*/\1/p' <<<"$line")" ms

  # A backlog pulled by one consumer.
  topic BacklogT 8
  bench produce --namesrv "$NS" --topic BacklogT --size 1024 --batch 32 --inflight 4 \
    --count "$BACKLOG" >/dev/null
  settle
  s=$(bench consume --namesrv "$NS" --topic BacklogT --group backlog_reader --from earliest \
    --until-caught-up)
  record "$who" "pull a $BACKLOG-message backlog: msg/s" "$(field msgs_per_sec <<<"$s")" msg/s

  # Offset commits over the wire (Apache keeps offsets only of groups it knows: create them).
  local g
  for g in $(seq 0 99); do
    "$BIN" admin -n "$NS" updateSubGroup -c "$CLUSTER" -g "BenchCommitGroup-$g" >/dev/null
  done
  settle
  s=$(bench commit --namesrv "$NS" --topic BenchT --inflight 64 --duration "$DURATION")
  record "$who" "offset commits, 64 in flight: commits/s" "$(field msgs_per_sec <<<"$s")" /s

  # resetOffsetByTime on one queue of RESET_MSGS messages, to the middle.
  topic ResetT 1
  bench produce --namesrv "$NS" --topic ResetT --size 64 --batch 64 --inflight 4 \
    --count $(( RESET_MSGS / 2 )) >/dev/null
  sleep 1.1; local mid; mid=$(now_ms); sleep 1.1
  bench produce --namesrv "$NS" --topic ResetT --size 64 --batch 64 --inflight 4 \
    --count $(( RESET_MSGS / 2 )) >/dev/null
  "$BIN" admin -n "$NS" updateSubGroup -c "$CLUSTER" -g reset_group >/dev/null
  local t0 t1
  t0=$(now_ms)
  "$BIN" admin -n "$NS" resetOffsetByTime -g reset_group -t ResetT -s "$mid" >/dev/null
  t1=$(now_ms)
  record "$who" "resetOffsetByTime on a $RESET_MSGS-message queue" "$(( t1 - t0 ))" ms
}

# Fill the commit log to RESTART_GIB, SIGKILL, restart: time to ready.
fill_gib() {
  topic FillT 8
  bench produce --namesrv "$NS" --topic FillT --size 4096 --batch 16 --inflight 4 \
    --count $(( RESTART_GIB * 1024 * 1024 / 4 )) >/dev/null
}

# --- the runs ------------------------------------------------------------------------------
sync_row() { # who
  topic BenchT 8
  local s
  bench produce --namesrv "$NS" --topic BenchT --size 1024 --inflight 64 --producers 4 \
    --duration 5s >/dev/null
  settle
  s=$(bench produce --namesrv "$NS" --topic BenchT --size 1024 --inflight 64 --producers 4 \
    --duration "$DURATION")
  record "$1" "send 1 KiB, 64 in flight, sync flush: msg/s" "$(field msgs_per_sec <<<"$s")" msg/s
  record "$1" "send 1 KiB, 64 in flight, sync flush: p99" "$(field p99_us <<<"$s")" µs
}

one_run() {
  log "ferromq, async flush"
  start_ferromq async "$WORK/ferro-async"
  record ferromq "cold start (empty store)" "$START_MS" ms
  run_async_rows ferromq
  fill_gib
  kill -9 "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
  restart_ferromq
  record ferromq "restart after SIGKILL with $RESTART_GIB GiB of commit log" "$START_MS" ms
  stop_all; rm -rf "$WORK/ferro-async"

  log "Apache RocketMQ $APACHE_VERSION, async flush"
  start_apache ASYNC_FLUSH "$WORK/apache-async"
  record apache "cold start (empty store)" "$START_MS" ms
  run_async_rows apache
  fill_gib
  kill -9 "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
  local t0
  t0=$(now_ms); apache_broker_spawn "$APACHE_HOME"; START_MS=$(( $(now_ms) - t0 ))
  record apache "restart after SIGKILL with $RESTART_GIB GiB of commit log" "$START_MS" ms
  stop_all; rm -rf "$WORK/apache-async"

  log "ferromq, sync flush"
  start_ferromq sync "$WORK/ferro-sync"; sync_row ferromq; stop_all
  log "Apache RocketMQ, sync flush"
  start_apache SYNC_FLUSH "$WORK/apache-sync"; sync_row apache; stop_all
}

for RUN in $(seq 1 "$RUNS"); do
  log "run $RUN of $RUNS"
  one_run
done

# --- the table -----------------------------------------------------------------------------
TABLE="$OUT/table.md"
python3 - "$RESULTS" >"$TABLE" <<'PY'
import sys, collections
import statistics
rows = collections.OrderedDict()
runs = set()
for line in open(sys.argv[1]):
    run, who, row, value, unit = line.rstrip("\n").split("\t")
    runs.add(run)
    try:
        rows.setdefault(row, {}).setdefault(who, ([], unit))[0].append(float(value))
    except ValueError:
        pass
# Higher is better for rates; lower for latencies, times, memory and CPU.
def better_high(unit):
    return unit in ("msg/s", "/s")
print("| | ferromq | Apache RocketMQ 5.5.0 | ferromq advantage |")
print("|---|---|---|---|")
def show(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:g}"
for row, by in rows.items():
    f = by.get("ferromq", ([], ""))
    a = by.get("apache", ([], ""))
    unit = f[1] or a[1]
    if not f[0] or not a[0]:
        continue
    fv, av = statistics.median(f[0]), statistics.median(a[0])
    try:
        ratio = fv / av if better_high(unit) else av / fv
        adv = f"{ratio:.2f}×"
    except ZeroDivisionError:
        adv = "n/a"
    spread = ""
    if len(f[0]) > 1:
        spread = f" ({show(min(f[0]))}–{show(max(f[0]))} / {show(min(a[0]))}–{show(max(a[0]))})"
    print(f"| {row} | {show(fv)} {unit} | {show(av)} {unit} | {adv}{spread} |")
PY
cat "$TABLE"

if [[ "${KEEP_DOCS:-0}" != 1 ]]; then
  python3 - "$TABLE" "$*" <<'PY'
import datetime, platform, re, subprocess, sys
table = open(sys.argv[1]).read()
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
mem = subprocess.run(["sh", "-c", "awk '/MemTotal/ {printf \"%.0f GiB\", $2/1048576}' /proc/meminfo"],
                     capture_output=True, text=True).stdout.strip()
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
section = (
    "<!-- bench-vs-apache:begin -->\n"
    f"Measured {datetime.date.today().isoformat()} with `scripts/bench-vs-apache.sh` "
    f"(QUICK={__import__('os').environ.get('QUICK','0')}, RUNS={__import__('os').environ.get('RUNS','1')}: "
    f"medians, ranges in brackets) on {cores} cores ({cpu}), {mem}, "
    f"{platform.system()} {platform.release()}; load generator on the same cores; Apache with "
    f"-Xmx{__import__('os').environ.get('APACHE_HEAP','2g')} G1, 1 GiB commit-log files; "
    "`sync` and the clean page cache dropped before each measured row. "
    "\"ferromq advantage\" is ferromq/Apache for rates and Apache/ferromq for latencies, times, "
    "memory and CPU (above 1 = ferromq ahead).\n\n"
    + table +
    "<!-- bench-vs-apache:end -->\n"
)
path = "docs/benchmarks.md"
doc = open(path).read()
if "<!-- bench-vs-apache:begin -->" in doc:
    doc = re.sub(r"<!-- bench-vs-apache:begin -->.*?<!-- bench-vs-apache:end -->\n", section, doc,
                 flags=re.S)
else:
    doc += "\n## Side by side with Apache RocketMQ\n\n" + section
open(path, "w").write(doc)
PY
  log "docs/benchmarks.md updated"
fi
