#!/usr/bin/env bash
# Regenerates crates/protocol/src/grpc/apache.rocketmq.v2.rs from crates/protocol/proto after a
# change to the .proto files (commit both). `scripts/protogen.sh --check` only compares.
# tools/protogen is its own workspace: its protobuf compiler never enters the broker's build.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release --manifest-path tools/protogen/Cargo.toml -- "$@"
