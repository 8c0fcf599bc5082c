#!/usr/bin/env bash
# Runs one integration test class N times in a row from the current build and counts passes and failures: the way
# to show a test is not flaky (or to catch it failing) without rerunning the whole suite.
#   scripts/repeat-it.sh [-n N] [--keep-going] CLASS        e.g. scripts/repeat-it.sh -n 5 LocalDeploymentIT
# Builds the class's module and what it needs once (./mvnw -o package -DskipTests, in this reactor: nothing is
# installed into ~/.m2), then runs only failsafe for that class N times, each run under the servers' lock
# (/tmp/iotpipe-servers.lock; IOTPIPE_LOCK overrides) so it never overlaps another server-heavy job. Stops at the first
# failure unless --keep-going. Each run's Maven output and failsafe reports are kept in target/repeat-it/CLASS/RUN/.
# Exit code: 0 when every run passed, 1 otherwise, 2 for a usage error.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "repeat-it.sh: $*" >&2; exit 2; }

runs=10 keep_going=false class=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "-n needs a positive count, e.g. -n 5"; runs="$2"; shift 2 ;;
    --keep-going) keep_going=true; shift ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$class" ] || die "one test class at a time (got $class and $1)"; class="$1"; shift ;;
  esac
done
[ -n "$class" ] || die "which test class? e.g. scripts/repeat-it.sh -n 5 LocalDeploymentIT"
[[ "$class" == *IT ]] || die "$class is not an integration test class (*IT); unit tests run with ./mvnw -o test -Dtest=$class"

src="$(cd "$ROOT" && find . -path ./\*/target -prune -o -path '*/src/test/java/*' -name "$class.java" -print)"
[ -n "$src" ] || die "no $class.java under */src/test/java in $ROOT"
[ "$(wc -l <<< "$src")" = 1 ] || die "$class.java is in several modules: $(tr '\n' ' ' <<< "$src")"
module="${src#./}"; module="${module%%/src/test/java/*}"

export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
LOCK="${IOTPIPE_LOCK:-/tmp/iotpipe-servers.lock}"
MVN=("$ROOT/mvnw" -B -o --no-transfer-progress -f "$ROOT/pom.xml")
out="$ROOT/target/repeat-it/$class"; rm -rf "$out"; mkdir -p "$out"

echo "repeat-it.sh: building $module and what it needs (no tests) ..." >&2
"${MVN[@]}" -q package -pl "$module" -am -DskipTests > "$out/build.log" 2>&1 \
  || { tail -40 "$out/build.log" >&2; echo "repeat-it.sh: the build failed (log: $out/build.log)" >&2; exit 1; }

passed=0 failed=0 durations=()
for i in $(seq 1 "$runs"); do
  dir="$out/$i"; mkdir -p "$dir"
  echo "repeat-it.sh: run $i/$runs of $class (waiting for $LOCK if another server-heavy job holds it) ..." >&2
  start=$(date +%s)
  # Only failsafe, on the classes the build above compiled: -am so the reactor serves this build's modules, not ~/.m2.
  if flock "$LOCK" "${MVN[@]}" failsafe:integration-test failsafe:verify -pl "$module" -am -Dit.test="$class" \
      -Dfailsafe.failIfNoSpecifiedTests=false > "$dir/maven.log" 2>&1; then
    result=passed; passed=$((passed + 1))
  else
    result=FAILED; failed=$((failed + 1))
  fi
  secs=$(( $(date +%s) - start )); durations+=("$secs")
  cp -r "$ROOT/$module/target/failsafe-reports" "$dir/" 2>/dev/null || true
  test_time="$(grep -ho "Tests run: [0-9]*, Failures: [0-9]*, Errors: [0-9]*, Skipped: [0-9]*, Time elapsed: [0-9.]* s" "$dir/maven.log" | head -1 || true)"
  echo "repeat-it.sh: run $i/$runs $result in ${secs} s (${test_time:-no test summary; see $dir/maven.log})" >&2
  if [ "$result" = FAILED ]; then
    grep -E "^\[ERROR\] +[A-Za-z].*(IT|Test)\.|expected|Exception" "$dir/maven.log" | head -10 >&2 || true
    $keep_going || break
  fi
done
echo "$class: $((passed + failed)) run(s): $passed passed, $failed failed (wall seconds per run, lock wait included: ${durations[*]}; logs: $out)"
[ "$failed" = 0 ]
