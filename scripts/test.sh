#!/usr/bin/env bash
# The whole test suite, from a clean checkout: installs what the tests need (cargo-nextest when
# absent; the real RocketMQ clients through compat/setup.sh: PyPI, npm, Maven and Go packages),
# checks formatting, lints and docs with warnings denied, then runs every test with cargo-nextest.
# Extra arguments go to `cargo nextest run` (for example a filter: `./scripts/test.sh hardening`).
#
# The clients are installed in the background while cargo checks and builds the workspace (their
# setup is mostly downloads and the JVM). Each step prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean build (CI) gains nothing from incremental compilation and pays for writing its caches;
# CARGO_INCREMENTAL=1 keeps them while iterating.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() {
  local name="$1" start=$SECONDS
  shift
  "$@"
  echo "scripts/test.sh: $name took $((SECONDS - start)) s" >&2
}

if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest (once per machine)" cargo install --locked cargo-nextest
fi

setup_log="$(mktemp)"
setup_start=$SECONDS
bash compat/setup.sh >"$setup_log" 2>&1 &
setup_pid=$!
trap 'kill "$setup_pid" 2>/dev/null || true; rm -f "$setup_log"' EXIT

step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets --quiet -- -D warnings
RUSTDOCFLAGS="-D warnings" step "cargo doc" cargo doc --workspace --no-deps --quiet
step "building the tests" cargo nextest run --workspace --no-run

setup_status=0
wait "$setup_pid" || setup_status=$?
cat "$setup_log" >&2
echo "scripts/test.sh: compat/setup.sh finished $((SECONDS - setup_start)) s after it started" >&2
if [[ $setup_status -ne 0 ]]; then
  echo "scripts/test.sh: compat/setup.sh failed (exit $setup_status)" >&2
  exit "$setup_status"
fi

step "running the tests" cargo nextest run --workspace --no-fail-fast "$@"
