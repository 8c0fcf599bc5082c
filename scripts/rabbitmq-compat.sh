#!/usr/bin/env bash
# Compatibility run against the RabbitMQ that is not the default (the default is 4.0 from the Debian trixie root of
# scripts/rabbitmq4-root.sh; the other is the host's Debian bookworm package, 3.10): the broker-facing integration tests, the demo and, with
# `all`, the short chaos suite, all with IOTPIPE_RABBITMQ set; then one dated summary line (also appended to
# $WORK/summary.log). Not part of ./iotpipe test: it starts many nodes and takes ten minutes or more.
#   scripts/rabbitmq-compat.sh [VERSION] [its|demo|chaos|quick|all]   VERSION 3.10 (default) or 4.0; quick = its + demo (default)
# MVN_ARGS passes options to Maven (e.g. -o offline). Exit 0 only when every step passed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${IOTPIPE_COMPAT_DIR:-/tmp/iotpipe-rabbitmq-compat}"
VERSION="${1:-3.10}"
WHAT="${2:-quick}"
# The integration tests that talk to RabbitMQ nodes: node lifecycle, topology (1 and 3 nodes), the fleet through the
# partitions, the sink runtime (reconnects, dead-lettering), and the secured broker and fleet (TLS, certificates).
ITS_BROKER="LocalDeploymentIT"
ITS_SECURITY="SecureBrokerIT"
ITS_TESTKIT="TopologyIT,ClusterTopologyIT,FleetToPartitionsIT,SinkRuntimeIT,SecureFleetIT"
MVN=("$ROOT/mvnw" -B --no-transfer-progress ${MVN_ARGS:-})
export IOTPIPE_RABBITMQ="$VERSION"
mkdir -p "$WORK"
cd "$ROOT"
say() { echo "rabbitmq-compat: $*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=lib/jdk.sh
. "$ROOT/scripts/lib/jdk.sh"
find_jdk

case "$VERSION" in
  4|4.0|4.3) "$ROOT/scripts/rabbitmq4-root.sh" >/dev/null || { say "no RabbitMQ $VERSION root (see above)"; exit 1; } ;;
  3.10) [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || { say "the host has no rabbitmq-server: apt-get install rabbitmq-server"; exit 1; } ;;
  *) say "unknown version $VERSION (3.10, 4.0 or 4.3)"; exit 2 ;;
esac

results=()
failed=0
t_start=$SECONDS

run_its() {
  say "building (tests skipped)..."
  "${MVN[@]}" -q -DskipTests install > "$WORK/build.log" 2>&1 || { say "build failed: $WORK/build.log"; results+=("build FAILED"); failed=1; return; }
  local t0=$SECONDS
  say "integration tests on RabbitMQ $VERSION: $ITS_BROKER $ITS_SECURITY $ITS_TESTKIT (log: $WORK/its.log)"
  # Failures do not stop the run (later modules would be skipped): each test class is reported below.
  "${MVN[@]}" -Dmaven.test.failure.ignore=true verify -pl iotpipe-broker,iotpipe-security,iotpipe-testkit \
    "-Dit.test=$ITS_BROKER,$ITS_SECURITY,$ITS_TESTKIT" -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
    -Dfailsafe.failIfNoSpecifiedTests=false > "$WORK/its.log" 2>&1
  local pass=() fail=() f name tests errs fails skipped
  for f in iotpipe-broker/target/failsafe-reports/TEST-*.xml iotpipe-security/target/failsafe-reports/TEST-*.xml \
           iotpipe-testkit/target/failsafe-reports/TEST-*.xml; do
    [ -f "$f" ] && [ "$f" -nt "$WORK/build.log" ] || continue
    name=$(basename "$f" .xml); name=${name##*.}
    read -r tests errs fails skipped < <(sed -n 's/.*<testsuite [^>]*tests="\([0-9]*\)"[^>]*errors="\([0-9]*\)"[^>]*skipped="\([0-9]*\)"[^>]*failures="\([0-9]*\)".*/\1 \2 \4 \3/p' "$f" | head -1)
    if [ "${errs:-1}" = 0 ] && [ "${fails:-1}" = 0 ]; then pass+=("$name($tests)"); else fail+=("$name($((errs + fails))/$tests)"); fi
  done
  for name in ${ITS_BROKER//,/ } ${ITS_SECURITY//,/ } ${ITS_TESTKIT//,/ }; do
    printf '%s\n' "${pass[@]}" "${fail[@]}" | grep -q "^$name(" || fail+=("$name(not run)")
  done
  [ ${#fail[@]} = 0 ] || failed=1
  results+=("ITs $((SECONDS - t0))s pass: ${pass[*]:-none}; fail: ${fail[*]:-none}")
}

run_demo() {
  local t0=$SECONDS out="$WORK/demo.json"
  say "demo on RabbitMQ $VERSION (log: $WORK/demo.log)"
  "$ROOT/iotpipe" demo --devices 100 --rate 300 --duration 20s --json --dir "$WORK/demo" > "$out" 2> "$WORK/demo.log"
  local rc=$? summary
  summary=$(grep -oE '"(confirmed|indexed|stored|lost|duplicates)" *: *[0-9]+' "$out" | tr -d '" ' | paste -sd, -)
  [ $rc = 0 ] || failed=1
  results+=("demo $((SECONDS - t0))s exit $rc ${summary:-no summary (see $WORK/demo.log)}")
}

run_chaos() {
  local t0=$SECONDS out="$WORK/chaos.json"
  say "short chaos suite on RabbitMQ $VERSION (log: $WORK/chaos.log)"
  "$ROOT/iotpipe" chaos --short --json > "$out" 2> "$WORK/chaos.log"
  local rc=$?
  [ $rc = 0 ] || failed=1
  results+=("chaos --short $((SECONDS - t0))s exit $rc")
}

case "$WHAT" in
  its) run_its ;;
  demo) run_demo ;;
  chaos) run_chaos ;;
  quick) run_its; run_demo ;;
  all) run_its; run_demo; run_chaos ;;
  *) say "unknown step $WHAT (its, demo, chaos, quick, all)"; exit 2 ;;
esac

server=$(case "$VERSION" in 4|4.0|4.3) cat "$(scripts/rabbitmq4-root.sh)/.iotpipe-root-ready" | cut -d' ' -f1-2 ;; *) echo "rabbitmq-server $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null)" ;; esac)
line="$(date -u +%F) rabbitmq-compat $server ($WHAT, $((SECONDS - t_start)) s): $([ $failed = 0 ] && echo PASSED || echo FAILED) — $(IFS='|'; echo "${results[*]}" | sed 's/|/ · /g')"
echo "$line" | tee -a "$WORK/summary.log"
exit $failed
