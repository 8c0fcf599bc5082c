#!/usr/bin/env bash
# Compatibility run of the indexer against standalone Elasticsearch 8.x and OpenSearch 2.x (the integ-test
# distributions from Maven Central): starts each engine as an unprivileged user (both refuse to run as root), runs
# the demo against it with --search-url (templates, _bulk, latest-state external versioning, the audit's composite
# aggregation), and stops it. Not part of ./iotpipe test: it downloads ~150 MB and takes a few minutes.
#   scripts/search-compat.sh [es|os|all]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${IOTPIPE_COMPAT_DIR:-/tmp/iotpipe-compat}"
ES_VERSION="${ES_VERSION:-8.19.4}"
OS_VERSION="${OS_VERSION:-2.19.1}"
# Both run on Java 17 (OpenSearch 2.x needs the security manager, gone from Java 24).
ENGINE_JAVA="${ENGINE_JAVA:-$(ls -d /usr/lib/jvm/java-17-openjdk-* 2>/dev/null | head -1)}"
RUN_AS="${RUN_AS:-iotpipe-search}"
[ -n "$ENGINE_JAVA" ] || { echo "needs a Java 17 for the engines: apt-get install openjdk-17-jre-headless, or set ENGINE_JAVA" >&2; exit 1; }
mkdir -p "$WORK"
if [ "$(id -u)" = 0 ] && ! id "$RUN_AS" >/dev/null 2>&1; then useradd --system --no-create-home "$RUN_AS"; fi

# The engines come from Maven Central like every other dependency: through the Maven wrapper, so a user's mirror,
# proxy and credentials in ~/.m2/settings.xml apply, and a zip already in the local repository is not fetched again.
fetch_zip() { # groupId:artifactId:version -> path of the zip (artifactId-version.zip in $WORK)
  local coords=$1 artifact version
  artifact=$(cut -d: -f2 <<<"$coords"); version=$(cut -d: -f3 <<<"$coords")
  local zip="$WORK/$artifact-$version.zip"
  if [ ! -f "$zip" ]; then
    echo "== resolving $coords:zip through the Maven wrapper" >&2
    (cd "$ROOT" && ./mvnw -B -q --no-transfer-progress -N dependency:copy -Dartifact="$coords:zip" \
      -DoutputDirectory="$WORK") >&2 || { echo "could not resolve $coords:zip (check your Maven mirror settings)" >&2; return 1; }
  fi
  echo "$zip"
}

run_engine() { # name groupId:artifactId:version dir-name extra-args...
  local name=$1 coords=$2 dirname=$3; shift 3
  local zip home="$WORK/$dirname" port=$((19200 + RANDOM % 500))
  zip=$(fetch_zip "$coords") || return 1
  rm -rf "$home"; (cd "$WORK" && unzip -q "$zip")
  chown -R "$RUN_AS" "$home"
  echo "== $name on port $port ($home)" >&2
  local launcher="$home/bin/elasticsearch"; [ -x "$launcher" ] || launcher="$home/bin/opensearch"
  su -s /bin/bash "$RUN_AS" -c "cd '$home' && ES_JAVA_HOME='$ENGINE_JAVA' OPENSEARCH_JAVA_HOME='$ENGINE_JAVA' JAVA_HOME='$ENGINE_JAVA' \
     ES_JAVA_OPTS='-Xms512m -Xmx512m' OPENSEARCH_JAVA_OPTS='-Xms512m -Xmx512m' \
     '$launcher' -Ediscovery.type=single-node -Ehttp.port=$port -Etransport.port=$((port + 1000)) \
     -Ecluster.routing.allocation.disk.threshold_enabled=false $* > '$home/stdout.log' 2>&1 & echo \$! > '$home/pid'"
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null && break; sleep 1; done
  # (the integ-test zips have no GET / handler: ask the node for its version)
  curl -sf "http://127.0.0.1:$port/_nodes/_local?filter_path=nodes.*.version" | grep -E '"version"' >&2 || { tail -30 "$home/stdout.log" >&2; kill "$(cat "$home/pid")"; return 1; }
  local rc=0
  "$ROOT/iotpipe" demo --search-url "http://127.0.0.1:$port" --devices 100 --rate 300 --duration 20s --json \
    --dir "$WORK/demo-$name" > "$WORK/$name.json" || rc=$?
  kill "$(cat "$home/pid")" || true
  grep -E '"(confirmed|indexed|stored|lost|duplicates)"' "$WORK/$name.json" >&2
  return $rc
}

what="${1:-all}"
[ "$what" = os ] || run_engine elasticsearch "org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION" \
  "elasticsearch-$ES_VERSION" -Expack.security.enabled=false
[ "$what" = es ] || run_engine opensearch "org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION" \
  "opensearch-$OS_VERSION"
echo "compatibility run passed" >&2
