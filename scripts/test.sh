#!/usr/bin/env bash
# The whole test suite: installs the third-party clients the compatibility tests drive
# (PyPI rocketmq==0.4.4 in compat/.venv, npm ali-ons@3.12.0 in compat/node_modules), checks
# formatting (and lints on CI), then runs every test with cargo-nextest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash compat/setup.sh
cargo fmt --all -- --check
if [[ "${CI:-}" == "true" ]]; then
  cargo clippy --workspace --all-targets --quiet -- -D warnings
fi
cargo nextest run --workspace --no-fail-fast "$@"
