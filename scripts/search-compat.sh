#!/usr/bin/env bash
# Compatibility run of the indexer against standalone Elasticsearch 8.x and OpenSearch 2.x (the integ-test
# distributions from Maven Central): starts each engine as an unprivileged user (both refuse to run as root), runs
# the demo against it with --search-url (templates, _bulk create + conflict checks, latest-state external versioning,
# the audit's composite aggregation), and stops it. Not part of ./iotpipe test: it downloads ~150 MB and takes a few
# minutes.
#   es-secure: Elasticsearch 8 with security on, as a production cluster runs it: HTTPS only (certificate from a
#   private CA made here with openssl), a file-realm user with a role limited to the telemetry indices, a random
#   password passed by environment only; afterwards every file the demo wrote is checked for the password.
#   tenants: Elasticsearch 8 with security as es-secure, plus an administrator (file realm, superuser); the demo
#   with --tenants a,b (a fleet split over two tenants through the tenant registry); `iotpipe tenant add a|b`; then
#   each tenant's own credential must count exactly its readings (events) and devices (latest state) and be refused
#   (HTTP 403, not an empty result) both of the other tenant's indices; the reading a device of a claimed as b must
#   have been dead-lettered with the reason; `tenant remove` must lock the credential out; an anonymous request must
#   be refused. Prints a dated result line.
#   os-tenants: the same proof on OpenSearch ($OS_TENANTS_VERSION) with its security plugin (from Maven Central too):
#   TLS on transport and HTTP, the security index initialised from the plugin's YAML (an administrator with
#   all_access, allowed the security REST API; the least-privilege indexer), wildcards narrowed to what a user may read.
#   reindex: Elasticsearch 8 with security as es-secure; the demo; one day's event index deleted and rebuilt from the
#   store by `iotpipe reindex` as the indexer's own user, SIGKILLed partway and resumed from its checkpoint: count and ids
#   equal the store's, a second run writes nothing, the ledger-free audit agrees; then `reindex --index-suffix v2
#   --switch`, refused to the indexer (HTTP 403), then as an operator (role iotpipe_reindex_operator: manage on
#   telemetry*, which the indexer does not get) over a rebuild of the day's first half (the switch copies the rest): the
#   live names become aliases of the -v2 indices with the same counts. Prints a dated result line.
#   scripts/search-compat.sh [es|es-secure|os|tenants|os-tenants|reindex|all]   (all = es-secure + es + os)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${IOTPIPE_COMPAT_DIR:-/tmp/iotpipe-compat}"
ES_VERSION="${ES_VERSION:-8.19.4}"
OS_VERSION="${OS_VERSION:-2.19.1}"
# the security plugin is released for one OpenSearch version exactly (plugin <version>.0)
OS_TENANTS_VERSION="${OS_TENANTS_VERSION:-2.19.4}"
# Both run on Java 17 (OpenSearch 2.x needs the security manager, gone from Java 24).
ENGINE_JAVA="${ENGINE_JAVA:-$(ls -d /usr/lib/jvm/java-17-openjdk-* 2>/dev/null | head -1)}"
RUN_AS="${RUN_AS:-iotpipe-search}"
[ -n "$ENGINE_JAVA" ] || { echo "needs a Java 17 for the engines: apt-get install openjdk-17-jre-headless, or set ENGINE_JAVA" >&2; exit 1; }
mkdir -p "$WORK"
if [ "$(id -u)" = 0 ] && ! id "$RUN_AS" >/dev/null 2>&1; then useradd --system --no-create-home "$RUN_AS"; fi

secure_setup() { # home: a private CA, an HTTPS certificate for 127.0.0.1, a least-privilege indexer user
  local home=$1 certs="$1/config/certs"
  mkdir -p "$certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=iotpipe compat CA" -keyout "$certs/ca.key" -out "$certs/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$certs/node.key" -out "$certs/node.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > "$certs/ext.cnf"
  openssl x509 -req -in "$certs/node.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -CAcreateserial -days 2 \
    -extfile "$certs/ext.cnf" -out "$certs/node.crt" 2>/dev/null
  rm -f "$certs/ca.key"
  # What the indexer and the audit need, on the telemetry indices only: templates, create/index/read, refresh.
  cat > "$home/config/roles.yml" <<'YAML'
iotpipe_indexer:
  cluster: [monitor, manage_index_templates]
  indices:
    - names: ['telemetry*']
      privileges: [create_index, create_doc, index, read, view_index_metadata, maintenance]
YAML
  SEARCH_PASSWORD="$(openssl rand -hex 16)"
  ADMIN_PASSWORD="$(openssl rand -hex 16)"
  chown -R "$RUN_AS" "$home"
  su -s /bin/bash "$RUN_AS" -c "cd '$home' && ES_JAVA_HOME='$ENGINE_JAVA' bin/elasticsearch-users useradd iotpipe -p '$SEARCH_PASSWORD' -r iotpipe_indexer" >/dev/null
  # the operator who runs `iotpipe tenant add` (manage_security); the indexer itself never gets it
  su -s /bin/bash "$RUN_AS" -c "cd '$home' && ES_JAVA_HOME='$ENGINE_JAVA' bin/elasticsearch-users useradd iotpipe-admin -p '$ADMIN_PASSWORD' -r superuser" >/dev/null
}

security_analysis_module() { # home: what the security index needs from analysis-common (see the Java file's header)
  local home=$1 build="$WORK/security-analysis-build" mod="$1/modules/iotpipe-security-analysis"
  local jdk_bin; jdk_bin="$(dirname "$(readlink -f "$ENGINE_JAVA/bin/java")")"
  [ -x "$jdk_bin/javac" ] || { echo "tenants: needs a JDK 17 (javac) for the engine's analysis module: apt-get install openjdk-17-jdk-headless" >&2; return 1; }
  rm -rf "$build" && mkdir -p "$build/classes" "$mod"
  "$jdk_bin/javac" -d "$build/classes" -cp "$home/lib/*" "$ROOT/scripts/es-security-analysis/SecurityIndexAnalysis.java"
  "$jdk_bin/jar" cf "$mod/iotpipe-security-analysis.jar" -C "$build/classes" .
  printf 'description=pattern_capture, uax_url_email, lowercase and unique for the security index (iotpipe compat runs only)\nversion=%s\nname=iotpipe-security-analysis\njava.version=17\nelasticsearch.version=%s\nclassname=io.iotpipe.compat.SecurityIndexAnalysis\n' \
    "$ES_VERSION" "$ES_VERSION" > "$mod/plugin-descriptor.properties"
}

os_security_setup() { # home plugin-zip: OpenSearch's security plugin, TLS on transport and HTTP, its users and roles
  local home=$1 zip=$2 certs="$1/config/certs" sec="$1/config/opensearch-security"
  chown -R "$RUN_AS:" "$home" # user and group: the installer gives the plugin's config the group of config/
  su -s /bin/bash "$RUN_AS" -c "cd '$home' && OPENSEARCH_JAVA_HOME='$ENGINE_JAVA' bin/opensearch-plugin install --batch 'file://$zip'" >&2
  # A private CA; the node's certificate serves HTTPS and the transport layer (client and server), the admin
  # certificate is the plugin's super-admin (securityadmin.sh), which this run does not need but a cluster has.
  mkdir -p "$certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=iotpipe compat CA" -keyout "$certs/ca.key" -out "$certs/ca.crt" 2>/dev/null
  local who
  for who in node:localhost admin:iotpipe-security-admin; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=${who#*:}" -keyout "$certs/${who%%:*}.key" -out "$certs/${who%%:*}.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' > "$certs/ext.cnf"
    openssl x509 -req -in "$certs/${who%%:*}.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -CAcreateserial -days 2 \
      -extfile "$certs/ext.cnf" -out "$certs/${who%%:*}.crt" 2>/dev/null
  done
  rm -f "$certs/ca.key"
  cat >> "$home/config/opensearch.yml" <<'YAML'
plugins.security.ssl.transport.pemcert_filepath: certs/node.crt
plugins.security.ssl.transport.pemkey_filepath: certs/node.key
plugins.security.ssl.transport.pemtrustedcas_filepath: certs/ca.crt
plugins.security.ssl.transport.enforce_hostname_verification: false
plugins.security.ssl.http.enabled: true
plugins.security.ssl.http.pemcert_filepath: certs/node.crt
plugins.security.ssl.http.pemkey_filepath: certs/node.key
plugins.security.ssl.http.pemtrustedcas_filepath: certs/ca.crt
plugins.security.nodes_dn: ["CN=localhost"]
plugins.security.authcz.admin_dn: ["CN=iotpipe-security-admin"]
# the security index from config/opensearch-security/*.yml on first start (instead of securityadmin.sh)
plugins.security.allow_default_init_securityindex: true
# who may use the security REST API (tenant add|list|remove): the administrator's role
plugins.security.restapi.roles_enabled: ["all_access"]
plugins.security.audit.type: noop
YAML
  SEARCH_PASSWORD="$(openssl rand -hex 16)"
  ADMIN_PASSWORD="$(openssl rand -hex 16)"
  local admin_hash indexer_hash
  chmod +x "$home/plugins/opensearch-security/tools/"*.sh
  admin_hash=$(OPENSEARCH_JAVA_HOME="$ENGINE_JAVA" "$home/plugins/opensearch-security/tools/hash.sh" -p "$ADMIN_PASSWORD" | tail -1)
  indexer_hash=$(OPENSEARCH_JAVA_HOME="$ENGINE_JAVA" "$home/plugins/opensearch-security/tools/hash.sh" -p "$SEARCH_PASSWORD" | tail -1)
  cat > "$sec/internal_users.yml" <<YAML
_meta: {type: internalusers, config_version: 2}
iotpipe-admin: {hash: "$admin_hash", description: "the operator who runs iotpipe tenant add (all_access)"}
iotpipe: {hash: "$indexer_hash", description: "the indexer (iotpipe_indexer)"}
YAML
  # What the indexer and the audit need, on the telemetry indices only, as es-secure's iotpipe_indexer.
  cat >> "$sec/roles.yml" <<'YAML'
iotpipe_indexer:
  cluster_permissions: [cluster_monitor, cluster_composite_ops, "indices:admin/index_template/*", "indices:admin/template/*"]
  index_permissions:
    - index_patterns: ["telemetry*"]
      allowed_actions: [create_index, crud, indices_monitor, "indices:admin/mapping/put", "indices:admin/refresh*", "indices:admin/get", "indices:admin/mappings/get"]
YAML
  cat > "$sec/roles_mapping.yml" <<'YAML'
_meta: {type: rolesmapping, config_version: 2}
all_access: {users: [iotpipe-admin]}
iotpipe_indexer: {users: [iotpipe]}
YAML
  # a wildcard a tenant asks for (telemetry-*) is narrowed to the indices it may read, as Elasticsearch does; an
  # index named outright stays refused (HTTP 403)
  sed -i 's/^\( *\)#do_not_fail_on_forbidden: false/\1do_not_fail_on_forbidden: true/' "$sec/config.yml"
  grep -q 'do_not_fail_on_forbidden: true' "$sec/config.yml" || { echo "os-tenants: cannot set do_not_fail_on_forbidden in $sec/config.yml" >&2; return 1; }
  chown -R "$RUN_AS" "$home"
}

tenants_proof() { # port home: the per-tenant proof against the running secured engine (see the header)
  local port=$1 home=$2 url="https://127.0.0.1:$1" ca="$2/config/certs/ca.crt" t0=$SECONDS rc=0
  local engine="Elasticsearch $ES_VERSION with security"
  [ ! -x "$home/bin/opensearch" ] || engine="OpenSearch $OS_TENANTS_VERSION with its security plugin"
  local demo="$WORK/demo-tenants" creds="$WORK/tenant-credentials"
  rm -rf "$demo" "$creds"
  export IOTPIPE_SEARCH_CA="$ca" IOTPIPE_SEARCH_USER=iotpipe IOTPIPE_SEARCH_PASSWORD="$SEARCH_PASSWORD"
  "$ROOT/iotpipe" demo --search-url "$url" --tenants a,b --devices 40 --rate 200 --duration 15s --profile flat --no-lake --json \
    --dir "$demo" > "$WORK/tenants-demo.json" || { echo "tenants: the demo failed" >&2; return 1; }
  local cfg="$demo/iotpipe.yaml"
  for t in a b; do
    IOTPIPE_SEARCH_ADMIN_PASSWORD="$ADMIN_PASSWORD" "$ROOT/iotpipe" tenant add "$t" --config "$cfg" --admin-user iotpipe-admin \
      --credentials-dir "$creds" >&2 || { echo "tenants: tenant add $t failed" >&2; return 1; }
  done
  IOTPIPE_SEARCH_ADMIN_PASSWORD="$ADMIN_PASSWORD" "$ROOT/iotpipe" tenant list --config "$cfg" --admin-user iotpipe-admin >&2
  # again: the role (and who holds it) as the engine returns it is the declared one, the password stays
  local again; again=$(IOTPIPE_SEARCH_ADMIN_PASSWORD="$ADMIN_PASSWORD" "$ROOT/iotpipe" tenant add a --config "$cfg" --admin-user iotpipe-admin \
    --credentials-dir "$creds" --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['roleChanged'], d['userCreated'])")
  echo "tenants: tenant add a again: roleChanged userCreated = $again" >&2
  [ "$again" = "False False" ] || rc=1
  # the indexer's own credential may not manage tenants: refused, the error naming the fix
  local denied; denied=$("$ROOT/iotpipe" tenant list --config "$cfg" 2>&1 >/dev/null) && rc=1
  echo "tenants: tenant list as the indexer: $denied" >&2
  [[ "$denied" == *"refused (HTTP 403)"*"--admin-user"* ]] || rc=1
  curl -sf --cacert "$ca" -u "iotpipe-admin:$ADMIN_PASSWORD" -X POST "$url/telemetry*/_refresh" >/dev/null
  local admin=(--cacert "$ca" -u "iotpipe-admin:$ADMIN_PASSWORD")
  curl -s "${admin[@]}" "$url/_cat/indices/telemetry*?h=index,docs.count&s=index" >&2
  # the demo's summary: the JSON object among the roles' log lines on stdout
  demo_json() { python3 -c "import json,sys; t=open(sys.argv[1]).read(); d=json.JSONDecoder().raw_decode(t, 0 if t.startswith('{') else t.index('\n{\n') + 1)[0]
for k in sys.argv[2:]: d=d[k]
print(d)" "$WORK/tenants-demo.json" "$@"; }
  local lines=()
  for t in a b; do
    local other; other=$([ "$t" = a ] && echo b || echo a)
    local pw; pw="$(cat "$creds/telemetry-tenant-$t.password")"
    local me=(--cacert "$ca" -u "telemetry-tenant-$t:$pw")
    local want_events want_latest events latest
    want_events=$(demo_json tenants tenants "$t" confirmed)
    want_latest=$(demo_json tenants tenants "$t" devicesWithReadings)
    events=$(curl -s "${me[@]}" "$url/telemetry-20*.tenant-$t/_count" | python3 -c "import json,sys; print(json.load(sys.stdin).get('count'))")
    latest=$(curl -s "${me[@]}" "$url/telemetry-latest.tenant-$t/_count" | python3 -c "import json,sys; print(json.load(sys.stdin).get('count'))")
    # each of the other tenant's indices by name: a refusal, not an empty result
    local refused=0 asked=0 idx code
    for idx in $(curl -s "${admin[@]}" "$url/_cat/indices/telemetry-*.tenant-$other?h=index") ; do
      for api in _count _search; do
        asked=$((asked + 1)); code=$(curl -s -o /dev/null -w '%{http_code}' "${me[@]}" "$url/$idx/$api")
        [ "$code" = 403 ] && refused=$((refused + 1)) || echo "tenants: $t's credential got HTTP $code for $idx/$api" >&2
      done
    done
    # and the wildcard over everyone's telemetry: the engine narrows it to the indices this user may read
    local wide; wide=$(curl -s "${me[@]}" "$url/telemetry-*/_count" | python3 -c "import json,sys; print(json.load(sys.stdin).get('count'))")
    echo "tenants: $t reads events $events (confirmed $want_events), latest $latest (devices $want_latest), telemetry-* $wide; refused $refused of $asked requests for $other's indices" >&2
    [ "$events" = "$want_events" ] && [ "$latest" = "$want_latest" ] && [ "$wide" = "$((want_events + want_latest))" ] \
      && [ "$asked" -ge 4 ] && [ "$refused" = "$asked" ] || rc=1
    lines+=("$t: events $events/$want_events, latest $latest/$want_latest, $other's indices refused $refused/$asked (403)")
  done
  local reason; reason=$(demo_json tenants forgedClaimReason)
  echo "tenants: forged claim: $reason" >&2
  [[ "$reason" == *"belongs to tenant a; the reading claims tenant b"* ]] || rc=1
  IOTPIPE_SEARCH_ADMIN_PASSWORD="$ADMIN_PASSWORD" "$ROOT/iotpipe" tenant remove a --config "$cfg" --admin-user iotpipe-admin >&2 || rc=1
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" -u "telemetry-tenant-a:$(cat "$creds/telemetry-tenant-a.password")" "$url/telemetry-latest.tenant-a/_count")
  echo "tenants: after tenant remove a, a's credential gets HTTP $code" >&2
  [ "$code" = 401 ] || rc=1
  local anonymous; anonymous=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" "$url/telemetry-latest.tenant-b/_count")
  echo "tenants: an anonymous request gets HTTP $anonymous" >&2
  [ "$anonymous" = 401 ] || rc=1
  # no password of any kind in what the run wrote (the tenants' own files under $creds aside)
  for secret in "$SEARCH_PASSWORD" "$ADMIN_PASSWORD" "$(cat "$creds/telemetry-tenant-b.password")"; do
    if grep -rlF "$secret" "$demo" "$WORK/tenants-demo.json" >&2; then echo "tenants: a password appears in the files above" >&2; rc=1; fi
  done
  grep -E '"(confirmed|indexed|stored|lost|duplicates|deadLettered)"' "$WORK/tenants-demo.json" | head -6 >&2
  local verdict; verdict=$([ "$rc" = 0 ] && echo PASSED || echo FAILED)
  echo "tenants $(date -u +%Y-%m-%dT%H:%MZ) $engine: $verdict in $((SECONDS - t0)) s — ${lines[0]}; ${lines[1]}; forged claim dead-lettered: \"$reason\"; removed tenant's credential: HTTP $code; anonymous: HTTP $anonymous" | tee "$WORK/tenants-result.txt" >&2
  return $rc
}

# reindex: the store rebuilds the search index, on Elasticsearch 8 with security (see the header).
es_ids() { # url ca user index: every document id of index, one a line, sorted (password from $ES_IDS_PASSWORD)
  python3 - "$@" <<'PY'
import base64, json, os, ssl, sys, urllib.request
url, ca, user, index = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
auth = "Basic " + base64.b64encode(f"{user}:{os.environ['ES_IDS_PASSWORD']}".encode()).decode()
def call(path, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json", "Authorization": auth})
    return json.load(urllib.request.urlopen(req, context=ctx))
r = call(f"/{index}/_search?scroll=1m", {"size": 5000, "_source": False, "sort": ["_doc"]})
ids = []
while r["hits"]["hits"]:
    ids += [h["_id"] for h in r["hits"]["hits"]]
    r = call("/_search/scroll", {"scroll": "1m", "scroll_id": r["_scroll_id"]})
print("\n".join(ids))
PY
}

reindex_proof() { # port home: a day's index deleted and rebuilt from the store, killed halfway; then a switch to -v2
  local port=$1 home=$2 url="https://127.0.0.1:$1" ca="$2/config/certs/ca.crt" t0=$SECONDS rc=0
  local demo="$WORK/demo-reindex" out="$WORK/reindex-out" operator_password
  rm -rf "$demo" "$out" && mkdir -p "$out"
  local admin=(--cacert "$ca" -u "iotpipe-admin:$ADMIN_PASSWORD") me=(--cacert "$ca" -u "iotpipe:$SEARCH_PASSWORD")
  ri_fail() { echo "reindex: $*" >&2; rc=1; }
  ri_count() { curl -s "${admin[@]}" -X POST "$url/$1/_refresh" >/dev/null; curl -s "${admin[@]}" "$url/$1/_count" | python3 -c "import json,sys; print(json.load(sys.stdin).get('count'))"; }
  ri_summary() { python3 -c "import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[k]
print(d)" "$@"; }
  # The switch changes index settings, blocks writes, moves aliases and deletes the old indices: index management
  # (manage on telemetry*), which the indexer must not have (a leaked indexer password could then delete the index).
  # An operator role for it; the rebuild into the live names runs as the indexer itself.
  cat >> "$home/config/roles.yml" <<'YAML'
iotpipe_reindex_operator:
  cluster: [monitor, manage_index_templates]
  indices:
    - names: ['telemetry*']
      privileges: [manage, read, index]
YAML
  operator_password="$(openssl rand -hex 16)"
  chown "$RUN_AS" "$home/config/roles.yml"
  su -s /bin/bash "$RUN_AS" -c "cd '$home' && ES_JAVA_HOME='$ENGINE_JAVA' bin/elasticsearch-users useradd iotpipe-operator -p '$operator_password' -r iotpipe_reindex_operator" >/dev/null
  local _; for _ in $(seq 1 30); do # the file realm reloads its files every few seconds
    [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" -u "iotpipe-operator:$operator_password" "$url/telemetry*/_count")" = 200 ] && break; sleep 1
  done
  export IOTPIPE_SEARCH_CA="$ca" IOTPIPE_SEARCH_USER=iotpipe IOTPIPE_SEARCH_PASSWORD="$SEARCH_PASSWORD"
  "$ROOT/iotpipe" demo --search-url "$url" --devices 100 --rate 300 --duration 20s --profile flat --no-lake --json \
    --dir "$demo" > "$out/demo.json" || { echo "reindex: the demo failed" >&2; return 1; }
  local cfg="$demo/iotpipe.yaml"
  curl -s "${admin[@]}" "$url/_cat/indices/telemetry*?h=index,docs.count&s=index&expand_wildcards=all" >&2
  # the demo's day: the event index holding most readings
  local index day since until
  index=$(curl -s "${admin[@]}" "$url/_cat/indices/telemetry-20*?h=index,docs.count&s=docs.count:desc&format=json" | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['index'])")
  day=${index#telemetry-}; since=${day//./-}; until=$(date -u -d "$since + 1 day" +%F)
  # the store's readings of that day, by id (the indexer's document id is deviceId:seq)
  "$ROOT/iotpipe" query --config "$cfg" --from store --since "$since" --until "$until" --format csv \
    "select device_id || ':' || seq as id from telemetry order by 1" 2>/dev/null | tail -n +2 | LC_ALL=C sort > "$out/store-ids.txt"
  local stored; stored=$(wc -l < "$out/store-ids.txt")
  ES_IDS_PASSWORD="$SEARCH_PASSWORD" es_ids "$url" "$ca" iotpipe "$index" | LC_ALL=C sort > "$out/indexed-ids.txt"
  local before; before=$(ri_count "$index")
  echo "reindex: $index holds $before documents, the store $stored readings of $since" >&2
  [ "$stored" -gt 1000 ] && cmp -s "$out/store-ids.txt" "$out/indexed-ids.txt" || ri_fail "before any deletion the index and the store differ ($before vs $stored)"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "${admin[@]}" -X DELETE "$url/$index")" = 200 ] || ri_fail "could not delete $index"
  # killed halfway (SIGKILL once its progress shows it partly done), then run again with the same checkpoint
  local reindex=("$ROOT/iotpipe" reindex --config "$cfg" --since "$since" --until "$until" --json)
  "${reindex[@]}" --checkpoint "$out/checkpoint.json" --max-rate 250 > "$out/killed.json" 2> "$out/killed.err" &
  local pid=$! killed_at=""
  for _ in $(seq 1 120); do
    killed_at=$(grep -oE '\(([0-9]+) %\)' "$out/killed.err" | tr -dc '0-9\n' | awk '$1 >= 15 && $1 <= 85' | tail -1)
    [ -n "$killed_at" ] && { kill -KILL "$pid"; break; }
    kill -0 "$pid" 2>/dev/null || break; sleep 0.5
  done
  local killed_rc=0; wait "$pid" 2>/dev/null || killed_rc=$?
  cat "$out/killed.err" >&2
  local partial; partial=$(ri_count "$index")
  echo "reindex: killed (exit $killed_rc) at ${killed_at:-?} %, $index then held $partial of $stored" >&2
  [ "$killed_rc" = 137 ] && [ "$partial" -gt 0 ] && [ "$partial" -lt "$stored" ] || ri_fail "the first run was not killed partway ($killed_rc, $partial of $stored)"
  "${reindex[@]}" --checkpoint "$out/checkpoint.json" > "$out/resumed.json" 2> "$out/resumed.err" || ri_fail "the resumed run failed: $(tail -3 "$out/resumed.err")"
  cat "$out/resumed.err" >&2
  local after; after=$(ri_count "$index")
  ES_IDS_PASSWORD="$SEARCH_PASSWORD" es_ids "$url" "$ca" iotpipe "$index" | LC_ALL=C sort > "$out/rebuilt-ids.txt"
  local r_written r_present
  r_written=$(ri_summary "$out/resumed.json" written); r_present=$(ri_summary "$out/resumed.json" present)
  echo "reindex: resumed run wrote $r_written, found $r_present present; $index holds $after of $stored" >&2
  [ "$after" = "$stored" ] && cmp -s "$out/store-ids.txt" "$out/rebuilt-ids.txt" || ri_fail "the rebuilt $index differs from the store"
  [ "$((r_written + r_present))" = "$stored" ] && [ "$r_present" -gt 0 ] || ri_fail "the resumed run did not go on from the killed one"
  ! grep -E ' -[0-9]' "$out/killed.err" "$out/resumed.err" >&2 || ri_fail "a progress line shows a negative count"
  # a second run (no checkpoint: every reading really replayed) changes nothing
  "${reindex[@]}" > "$out/second.json" 2> "$out/second.err" || ri_fail "the second run failed: $(tail -3 "$out/second.err")"
  local s_written s_present again; s_written=$(ri_summary "$out/second.json" written); s_present=$(ri_summary "$out/second.json" present)
  again=$(ri_count "$index")
  echo "reindex: second run wrote $s_written, found $s_present present; $index holds $again" >&2
  [ "$s_written" = 0 ] && [ "$s_present" = "$stored" ] && [ "$again" = "$stored" ] || ri_fail "the second run changed something"
  # the sinks against each other, without a ledger
  "$ROOT/iotpipe" audit --config "$cfg" --json > "$out/audit.json" 2> "$out/audit.err" || ri_fail "the audit found a disagreement: $(cat "$out/audit.json")"
  local agree; agree=$(ri_summary "$out/audit.json" agree)
  echo "reindex: audit $(tr -d '\n ' < "$out/audit.json" | head -c 400)" >&2
  [ "$agree" = True ] || ri_fail "the audit does not report agreement"
  # a zero-downtime switch to indices rebuilt beside the live ones, as the operator. The rebuild replays the day's first
  # half only: the switch itself must carry over what only the live indices hold (as readings the store has not
  # committed yet would be), into the day's index and the latest state.
  local live=("$index" telemetry-latest) n mid; declare -A live_count
  for n in "${live[@]}"; do live_count[$n]=$(ri_count "$n"); done
  mid=$("$ROOT/iotpipe" query --config "$cfg" --from store --since "$since" --until "$until" --format csv \
    "select strftime(timezone('UTC', quantile_disc(ts, 0.5)), '%Y-%m-%dT%H:%M:%S.%gZ') as mid from telemetry" 2>/dev/null | tail -1)
  # the indexer's own user is refused the switch (no manage), with the fix named, and nothing is switched
  "$ROOT/iotpipe" reindex --config "$cfg" --since "$since" --until "$mid" --index-suffix v2 --switch --json > "$out/switch-indexer.json" \
    2> "$out/switch-indexer.err" && ri_fail "the indexer's own user could switch"
  local indexer_refusal; indexer_refusal=$(grep -o 'switch: .*' "$out/switch-indexer.err" | head -1)
  echo "reindex: as the indexer: $indexer_refusal" >&2
  [[ "$indexer_refusal" == *"HTTP 403"*"run it with an operator's credentials"* ]] || ri_fail "the indexer's refusal does not name the fix"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "${admin[@]}" "$url/_alias/$index")" = 404 ] || ri_fail "$index changed after a refused switch"
  IOTPIPE_SEARCH_USER=iotpipe-operator IOTPIPE_SEARCH_PASSWORD="$operator_password" "$ROOT/iotpipe" reindex --config "$cfg" \
    --since "$since" --until "$mid" --index-suffix v2 --switch --switch-grace 5s --json > "$out/switch.json" 2> "$out/switch.err" \
    || ri_fail "the switch failed: $(tail -5 "$out/switch.err")"
  cat "$out/switch.err" >&2
  local copied_events copied_latest
  copied_events=$(python3 -c "import json,sys; print(sum(w['copied'] for w in json.load(open(sys.argv[1]))['switched'] if w['live'] == sys.argv[2]))" "$out/switch.json" "$index")
  copied_latest=$(python3 -c "import json,sys; print(sum(w['copied'] for w in json.load(open(sys.argv[1]))['switched'] if w['live'] == 'telemetry-latest'))" "$out/switch.json")
  echo "reindex: rebuilt up to $mid; the switch copied $copied_events events and $copied_latest latest states only the live indices held" >&2
  [ "$copied_events" -gt 0 ] && [ "$copied_events" -lt "$stored" ] && [ "$copied_latest" -gt 0 ] || ri_fail "the switch did not carry over the second half"
  local aliases=0 ok_counts=0
  for n in "${live[@]}"; do
    local target c; target=$(curl -s "${admin[@]}" "$url/_alias/$n" | python3 -c "import json,sys; print(','.join(sorted(json.load(sys.stdin))))")
    c=$(ri_count "$n")
    echo "reindex: $n -> ${target:-?}: $c documents (before the switch ${live_count[$n]})" >&2
    [ "$target" = "$n-v2" ] && aliases=$((aliases + 1)) || ri_fail "$n is not an alias of $n-v2 only ($target)"
    [ "$c" = "${live_count[$n]}" ] && ok_counts=$((ok_counts + 1)) || ri_fail "$n: ${live_count[$n]} documents before the switch, $c after"
  done
  # what is left around the live names: the indexer's templates, no hiding template, nothing hidden, no old index
  local templates hidden_left wide
  templates=$(curl -s "${admin[@]}" "$url/_index_template/telemetry*" | python3 -c "import json,sys; print(' '.join(sorted(t['name']+':'+','.join(t['index_template']['index_patterns']) for t in json.load(sys.stdin)['index_templates'])))")
  hidden_left=$(curl -s "${admin[@]}" "$url/telemetry*/_settings/index.hidden?expand_wildcards=all&flat_settings=true" | python3 -c "import json,sys; print(' '.join(sorted(k for k,v in json.load(sys.stdin).items() if v['settings'].get('index.hidden')=='true')))")
  wide=$(curl -s "${me[@]}" "$url/telemetry-20*/_count" | python3 -c "import json,sys; print(json.load(sys.stdin).get('count'))")
  echo "reindex: templates $templates; hidden: ${hidden_left:-none}; the indexer's telemetry-20*/_count $wide" >&2
  curl -s "${admin[@]}" "$url/_cat/indices/telemetry*?h=index,docs.count&s=index&expand_wildcards=all" >&2
  curl -s "${admin[@]}" "$url/_cat/aliases/telemetry*?h=alias,index,is_write_index" >&2
  ES_IDS_PASSWORD="$SEARCH_PASSWORD" es_ids "$url" "$ca" iotpipe "$index" | LC_ALL=C sort > "$out/switched-ids.txt"
  cmp -s "$out/store-ids.txt" "$out/switched-ids.txt" || ri_fail "the ids under $index after the switch differ from the store's"
  [[ "$templates" != *rebuild* ]] && [ -z "$hidden_left" ] || ri_fail "a hiding template or setting is left"
  [ "$wide" = "${live_count[$index]}" ] || ri_fail "the pattern counts $wide, not ${live_count[$index]}"
  # the indexer writes and checks through the aliases: a rebuild into the live names finds everything there
  "${reindex[@]}" > "$out/through-alias.json" 2> "$out/through-alias.err" || ri_fail "a rebuild through the aliases failed: $(tail -3 "$out/through-alias.err")"
  local t_written; t_written=$(ri_summary "$out/through-alias.json" written)
  [ "$t_written" = 0 ] && [ "$(ri_summary "$out/through-alias.json" present)" = "$stored" ] || ri_fail "the indexer through the aliases wrote $t_written"
  "$ROOT/iotpipe" audit --config "$cfg" --json > "$out/audit2.json" 2>&1 || ri_fail "the audit after the switch found a disagreement"
  for secret in "$SEARCH_PASSWORD" "$ADMIN_PASSWORD" "$operator_password"; do
    if grep -rlF "$secret" "$demo" "$out" >&2; then ri_fail "a password appears in the files above"; fi
  done
  local verdict; verdict=$([ "$rc" = 0 ] && echo PASSED || echo FAILED)
  echo "reindex $(date -u +%Y-%m-%dT%H:%MZ) Elasticsearch $ES_VERSION with security: $verdict in $((SECONDS - t0)) s — $index deleted ($stored readings in the store), rebuilt as the indexer, SIGKILLed at ${killed_at:-?} % ($partial indexed), resumed (wrote $r_written, $r_present present): $after documents, ids equal the store's; second run wrote $s_written; audit agree=$agree; switch refused to the indexer (HTTP 403, manage), to -v2 as the operator (rebuilt up to mid-day, $copied_events events and $copied_latest latest states carried over by the switch): $aliases/2 live names aliases of their -v2 index, counts equal $ok_counts/2, ids equal the store's, indexer through the aliases wrote $t_written" | tee "$WORK/reindex-result.txt" >&2
  return $rc
}

stop_engine() { # home: the launcher runs the server JVM as a child; setsid made it a process group: stop all of it
  local pid; pid="$(cat "$1/pid")"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do pgrep -g "$pid" >/dev/null || return 0; sleep 1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

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

run_engine() { # name groupId:artifactId:version dir-name secure(0|1) extra-args...
  local name=$1 coords=$2 dirname=$3 secure=$4; shift 4
  local zip home="$WORK/$name-$dirname" port=$((19200 + RANDOM % 500))
  zip=$(fetch_zip "$coords") || return 1
  rm -rf "$home" "$WORK/$dirname"; (cd "$WORK" && unzip -q "$zip" && mv "$dirname" "$home")
  local scheme=http curl_auth=() extra=("$@")
  if [ "$secure" = 1 ] && [ "$name" = opensearch-tenants ]; then
    local plugin; plugin=$(fetch_zip "org.opensearch.plugin:opensearch-security:$OS_TENANTS_VERSION.0") || return 1
    os_security_setup "$home" "$plugin" || return 1
    scheme=https
    curl_auth=(--cacert "$home/config/certs/ca.crt" -u "iotpipe:$SEARCH_PASSWORD")
  elif [ "$secure" = 1 ]; then
    secure_setup "$home"
    if [ "$name" = elasticsearch-tenants ]; then security_analysis_module "$home"; fi
    scheme=https
    curl_auth=(--cacert "$home/config/certs/ca.crt" -u "iotpipe:$SEARCH_PASSWORD")
    extra+=(-Expack.security.enabled=true -Expack.security.http.ssl.enabled=true
      -Expack.security.http.ssl.certificate=certs/node.crt -Expack.security.http.ssl.key=certs/node.key
      -Expack.security.http.ssl.certificate_authorities=certs/ca.crt)
  fi
  chown -R "$RUN_AS" "$home"
  echo "== $name on port $port ($home)" >&2
  local launcher="$home/bin/elasticsearch"; [ -x "$launcher" ] || launcher="$home/bin/opensearch"
  # Only the launcher is backgrounded (not a subshell around cd), so \$! is the new process group's leader.
  su -s /bin/bash "$RUN_AS" -c "cd '$home' || exit 1; ES_JAVA_HOME='$ENGINE_JAVA' OPENSEARCH_JAVA_HOME='$ENGINE_JAVA' JAVA_HOME='$ENGINE_JAVA' \
     ES_JAVA_OPTS='-Xms512m -Xmx512m' OPENSEARCH_JAVA_OPTS='-Xms512m -Xmx512m' \
     setsid '$launcher' -Ediscovery.type=single-node -Ehttp.port=$port -Etransport.port=$((port + 1000)) \
     -Ecluster.routing.allocation.disk.threshold_enabled=false ${extra[*]} > '$home/stdout.log' 2>&1 < /dev/null & echo \$! > '$home/pid'"
  for _ in $(seq 1 120); do
    curl -sf "${curl_auth[@]}" "$scheme://127.0.0.1:$port/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null && break; sleep 1
  done
  # (the integ-test zips have no GET / handler: ask the node for its version)
  curl -sf "${curl_auth[@]}" "$scheme://127.0.0.1:$port/_nodes/_local?filter_path=nodes.*.version" | grep -E '"version"' >&2 \
    || { tail -30 "$home/stdout.log" >&2; stop_engine "$home"; return 1; }
  local rc=0
  if [ "$secure" = 1 ] && [ "$name" = elasticsearch-reindex ]; then
    reindex_proof "$port" "$home" || rc=$?
  elif [ "$secure" = 1 ] && [[ "$name" == *-tenants ]]; then
    tenants_proof "$port" "$home" || rc=$?
  elif [ "$secure" = 1 ]; then
    [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$home/config/certs/ca.crt" "https://127.0.0.1:$port/_nodes/_local")" = 401 ] \
      || { echo "$name: anonymous request was not refused" >&2; rc=1; }
    IOTPIPE_SEARCH_CA="$home/config/certs/ca.crt" IOTPIPE_SEARCH_USER=iotpipe IOTPIPE_SEARCH_PASSWORD="$SEARCH_PASSWORD" \
      "$ROOT/iotpipe" demo --search-url "https://127.0.0.1:$port" --devices 100 --rate 300 --duration 20s --json \
      --dir "$WORK/demo-$name" > "$WORK/$name.json" || rc=$?
    if grep -rlF "$SEARCH_PASSWORD" "$WORK/demo-$name" "$WORK/$name.json" >&2; then
      echo "$name: the search password appears in the files above" >&2; rc=1
    fi
  else
    "$ROOT/iotpipe" demo --search-url "http://127.0.0.1:$port" --devices 100 --rate 300 --duration 20s --json \
      --dir "$WORK/demo-$name" > "$WORK/$name.json" || rc=$?
  fi
  stop_engine "$home"
  [ ! -f "$WORK/$name.json" ] || grep -E '"(confirmed|indexed|stored|lost|duplicates)"' "$WORK/$name.json" >&2
  return $rc
}

what="${1:-all}"
ES_COORDS="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION"
case "$what" in all|es-secure) run_engine elasticsearch-secure "$ES_COORDS" "elasticsearch-$ES_VERSION" 1 ;; esac
case "$what" in tenants) run_engine elasticsearch-tenants "$ES_COORDS" "elasticsearch-$ES_VERSION" 1 ;; esac
case "$what" in os-tenants) run_engine opensearch-tenants "org.opensearch.distribution.integ-test-zip:opensearch:$OS_TENANTS_VERSION" \
  "opensearch-$OS_TENANTS_VERSION" 1 ;; esac
case "$what" in reindex) run_engine elasticsearch-reindex "$ES_COORDS" "elasticsearch-$ES_VERSION" 1 ;; esac
case "$what" in all|es) run_engine elasticsearch "$ES_COORDS" "elasticsearch-$ES_VERSION" 0 -Expack.security.enabled=false ;; esac
case "$what" in all|os) run_engine opensearch "org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION" \
  "opensearch-$OS_VERSION" 0 ;; esac
echo "compatibility run passed" >&2
