#!/usr/bin/env bash
# The whole test suite, from a clean checkout: installs what the tests need (cargo-nextest when
# absent; PyPI rocketmq==0.4.4 in compat/.venv and npm ali-ons@3.12.0 in compat/node_modules,
# the real clients the compatibility tests drive; mount for the disk-full test), checks
# formatting, lints and docs with warnings denied, then runs every test with cargo-nextest.
# Extra arguments go to `cargo nextest run` (for example a filter: `./scripts/test.sh hardening`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "scripts/test.sh: installing cargo-nextest (once per machine)"
  cargo install --locked cargo-nextest
fi
bash compat/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
cargo nextest run --workspace --no-fail-fast "$@"
