#!/usr/bin/env bash
# Installs npm rocketmq-client-nodejs@1.0.8 (the Apache RocketMQ 5.x gRPC client for Node.js) into
# compat/grpc_node/node_modules for the drivers beside this script (producer.js, simple_consumer.js,
# push_consumer.js).
#
#   compat/grpc_node/setup.sh          install (fast no-op while the stamp matches)
#   compat/grpc_node/setup.sh --force  reinstall
#
# `npm ci` installs exactly what package-lock.json pins (it is written without "resolved" URLs, so
# the configured npm registry is used). The stamp node_modules/.ferromq-compat-stamp names the
# client version, the lock file's checksum and the node version; the install is redone when any of
# them changes, or when node_modules is removed.
#
# Environment: NODE (default: node), NPM (default: npm).
# Exit status: 0 when the client is installed and loads, non-zero (with a message on stderr) otherwise.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKG="rocketmq-client-nodejs"
VERSION="1.0.8"
NODE="${NODE:-node}"
NPM="${NPM:-npm}"
FORCE=0

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "compat/grpc_node/setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "compat/grpc_node/setup.sh: $*" >&2; }
die() { echo "compat/grpc_node/setup.sh: ERROR: $*" >&2; exit 1; }

# Serialise concurrent runs when flock is available.
if command -v flock >/dev/null 2>&1; then
  lock_id="$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"
  exec 8>"${TMPDIR:-/tmp}/ferromq-compat-grpc-node-${lock_id}.lock"
  flock -w 600 8 || die "timed out waiting for another compat/grpc_node/setup.sh run to finish"
fi

command -v "$NODE" >/dev/null 2>&1 || die "'$NODE' not found; install Node.js >= 16.19 (or set NODE=...)"
command -v "$NPM" >/dev/null 2>&1 || die "'$NPM' not found; install npm (or set NPM=...)"
nodever="$("$NODE" --version 2>/dev/null)" || die "'$NODE' does not run"
"$NODE" -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  process.exit(maj > 16 || (maj === 16 && min >= 19) ? 0 : 1);
' || die "$PKG@$VERSION needs Node.js >= 16.19 (found $nodever)"
[[ -f "$DIR/package.json" && -f "$DIR/package-lock.json" ]] \
  || die "$DIR/package.json or package-lock.json is missing"

nm="$DIR/node_modules"
stamp="$nm/.ferromq-compat-stamp"
want="$PKG@$VERSION lock=$(cksum <"$DIR/package-lock.json" | cut -d' ' -f1) node=$nodever"

if [[ $FORCE == 0 && -f "$nm/$PKG/package.json" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "node gRPC client already installed ($PKG@$VERSION node=$nodever)"
  exit 0
fi

log "installing $PKG@$VERSION into $nm (npm ci, node $nodever)"
rm -f "$stamp"
(cd "$DIR" && NPM_CONFIG_UPDATE_NOTIFIER=false "$NPM" ci --no-audit --no-fund --loglevel=error >&2) \
  || die "npm ci failed in $DIR (is the npm registry reachable? does package-lock.json match package.json?)"

# The drivers load the package and patch a few of its modules (compat/grpc_node/_driver.js
# importClient): check that all of them are there. HOME points at a scratch directory in case
# anything creates the client's log directory.
scratch="$(mktemp -d)"
got="$(cd "$DIR" && HOME="$scratch" "$NODE" -e '
  const path = require("path");
  const rmq = require(process.argv[1]);
  const root = path.dirname(require.resolve(process.argv[1] + "/package.json"));
  for (const name of [ "Producer", "SimpleConsumer", "PushConsumer", "FilterExpression", "ConsumeResult" ]) {
    if (typeof rmq[name] !== "function") throw new Error("missing export " + name);
  }
  const need = {
    "dist/message/MessageView.js": "MessageView",
    "dist/message/PublishingMessage.js": "PublishingMessage",
    "dist/client/Logger.js": "getDefaultLogger",
    "proto/apache/rocketmq/v2/definition_pb.js": "TransactionResolution",
  };
  for (const [ file, name ] of Object.entries(need)) {
    if (!require(path.join(root, file))[name]) throw new Error("missing " + name + " in " + file);
  }
  process.stdout.write(require(path.join(root, "package.json")).version);
' "$PKG" 2>&1)" || { rm -rf "$scratch"; die "$PKG does not load after npm ci: $got"; }
rm -rf "$scratch"
[[ "$got" == "$VERSION" ]] || die "expected $PKG $VERSION, npm installed $got"
printf '%s' "$want" >"$stamp"
log "node gRPC client ready: $nm/$PKG ($got)"
