#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder that reads network or disk bytes (fuzz/, cargo-fuzz).
#
#   scripts/fuzz.sh MINUTES [TARGET...]
#
# Installs cargo-fuzz if missing, builds every target once (`cargo +nightly fuzz build -O -a`:
# optimised, with debug assertions and overflow checks, AddressSanitizer except for store_dir,
# see below; with the `broker`
# feature when the broker crate builds on nightly), then runs the targets
# one after the other for MINUTES each (fractions allowed, e.g. 0.5), starting from the committed
# seeds (fuzz/seeds/<target>) plus the working corpus (fuzz/corpus/<target>, which keeps what
# each run learned). One fuzzer process runs at a time unless FUZZ_JOBS=N (default 1) asks for N
# processes of the same target sharing its working corpus (libFuzzer picks up what the others
# add), for targets that are slow per run; their executions are summed. Every cargo command takes
# the shared build lock.
#
# Prints one line per target (executions, exec/s, peak RSS, crashes = new files in
# fuzz/artifacts/<target>/ from this run) and writes the same as TSV to fuzz/results.tsv.
# Exits 1 if any target crashed, timed out or ran out of memory; 2 on a usage or build error.
# Full libFuzzer output: fuzz/artifacts/<target>/last-run.txt (last-run-J.txt with FUZZ_JOBS).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/fuzz"
LOCK="${FERROMQ_CARGO_LOCK:-/tmp/ferromq-cargo.lock}"
ALL_TARGETS=(frame header_json header_binary fastjson bodies message_record consume_queue
    store_dir offset_log offsets_json mirror_state pop_journal auth grpc_request)

usage() {
    echo "usage: $0 MINUTES [TARGET...]   (targets: ${ALL_TARGETS[*]})" >&2
    exit 2
}

[[ $# -ge 1 ]] || usage
MINUTES="$1"
shift
[[ "$MINUTES" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage
SECONDS_PER_TARGET="$(awk -v m="$MINUTES" 'BEGIN { s = int(m * 60 + 0.5); print (s < 1 ? 1 : s) }')"
JOBS="${FUZZ_JOBS:-1}"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "FUZZ_JOBS must be a positive integer" >&2; usage; }
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
    [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "unknown target: $t" >&2; usage; }
done

# libFuzzer dictionary per target (JSON tokens for the JSON decoders), empty for none.
dict_for() {
    case "$1" in
        header_json | fastjson | bodies | offsets_json | mirror_state | pop_journal | auth)
            echo "$FUZZ/dicts/json.dict" ;;
        *) echo "" ;;
    esac
}

# Largest input per target: a little more than the formats need, so runs stay fast.
max_len() {
    case "$1" in
        frame) echo 4096 ;;
        header_json | header_binary) echo 2048 ;;
        fastjson | offsets_json) echo 4096 ;;
        bodies) echo 4096 ;;
        message_record) echo 4096 ;;
        consume_queue) echo 9000 ;; # a log of two 4 KiB segments
        store_dir) echo 9000 ;;     # two 4 KiB segments plus consume-queue files
        offset_log) echo 4096 ;;
        mirror_state) echo 4096 ;;
        pop_journal) echo 8192 ;; # a snapshot plus a journal of a few dozen records
        auth | grpc_request) echo 4096 ;;
        *) echo 4096 ;;
    esac
}

cargo_locked() {
    flock "$LOCK" cargo "$@"
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo_locked install --locked cargo-fuzz
fi

echo "== building fuzz targets"
# The `broker` feature adds the broker's progress request bodies to the `bodies` target. The
# broker crate changes often; if it does not build on nightly, build everything else without it.
if ! (cd "$ROOT" && cargo_locked +nightly fuzz build -O -a --features broker); then
    echo "warning: fuzz build with the broker crate failed; building without the 'broker'" \
        "feature (the progress bodies are not fuzzed this run)" >&2
    (cd "$ROOT" && cargo_locked +nightly fuzz build -O -a) || { echo "fuzz build failed" >&2; exit 2; }
fi
TRIPLE="$(rustc +nightly -vV | sed -n 's/^host: //p')"
BIN_DIR="$FUZZ/target/$TRIPLE/release"
# store_dir runs without AddressSanitizer, twice as fast: each run creates, recovers and reads
# a whole store directory, whose unsafe code reads and writes file mappings, which ASan does not
# watch (no red zones there); the decoders underneath it run under ASan in `consume_queue` and
# `message_record`. Debug assertions and overflow checks stay on. Its own target directory, so
# the two builds never invalidate each other.
NOSAN_BIN_DIR="$FUZZ/target-nosan/$TRIPLE/release"
if [[ " ${TARGETS[*]} " == *" store_dir "* ]]; then
    (cd "$ROOT" && cargo_locked +nightly fuzz build -O -a -s none --target-dir "$FUZZ/target-nosan" \
        store_dir) || { echo "fuzz build of store_dir failed" >&2; exit 2; }
fi
bin_for() {
    case "$1" in
        store_dir) echo "$NOSAN_BIN_DIR/$1" ;;
        *) echo "$BIN_DIR/$1" ;;
    esac
}

RESULTS="$FUZZ/results.tsv"
printf 'target\texecs\texec_per_s\tpeak_rss_mib\tcrashes\tseconds\n' >"$RESULTS"
printf '%-16s %12s %10s %14s %8s\n' target execs exec/s peak_rss_MiB crashes
failed=0

count_artifacts() {
    find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \
        -o -name 'leak-*' \) 2>/dev/null | wc -l
}

# Full output of fuzzer process J (1-based) of a target.
log_for() {
    if [[ $JOBS -eq 1 ]]; then echo "$1/last-run.txt"; else echo "$1/last-run-$2.txt"; fi
}

# "executions exec/s peak-RSS-MiB" of one finished fuzzer process, from its log.
run_stats() {
    local log="$1" execs rate rss status
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)"
    rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n1)"
    if [[ -z "$execs" ]]; then
        # No final stats (the run crashed): take the last status line.
        status="$(grep -E '^#[0-9]+' "$log" | tail -n1 || true)"
        execs="$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$status")"
        rate="$(sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p' <<<"$status")"
        rss="$(sed -nE 's/.*rss: ([0-9]+)Mb.*/\1/p' <<<"$status")"
    fi
    echo "${execs:-0} ${rate:-0} ${rss:-0}"
}

for t in "${TARGETS[@]}"; do
    bin="$(bin_for "$t")"
    [[ -x "$bin" ]] || { echo "missing binary $bin" >&2; exit 2; }
    corpus="$FUZZ/corpus/$t"
    seeds="$FUZZ/seeds/$t"
    artifacts="$FUZZ/artifacts/$t"
    mkdir -p "$corpus" "$artifacts" "$seeds"
    before="$(count_artifacts "$artifacts")"
    start="$(date +%s)"
    # The working corpus comes first: libFuzzer adds new inputs to the first directory only.
    extra=()
    dict="$(dict_for "$t")"
    [[ -n "$dict" ]] && extra+=("-dict=$dict")
    pids=()
    for ((j = 1; j <= JOBS; j++)); do
        log="$(log_for "$artifacts" "$j")"
        "$bin" "$corpus" "$seeds" "${extra[@]}" \
            -max_total_time="$SECONDS_PER_TARGET" \
            -rss_limit_mb=2048 -timeout=10 -max_len="$(max_len "$t")" \
            -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 &
        pids+=($!)
    done
    execs=0 rate=0 rss=0 rc_any=0
    for ((j = 1; j <= JOBS; j++)); do
        log="$(log_for "$artifacts" "$j")"
        set +e
        wait "${pids[$((j - 1))]}"
        rc=$?
        set -e
        [[ $rc -ne 0 ]] && rc_any=$rc && echo "$t: fuzzer exited with status $rc; see $log" >&2
        read -r e r m < <(run_stats "$log")
        execs=$((execs + e)) rate=$((rate + r))
        [[ $m -gt $rss ]] && rss=$m
    done
    secs=$(($(date +%s) - start))
    after="$(count_artifacts "$artifacts")"
    crashes=$((after - before))
    if [[ $rc_any -ne 0 && $crashes -eq 0 ]]; then
        crashes=1 # died without writing an artifact (e.g. killed): still a failure
    fi
    printf '%-16s %12s %10s %14s %8s\n' "$t" "$execs" "$rate" "$rss" "$crashes"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$execs" "$rate" "$rss" "$crashes" "$secs" >>"$RESULTS"
    if [[ $crashes -gt 0 ]]; then
        failed=1
        for ((j = 1; j <= JOBS; j++)); do
            grep -E '^(==[0-9]+==ERROR|thread .* panicked|.*panicked at|SUMMARY|artifact_prefix|Test unit written)' \
                "$(log_for "$artifacts" "$j")" | head -n 8 | sed "s/^/  $t: /" >&2 || true
        done
    fi
done

echo "results: $RESULTS"
exit "$failed"
