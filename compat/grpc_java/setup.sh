#!/usr/bin/env bash
# Builds the gRPC Java drivers (compat/grpc_java): ferromq.compat.grpc.Main produce|simple|push, compiled
# against Maven org.apache.rocketmq:rocketmq-client-java (the Apache RocketMQ 5.x client over gRPC; the
# version is pinned in compat/grpc_java/pom.xml) into
#
#   compat/grpc_java/target/classes        the drivers
#   compat/grpc_java/target/classpath.txt  the client jar Maven fetched (a shaded jar: no other dependency)
#
# Run them with
#   java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
#       -cp compat/grpc_java/target/classes:$(cat compat/grpc_java/target/classpath.txt) \
#       ferromq.compat.grpc.Main <produce|simple|push> --endpoint HOST:PORT ...
#
# Idempotent: a stamp file (target/.ferromq-compat-stamp: client version, checksum of pom.xml and the
# sources, java version) is written once the build ran and `Main --help` reported the pinned client
# version; while it matches (and the jars of classpath.txt exist) the script does nothing.
# --force rebuilds.
#
# Environment:  JAVA  java binary (default: java, >= 17)    MVN  mvn binary (default: mvn)
# Needs Maven Central (first run only). Exit status 0 when the drivers are built and run, 1 otherwise.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"
FORCE=0

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "compat/grpc_java/setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "compat/grpc_java/setup.sh: $*" >&2; }
die() { echo "compat/grpc_java/setup.sh: ERROR: $*" >&2; exit 1; }

# Serialise concurrent runs (two test runners starting at once) when flock is available.
if command -v flock >/dev/null 2>&1; then
  lock_id="$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"
  exec 9>"${TMPDIR:-/tmp}/ferromq-compat-grpc-java-${lock_id}.lock"
  flock -w 600 9 || die "timed out waiting for another compat/grpc_java/setup.sh run to finish"
fi

command -v "$JAVA" >/dev/null 2>&1 || die "'$JAVA' not found; install Java >= 17 (or set JAVA=...)"
command -v "$MVN" >/dev/null 2>&1 || die "'$MVN' not found; install Maven (or set MVN=...)"
java_spec="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1)"
[[ -n "$java_spec" ]] || die "'$JAVA' does not run"
[[ "${java_spec%%.*}" =~ ^[0-9]+$ && "${java_spec%%.*}" -ge 17 ]] \
  || die "Java >= 17 is required (found specification version $java_spec)"

version="$(sed -n 's:.*<rocketmq.client.java.version>\(.*\)</rocketmq.client.java.version>.*:\1:p' "$DIR/pom.xml" | head -n1)"
[[ -n "$version" ]] || die "no <rocketmq.client.java.version> in $DIR/pom.xml"
src_sum="$(cd "$DIR" && { cat pom.xml; find src -type f -name '*.java' | LC_ALL=C sort | xargs cat; } | cksum | cut -d' ' -f1)"
want="rocketmq-client-java@$version src=$src_sum java=$java_spec"
out="$DIR/target"
stamp="$out/.ferromq-compat-stamp"

classpath_ok() {
  [[ -s "$out/classpath.txt" && -f "$out/classes/ferromq/compat/grpc/Main.class" ]] || return 1
  local jar
  local IFS=:
  for jar in $(cat "$out/classpath.txt"); do
    [[ -f "$jar" ]] || return 1
  done
}

if [[ $FORCE == 0 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && classpath_ok; then
  log "gRPC java drivers already built (rocketmq-client-java $version)"
  exit 0
fi

log "building the gRPC java drivers against rocketmq-client-java $version (Maven Central)"
rm -rf "$out"
(cd "$DIR" && "$MVN" -q -B compile >&2) \
  || die "mvn compile failed in $DIR (is Maven Central reachable? is rocketmq-client-java $version served?)"
classpath_ok || die "the build left no classes or no usable classpath.txt in $out"

help_out="$("$JAVA" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$out/classes:$(cat "$out/classpath.txt")" \
  ferromq.compat.grpc.Main --help 2>&1)" || die "ferromq.compat.grpc.Main --help failed: $help_out"
grep -q "rocketmq-client-java $version\$" <<<"$help_out" \
  || die "ferromq.compat.grpc.Main --help does not report rocketmq-client-java $version: $help_out"
printf '%s' "$want" >"$stamp"
log "gRPC java drivers ready: $out (rocketmq-client-java $version)"
