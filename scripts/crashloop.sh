#!/usr/bin/env bash
# The crash loop (crates/ferromq/tests/it/crash_loop/) at length: N SIGKILLs of a broker under
# mixed load (default 30), each followed by a restart on the same data and a full check of every
# acknowledged message and offset. Prints the recovery-time figures.
#
#   scripts/crashloop.sh [N]
#
# Environment: FERROMQ_CRASH_SEED replays the kill moments of an earlier run (its seed is
# printed); CRASHLOOP_PROFILE=dev uses the test profile instead of a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

loops="${1:-30}"
if ! [[ "$loops" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [N]   (N kills, a positive number; default 30)" >&2
  exit 2
fi
profile=(--release)
if [[ "${CRASHLOOP_PROFILE:-release}" == "dev" ]]; then
  profile=()
fi

log="$(mktemp -t ferromq-crashloop.XXXXXX.log)"
echo "crash loop: $loops kills (${CRASHLOOP_PROFILE:-release} build); full output in $log"
status=0
FERROMQ_CRASH_LOOPS="$loops" cargo test "${profile[@]}" -p ferromq --test it crash_loop:: \
  -- --nocapture --test-threads 1 >"$log" 2>&1 || status=$?

grep -E '^(crash loop|kill [0-9]+/|recovery time)' "$log" || true
result="$(grep -E '^CRASHLOOP ' "$log" | tail -n 1 || true)"
if [[ $status -ne 0 || -z "$result" ]]; then
  echo "crash loop FAILED (exit $status); the end of $log:" >&2
  tail -n 60 "$log" >&2
  exit 1
fi
# CRASHLOOP kills=30 ready_median_ms=.. ready_max_ms=.. first_request_median_ms=.. ...
field() { sed -E "s/.* $1=([^ ]+).*/\\1/" <<<"$result"; }
echo
echo "recovery time over $(field kills) SIGKILLs ($(date -u +%Y-%m-%d), $(nproc) CPUs):"
echo "  spawn -> ready line:               median $(field ready_median_ms) ms, max $(field ready_max_ms) ms"
echo "  spawn -> first successful request: median $(field first_request_median_ms) ms, max $(field first_request_max_ms) ms"
echo "  acknowledged messages checked after every kill: $(field messages)"
