#!/usr/bin/env bash
# Installs the real RocketMQ clients that ferromq's compatibility tests drive:
#
#   compat/.venv          PyPI rocketmq==0.4.4 (ctypes wrapper around the Apache rocketmq-client-cpp,
#                         bundled librocketmq.so; x86_64 Linux only)
#   compat/.venv-grpc     PyPI rocketmq-python-client==5.1.2 (the Apache RocketMQ 5.x gRPC client, pure
#                         Python on grpcio; its dependencies pinned by compat/grpc_py/constraints.txt).
#   compat/grpc_node      npm rocketmq-client-nodejs@1.0.8 (5.x gRPC, Node.js), by compat/grpc_node/setup.sh
#   compat/grpc_java      Maven rocketmq-client-java 5.0.8 (5.x gRPC, Java), by compat/grpc_java/setup.sh
#   compat/grpc_go        github.com/apache/rocketmq-clients/golang/v5 v5.1.4 (5.x gRPC, Go), by
#                         compat/grpc_go/setup.sh
#                         A venv of its own: both packages install the top-level module `rocketmq`
#   compat/node_modules   npm ali-ons@3.12.0 (pure JavaScript), pinned in compat/package.json
#   compat/java/target/V  the Apache RocketMQ Java client (Remoting) and mqadmin V = 4.9.8 and 5.5.0
#                         (Maven Central), with ferromq's drivers compiled against each
#   compat/apache/target/V  a real Apache RocketMQ V = 5.5.0 (name server and broker, Maven Central):
#                         only its classpath, for the side-by-side tests and scripts/bench-vs-apache.sh
#   compat/go/bin         ferromq-compat-go: the Apache RocketMQ Go client
#                         (github.com/apache/rocketmq-client-go/v2, pinned in compat/go/go.mod, from
#                         the Go module proxy) with ferromq's driver, built with `go build`
#
# Idempotent: each part writes a stamp file when it has been installed and verified, and is skipped
# while the stamp matches.  Remove compat/.venv, compat/.venv-grpc or compat/node_modules (or pass
# --force) to reinstall.
#
# Environment:
#   PYTHON   interpreter used to create the venv (default: python3)
#   NODE     node binary (default: node);  NPM  npm binary (default: npm)
#   GO       go binary (default: go)
#
# Exit status: 0 when every client is installed and runs, non-zero (with a message) otherwise.
set -euo pipefail

COMPAT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY_PKG="rocketmq==0.4.4"
GRPC_PY_PKG="rocketmq-python-client==5.1.2"
ONS_VERSION="3.12.0"
PYTHON="${PYTHON:-python3}"
NODE="${NODE:-node}"
NPM="${NPM:-npm}"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"
GO="${GO:-go}"
# The Java client lines the tests drive (compat/java builds one classpath per version).
JAVA_CLIENT_VERSIONS=(4.9.8 5.5.0)
# The Apache RocketMQ release run beside ferromq (compat/apache/pom.xml pins the same).
APACHE_VERSION=5.5.0
FORCE=0

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "compat/setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "compat/setup.sh: $*" >&2; }
die() { echo "compat/setup.sh: ERROR: $*" >&2; exit 1; }

# Serialise concurrent runs (two test runners starting at once) when flock is available.
if command -v flock >/dev/null 2>&1; then
  lock_id="$(printf '%s' "$COMPAT_DIR" | cksum | cut -d' ' -f1)"
  exec 9>"${TMPDIR:-/tmp}/ferromq-compat-setup-${lock_id}.lock"
  flock -w 600 9 || die "timed out waiting for another compat/setup.sh run to finish"
fi

# ---------------------------------------------------------------------------------------------
# Python: rocketmq==0.4.4 in compat/.venv
# ---------------------------------------------------------------------------------------------
setup_python() {
  local venv="$COMPAT_DIR/.venv"
  local stamp="$venv/.ferromq-compat-stamp"

  command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; install Python 3 (or set PYTHON=/path/to/python3)"
  local arch
  arch="$(uname -s)-$(uname -m)"
  [[ "$arch" == "Linux-x86_64" ]] || die "rocketmq==0.4.4 only ships a manylinux1 x86_64 wheel; this machine is $arch"

  local pyver
  pyver="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" \
    || die "'$PYTHON' does not run"
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 6) else 1)' \
    || die "Python >= 3.6 is required (found $pyver)"
  local want="$PY_PKG python=$pyver"

  if [[ $FORCE == 0 && -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "python client already installed ($want)"
    return 0
  fi

  log "creating $venv with $PY_PKG (python $pyver)"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv" || die "'$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --no-input --quiet \
      --only-binary=:all: "$PY_PKG" \
    || { rm -rf "$venv"; die "pip install $PY_PKG failed (is PyPI reachable?)"; }
  "$venv/bin/python" - <<'PY' || { rm -rf "$venv"; die "the installed rocketmq package does not import"; }
import rocketmq.client  # loads the bundled librocketmq.so
from rocketmq.ffi import dll
for sym in ("CreatePushConsumer", "RegisterMessageCallbackOrderly", "SendMessageOrderly", "SetPushConsumerInstanceName"):
    getattr(dll, sym)
PY
  printf '%s' "$want" >"$stamp"
  log "python client ready: $venv/bin/python"
}

# ---------------------------------------------------------------------------------------------
# Python gRPC: rocketmq-python-client==5.1.2 in compat/.venv-grpc
# ---------------------------------------------------------------------------------------------
setup_python_grpc() {
  local venv="$COMPAT_DIR/.venv-grpc"
  local stamp="$venv/.ferromq-compat-stamp"
  local constraints="$COMPAT_DIR/grpc_py/constraints.txt"

  command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; install Python 3 (or set PYTHON=/path/to/python3)"
  [[ -f "$constraints" ]] || die "$constraints is missing"
  local pyver
  pyver="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" \
    || die "'$PYTHON' does not run"
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' \
    || die "$GRPC_PY_PKG needs Python >= 3.8 (found $pyver)"
  local want
  want="$GRPC_PY_PKG constraints=$(cksum <"$constraints" | cut -d' ' -f1) python=$pyver"

  if [[ $FORCE == 0 && -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "python gRPC client already installed ($GRPC_PY_PKG python=$pyver)"
    return 0
  fi

  log "creating $venv with $GRPC_PY_PKG (python $pyver)"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv" || die "'$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)"
  # Wheels only (grpcio and grpcio-tools ship manylinux wheels; building them from source takes ages).
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --no-input --quiet \
      --only-binary=:all: -c "$constraints" "$GRPC_PY_PKG" \
    || { rm -rf "$venv"; die "pip install $GRPC_PY_PKG failed (is PyPI reachable?)"; }
  # HOME points at a scratch directory: importing the client creates ~/logs/rocketmq_python/.
  local scratch
  scratch="$(mktemp -d)"
  HOME="$scratch" "$venv/bin/python" - "${GRPC_PY_PKG#*==}" <<'PY' \
    || { rm -rf "$venv" "$scratch"; die "the installed rocketmq-python-client does not import"; }
import sys
from importlib.metadata import version
from rocketmq import (ClientConfiguration, ConsumeResult, Credentials, FilterExpression, Message,
                      MessageListener, Producer, PushConsumer, SimpleConsumer, TransactionChecker,
                      TransactionResolution)
from rocketmq.grpc_protocol import MessagingServiceStub
got = version("rocketmq-python-client")
if got != sys.argv[1]:
    sys.exit("expected rocketmq-python-client %s, found %s" % (sys.argv[1], got))
PY
  rm -rf "$scratch"
  printf '%s' "$want" >"$stamp"
  log "python gRPC client ready: $venv/bin/python"
}

# ---------------------------------------------------------------------------------------------
# Node: ali-ons@3.12.0 in compat/node_modules
# ---------------------------------------------------------------------------------------------
setup_node() {
  local nm="$COMPAT_DIR/node_modules"
  local stamp="$nm/.ferromq-compat-stamp"

  command -v "$NODE" >/dev/null 2>&1 || die "'$NODE' not found; install Node.js >= 8 (or set NODE=...)"
  command -v "$NPM" >/dev/null 2>&1 || die "'$NPM' not found; install npm (or set NPM=...)"
  local nodever
  nodever="$("$NODE" --version 2>/dev/null)" || die "'$NODE' does not run"
  local pkg_sum
  pkg_sum="$(cksum <"$COMPAT_DIR/package.json" | cut -d' ' -f1)"
  local want="ali-ons@$ONS_VERSION package.json=$pkg_sum node=$nodever"

  if [[ $FORCE == 0 && -f "$nm/ali-ons/package.json" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "node client already installed ($want)"
    return 0
  fi

  log "installing ali-ons@$ONS_VERSION into $nm (node $nodever)"
  rm -f "$stamp"
  (cd "$COMPAT_DIR" && NPM_CONFIG_UPDATE_NOTIFIER=false "$NPM" install --no-audit --no-fund --loglevel=error >&2) \
    || die "npm install failed in $COMPAT_DIR (is the npm registry reachable?)"
  local got
  got="$(cd "$COMPAT_DIR" && "$NODE" -e 'require("ali-ons"); process.stdout.write(require("ali-ons/package.json").version)')" \
    || die "ali-ons does not load after npm install"
  [[ "$got" == "$ONS_VERSION" ]] || die "expected ali-ons $ONS_VERSION, npm installed $got"
  printf '%s' "$want" >"$stamp"
  log "node client ready: $nm/ali-ons ($got)"
}

# ---------------------------------------------------------------------------------------------
# Java: the Apache RocketMQ Java client (Remoting) and mqadmin, both lines, from Maven Central
# ---------------------------------------------------------------------------------------------
setup_java() {
  local dir="$COMPAT_DIR/java"
  command -v "$JAVA" >/dev/null 2>&1 || die "'$JAVA' not found; install Java 17 (or set JAVA=...)"
  command -v "$MVN" >/dev/null 2>&1 || die "'$MVN' not found; install Maven (or set MVN=...)"
  local src_sum
  src_sum="$(cat "$dir/pom.xml" "$dir"/src/main/java/ferromq/compat/*.java | cksum | cut -d' ' -f1)"
  local v
  for v in "${JAVA_CLIENT_VERSIONS[@]}"; do
    local out="$dir/target/$v"
    local stamp="$out/.ferromq-compat-stamp"
    local want="rocketmq-client@$v src=$src_sum"
    if [[ $FORCE == 0 && -f "$out/classpath.txt" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
      log "java client $v already built"
      continue
    fi
    log "building the java drivers against rocketmq-client $v (Maven Central)"
    rm -f "$stamp"
    (cd "$dir" && "$MVN" -q -B compile -Drocketmq.version="$v" >&2) \
      || die "mvn compile failed for rocketmq-client $v (is Maven Central reachable?)"
    [[ -d "$out/classes/ferromq/compat" && -s "$out/classpath.txt" ]] \
      || die "the java build for $v left no classes or classpath in $out"
    printf '%s' "$want" >"$stamp"
    log "java client ready: $out"
  done
}

# ---------------------------------------------------------------------------------------------
# Apache RocketMQ itself (name server and broker), for the tests that run it beside ferromq
# ---------------------------------------------------------------------------------------------
setup_apache() {
  local dir="$COMPAT_DIR/apache"
  local out="$dir/target/$APACHE_VERSION"
  local stamp="$out/.ferromq-compat-stamp"
  local want
  want="rocketmq@$APACHE_VERSION pom=$(cksum <"$dir/pom.xml" | cut -d' ' -f1)"
  if [[ $FORCE == 0 && -s "$out/classpath.txt" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "apache rocketmq $APACHE_VERSION already fetched"
    return 0
  fi
  log "fetching apache rocketmq $APACHE_VERSION (name server and broker, Maven Central)"
  rm -f "$stamp"
  (cd "$dir" && "$MVN" -q -B compile -Drocketmq.version="$APACHE_VERSION" >&2) \
    || die "mvn failed for apache rocketmq $APACHE_VERSION (is Maven Central reachable?)"
  [[ -s "$out/classpath.txt" ]] || die "the apache build left no classpath in $out"
  printf '%s' "$want" >"$stamp"
  log "apache rocketmq ready: $out"
}

# ---------------------------------------------------------------------------------------------
# Go: the Apache RocketMQ Go client and ferromq's driver, one static binary
# ---------------------------------------------------------------------------------------------
setup_go() {
  local dir="$COMPAT_DIR/go"
  local bin="$dir/bin/ferromq-compat-go"
  local stamp="$dir/bin/.ferromq-compat-stamp"
  command -v "$GO" >/dev/null 2>&1 \
    || die "'$GO' not found; install Go >= 1.22 (or set GO=/path/to/go) to build the Go client driver"
  local gover
  gover="$("$GO" env GOVERSION 2>/dev/null)" || die "'$GO' does not run"
  local src_sum
  src_sum="$(cat "$dir/go.mod" "$dir/go.sum" "$dir"/*.go | cksum | cut -d' ' -f1)"
  local want="rocketmq-client-go src=$src_sum $gover"
  if [[ $FORCE == 0 && -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "go client already built ($gover)"
    return 0
  fi
  log "building compat/go against $(awk '/rocketmq-client-go/ {print $(NF-1) "@" $NF; exit}' "$dir/go.mod") ($gover)"
  rm -f "$stamp"
  # -mod=readonly: build exactly what go.mod and go.sum pin (modules come from the module cache or
  # the Go module proxy); no VCS stamping, which needs a readable git checkout.
  (cd "$dir" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 "$GO" build -trimpath -o bin/ferromq-compat-go . >&2) \
    || die "go build failed in $dir (is the Go module proxy reachable?)"
  local rc=0
  "$bin" >/dev/null 2>&1 || rc=$?
  [[ $rc == 2 ]] || die "$bin does not run (exit $rc, expected its usage status 2)"
  printf '%s' "$want" >"$stamp"
  log "go client ready: $bin"
}

# The Apache RocketMQ 5.x gRPC clients for Node.js, Java and Go: each folder installs or builds
# its own (idempotent, stamped) and forwards --force.
setup_grpc_client() { # folder
  local args=()
  [[ $FORCE == 1 ]] && args+=(--force)
  bash "$COMPAT_DIR/$1/setup.sh" "${args[@]}" || die "$1/setup.sh failed"
}

setup_python
setup_python_grpc
setup_node
setup_java
setup_apache
setup_go
setup_grpc_client grpc_node
setup_grpc_client grpc_java
setup_grpc_client grpc_go
log "done"
