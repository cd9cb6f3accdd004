#!/usr/bin/env bash
# Builds compat/grpc_go/bin/ferromq-compat-grpc-go: the Apache RocketMQ 5.x Go client
# (github.com/apache/rocketmq-clients/golang/v5, gRPC; pinned by go.mod and go.sum beside this
# script, modules from the Go module cache or the Go module proxy) with ferromq's driver.
#
#   compat/grpc_go/setup.sh          # build; a fast no-op while the stamp matches
#   compat/grpc_go/setup.sh --force  # rebuild
#
# Idempotent: after a build the binary is run with -h (it must exit 0) and a stamp file
# (bin/.ferromq-compat-stamp: module version, checksum of go.mod, go.sum and *.go, Go version) is
# written; while it matches, nothing is done.
#
# Environment:
#   GO   go binary (default: go); Go >= 1.24 (the client's go.mod asks for 1.24)
#
# Exit status: 0 when the binary is built and runs, non-zero (with a message) otherwise.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GO="${GO:-go}"
MODULE="github.com/apache/rocketmq-clients/golang/v5"
BIN="$DIR/bin/ferromq-compat-grpc-go"
STAMP="$DIR/bin/.ferromq-compat-stamp"
FORCE=0

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "compat/grpc_go/setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "compat/grpc_go/setup.sh: $*" >&2; }
die() { echo "compat/grpc_go/setup.sh: ERROR: $*" >&2; exit 1; }

# Serialise concurrent runs when flock is available.
if command -v flock >/dev/null 2>&1; then
  lock_id="$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"
  exec 8>"${TMPDIR:-/tmp}/ferromq-compat-grpc-go-setup-${lock_id}.lock"
  flock -w 600 8 || die "timed out waiting for another compat/grpc_go/setup.sh run to finish"
fi

command -v "$GO" >/dev/null 2>&1 \
  || die "'$GO' not found; install Go >= 1.24 (or set GO=/path/to/go) to build the gRPC Go client driver"
gover="$("$GO" env GOVERSION 2>/dev/null)" || die "'$GO' does not run"
# go1.24.3 -> 1 24; a devel or unparsable version is let through (go build then says what it needs).
if [[ "$gover" =~ ^go([0-9]+)\.([0-9]+) ]]; then
  major="${BASH_REMATCH[1]}" minor="${BASH_REMATCH[2]}"
  if (( major < 1 || (major == 1 && minor < 24) )); then
    die "$gover is too old: $MODULE $(awk -v m="$MODULE" '$1 == m {print $2; exit}' "$DIR/go.mod") needs Go >= 1.24 (set GO=/path/to/go)"
  fi
fi

version="$(awk -v m="$MODULE" '$1 == m {print $2; exit}' "$DIR/go.mod")"
[[ -n "$version" ]] || die "$DIR/go.mod does not require $MODULE"
src_sum="$(cat "$DIR/go.mod" "$DIR/go.sum" "$DIR"/*.go | cksum | cut -d' ' -f1)"
want="$MODULE@$version src=$src_sum $gover"

if [[ $FORCE == 0 && -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  log "gRPC Go client already built ($MODULE@$version, $gover)"
  exit 0
fi

log "building compat/grpc_go against $MODULE@$version ($gover)"
rm -f "$STAMP"
mkdir -p "$DIR/bin"
tmp="$DIR/bin/.ferromq-compat-grpc-go.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# -mod=readonly: build exactly what go.mod and go.sum pin (modules come from the module cache or the
# Go module proxy); no VCS stamping, which needs a readable git checkout. GOTOOLCHAIN=local: use this
# Go, never download another one.
(cd "$DIR" && GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0 \
  "$GO" build -trimpath -o "$tmp" . >&2) \
  || die "go build failed in $DIR (is the Go module proxy reachable? see the errors above)"
rc=0
"$tmp" -h >/dev/null 2>&1 || rc=$?
[[ $rc == 0 ]] || die "the freshly built driver does not run ('$tmp -h' exited $rc, expected 0)"
mv -f "$tmp" "$BIN"
trap - EXIT
printf '%s' "$want" >"$STAMP"
log "gRPC Go client ready: $BIN ($MODULE@$version)"
