#!/usr/bin/env bash
# The container image of a release, built offline (no daemon, no base image to pull), and proven to run a role.
#   scripts/image.sh [--prove]      (--prove reuses an image already built: the build needs no lock, the proof does)
# Build: the release tarball (iotpipe-dist/target) + a Java runtime made with jlink (the modules jdeps finds in lib/)
# + the shared libraries that runtime and the native jars (DuckDB, zstd, snappy) load, copied from this machine,
# assembled on an empty ("scratch") image with umoci (Debian package umoci, the OCI project's image tool) into an OCI
# image layout, written as iotpipe-dist/target/image/iotpipe-VERSION-oci.tar (load it with
# `skopeo copy oci-archive:FILE docker-daemon:iotpipe:VERSION` or `podman load -i FILE`).
# --prove: unpacks the image from that layout into a fresh bundle and runs its entrypoint as a container runtime would
# (own mount and PID namespaces with unshare, host network, the image's user, environment and working directory; no
# container runtime here): --version, then "run --role store" with the config mounted read-only in /etc/iotpipe, the
# password from an env file and a volume, against local RabbitMQ nodes (the tools' broker start) while a simulated
# fleet publishes; the tools' audit then checks every confirmed reading is in the store exactly once.
# Not part of ./iotpipe test: it costs a few minutes. Run it under flock /tmp/iotpipe-servers.lock when proving.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "image.sh: $*" >&2; exit 1; }

JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
[ -x "$JAVA_HOME/bin/jlink" ] || die "no jlink in JAVA_HOME=$JAVA_HOME: set JAVA_HOME to a JDK >= 21."
command -v umoci >/dev/null || die "umoci is not installed: apt-get install umoci"
TARBALL="$(ls "$ROOT"/iotpipe-dist/target/iotpipe-*.tar.gz 2>/dev/null | head -1)"
[ -n "$TARBALL" ] || die "no release tarball: build it first with ./mvnw -pl iotpipe-dist -am package"
VERSION="$(basename "$TARBALL" .tar.gz)"; VERSION="${VERSION#iotpipe-}"
OUT="$ROOT/iotpipe-dist/target/image"
UID_GID=10001:10001

build() {
  rm -rf "$OUT"; mkdir -p "$OUT/stage/opt" "$OUT/stage/tmp" "$OUT/stage/etc" "$OUT/stage/var/lib/iotpipe" "$OUT/stage/proc"
  tar xzf "$TARBALL" -C "$OUT/stage/opt" && mv "$OUT/stage/opt/iotpipe-$VERSION" "$OUT/stage/opt/iotpipe"
  local app="$OUT/stage/opt/iotpipe"
  # jdeps per jar: on the whole class path it stops at the first automatic module it cannot place.
  local modules
  modules="$(for j in "$app"/lib/*.jar; do "$JAVA_HOME/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 21 -q "$j" 2>/dev/null || true; done \
    | tr ',' '\n' | grep -E '^(java|jdk)\.' | sort -u | paste -sd, -)"
  # jdeps does not see services and DNS lookups: TLS key exchange (EC) and JNDI DNS for broker host names.
  modules="$modules,jdk.crypto.ec,jdk.naming.dns"
  echo "image.sh: jlink modules: $modules" >&2
  "$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --output "$app/runtime"
  # The libraries the runtime and the native code in the jars link against (scratch has no libc).
  local natives="$OUT/natives"; mkdir -p "$natives"
  for j in "$app"/lib/duckdb_jdbc-*.jar "$app"/lib/zstd-jni-*.jar "$app"/lib/snappy-java-*.jar; do
    (cd "$natives" && unzip -q -o "$j" '*linux*amd64*' '*linux*x86_64*' '*Linux/x86_64*' 2>/dev/null || true)
  done
  { find "$app/runtime" -name '*.so' -o -path '*/bin/java'; find "$natives" -name '*.so'; } \
    | xargs -r ldd 2>/dev/null | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | grep -v "^$OUT/" | sort -u \
    | while read -r lib; do cp -L --parents "$lib" "$OUT/stage"; done
  printf 'root:x:0:0:root:/root:/sbin/nologin\niotpipe:x:10001:10001:iotpipe:/var/lib/iotpipe:/sbin/nologin\n' > "$OUT/stage/etc/passwd"
  printf 'root:x:0:\niotpipe:x:10001:\n' > "$OUT/stage/etc/group"
  chmod 1777 "$OUT/stage/tmp"; chown "$UID_GID" "$OUT/stage/var/lib/iotpipe"

  umoci init --layout "$OUT/oci"
  umoci new --image "$OUT/oci:$VERSION"
  umoci unpack --image "$OUT/oci:$VERSION" "$OUT/bundle"
  cp -a "$OUT/stage/." "$OUT/bundle/rootfs/"
  umoci repack --image "$OUT/oci:$VERSION" "$OUT/bundle"
  # The entrypoint is the JVM itself (no shell in the image), with the same flags as bin/iotpipe.
  umoci config --image "$OUT/oci:$VERSION" --author iotpipe --config.user "$UID_GID" --config.workingdir /var/lib/iotpipe \
    --config.env JAVA_HOME=/opt/iotpipe/runtime --config.env LANG=C.UTF-8 \
    --config.entrypoint /opt/iotpipe/runtime/bin/java --config.entrypoint=--add-opens=java.base/java.nio=ALL-UNNAMED \
    --config.entrypoint=--enable-native-access=ALL-UNNAMED --config.entrypoint=-cp --config.entrypoint='/opt/iotpipe/lib/*' \
    --config.entrypoint=io.iotpipe.cli.Main --config.cmd=--help \
    --config.volume /var/lib/iotpipe --config.label "org.opencontainers.image.version=$VERSION"
  umoci gc --layout "$OUT/oci"
  tar -C "$OUT/oci" -cf "$OUT/iotpipe-$VERSION-oci.tar" .
  rm -rf "$OUT/bundle" "$OUT/natives" "$OUT/stage"
  echo "image.sh: $OUT/iotpipe-$VERSION-oci.tar ($(du -h "$OUT/iotpipe-$VERSION-oci.tar" | cut -f1); runtime $(du -sh "$OUT/oci" | cut -f1) in the layout)" >&2
}

prove() {
  # A fresh unpack of what the image holds: the layers of the layout and the runtime config umoci derives from the
  # image's config (entrypoint + cmd, environment, user, working directory), as a container runtime would.
  local b="$OUT/proof"; rm -rf "$b"
  echo "image.sh: unpacking the image into $b ..." >&2
  umoci unpack --image "$OUT/oci:$VERSION" "$b"
  local rootfs="$b/rootfs" spec="$b/config.json"
  mapfile -t entry < <(jq -r '.process.args[]' "$spec")   # entrypoint followed by the cmd (--help)
  mapfile -t image_env < <(jq -r '.process.env[]' "$spec")
  local uid gid wd
  uid="$(jq -r '.process.user.uid' "$spec")"; gid="$(jq -r '.process.user.gid' "$spec")"; wd="$(jq -r '.process.cwd' "$spec")"
  local ncmd; ncmd="$(jq -r '.process.args | length' "$spec")"
  ncmd=$(( ncmd - $(jq -r '.process.args | index("io.iotpipe.cli.Main")' "$spec") - 1 ))   # how many args the cmd holds
  entry=("${entry[@]:0:${#entry[@]}-ncmd}")
  echo "image.sh: entrypoint: ${entry[*]} (user $uid:$gid, working directory $wd)" >&2

  # What "docker run --network host -v ETC:/etc/iotpipe:ro -v VOL:/var/lib/iotpipe --env-file ENV IMAGE ARGS" does,
  # with util-linux unshare (no container runtime here): own mount and PID namespaces (the JVM is PID 1, as in a
  # container), the host's network, /proc mounted (the JVM's loader finds its libraries through /proc/self/exe), the
  # config read-only, the volume, the image's environment plus the env file (read by root, never printed), then the
  # image's user and working directory inside its root.
  container() { # ETC_DIR VOLUME_DIR ENV_FILE ARGS...  ("" for none): sets CONTAINER to the command line
    CONTAINER=(env -i /usr/bin/unshare --mount --pid --fork --propagation private -- /bin/bash -c '
      set -euo pipefail
      r="$1" etc="$2" vol="$3" envf="$4" wd="$5" uid="$6" gid="$7" n="$8"; shift 8
      image_env=("${@:1:n}"); shift "$n"
      /usr/bin/mount -t proc proc "$r/proc"
      if [ -n "$etc" ]; then
        /usr/bin/mkdir -p "$r/etc/iotpipe"
        /usr/bin/mount --bind "$etc" "$r/etc/iotpipe" && /usr/bin/mount -o remount,bind,ro "$r/etc/iotpipe"
      fi
      [ -z "$vol" ] || /usr/bin/mount --bind "$vol" "$r/var/lib/iotpipe"
      for v in $(compgen -e); do unset "$v"; done
      for v in "${image_env[@]}"; do export "$v"; done
      if [ -n "$envf" ]; then
        while IFS= read -r line || [ -n "$line" ]; do
          case "$line" in ""|"#"*) ;; *) export "$line" ;; esac
        done < "$envf"
      fi
      exec /usr/bin/unshare --root="$r" --wd="$wd" --setgid="$gid" --setuid="$uid" -- "$@"
    ' _ "$rootfs" "$1" "$2" "$3" "$wd" "$uid" "$gid" "${#image_env[@]}" "${image_env[@]}" "${entry[@]}" "${@:4}")
  }

  echo "image.sh: 1/3 the image's entrypoint with --version" >&2
  container "" "" "" --version; "${CONTAINER[@]}"

  echo "image.sh: 2/3 RabbitMQ for the role: an edge node and a cloud node (the tooling, not in the image) ..." >&2
  tools=("$JAVA_HOME/bin/java" --add-opens=java.base/java.nio=ALL-UNNAMED --enable-native-access=ALL-UNNAMED
    -cp "$ROOT/iotpipe-tools/target/iotpipe-tools.jar:$ROOT/iotpipe-tools/target/lib/*" io.iotpipe.cli.Main)
  [ -f "$ROOT/iotpipe-tools/target/iotpipe-tools.jar" ] || die "the tooling is not built: ./mvnw -B -o -q package -pl iotpipe-tools -am -DskipTests"
  # Globals, not locals: the EXIT trap runs after this function has returned.
  d="$OUT/proof-stack"; rm -rf "$d"; mkdir -p "$d"
  java_pid=""
  trap '[ -n "$java_pid" ] && kill "$java_pid" 2>/dev/null; "${tools[@]}" broker stop --dir "$d/brokers" >/dev/null 2>&1 || true' EXIT
  "${tools[@]}" broker start --dir "$d/brokers" --partitions 2 >&2
  local cfg="$d/brokers/iotpipe.local.yaml"
  "${tools[@]}" topology apply --config "$cfg" >&2
  # The operator's files, laid out as the README says: the config (no secret in it, group-readable by the image's
  # user) in /etc/iotpipe, the cloud password in a root-only env file, the state on the volume.
  local etc="$d/etc-iotpipe" vol="$d/volume"
  install -d -m 0750 -g "$gid" "$etc"; install -d -m 0750 -o "$uid" -g "$gid" "$vol"
  awk '{print} /^  cloud:$/ {print "    username: guest"; print "    password: ${IOTPIPE_CLOUD_PASSWORD}"}' "$cfg" > "$etc/iotpipe.yaml"
  printf 'storage:\n  dir: /var/lib/iotpipe/store\n  rollAge: 2s\nobservability:\n  port: 0\n' >> "$etc/iotpipe.yaml"
  chgrp "$gid" "$etc/iotpipe.yaml"; chmod 0640 "$etc/iotpipe.yaml"
  install -m 0600 /dev/null "$d/iotpipe.env"; echo 'IOTPIPE_CLOUD_PASSWORD=guest' > "$d/iotpipe.env"
  # The same pipeline as the host sees it (store on the volume's host path), for the fleet and the audit.
  sed "s|/var/lib/iotpipe/store|$vol/store|" "$etc/iotpipe.yaml" > "$d/host.yaml"

  # The secret reaches the role from the env file only: without it the image refuses the config, naming the variable.
  local out rc=0
  container "$etc" "" "" config check /etc/iotpipe/iotpipe.yaml; out="$("${CONTAINER[@]}" 2>&1)" || rc=$?
  [ "$rc" = 2 ] && grep -q 'IOTPIPE_CLOUD_PASSWORD is not set' <<< "$out" \
    || die "config check in the image without the env file: expected exit 2 naming IOTPIPE_CLOUD_PASSWORD, got $rc: $out"
  container "$etc" "" "$d/iotpipe.env" config check /etc/iotpipe/iotpipe.yaml; "${CONTAINER[@]}" >&2 \
    || die "config check in the image with the env file failed"
  echo "image.sh: config check in the image: refused without the env file (exit 2, names IOTPIPE_CLOUD_PASSWORD), valid with it" >&2

  echo "image.sh: 3/3 the image's entrypoint with 'run --role store --config /etc/iotpipe/iotpipe.yaml', a fleet publishing ..." >&2
  container "$etc" "$vol" "$d/iotpipe.env" run --role store --config /etc/iotpipe/iotpipe.yaml
  "${CONTAINER[@]}" > "$d/store.log" 2>&1 &
  local role_pid=$!
  # unshare --fork ignores SIGTERM while it waits: signals go to its child, the JVM (PID 1 in the namespace).
  local i
  for i in $(seq 1 50); do java_pid="$(pgrep -P "$role_pid" | head -1)"; [ -n "$java_pid" ] && break; sleep 0.2; done
  [ -n "$java_pid" ] || die "the container did not start; log: $d/store.log"
  IOTPIPE_CLOUD_PASSWORD=guest "${tools[@]}" simulate --config "$d/host.yaml" --devices 10 --messages-per-device 20 --ledger "$d/ledger" >&2
  local audit=""
  for i in $(seq 1 60); do
    kill -0 "$role_pid" 2>/dev/null || die "the store role in the image exited early; log: $d/store.log"
    if audit="$(IOTPIPE_CLOUD_PASSWORD=guest "${tools[@]}" audit --config "$d/host.yaml" --ledger "$d/ledger" --sink storage --json 2>/dev/null)"; then
      break
    fi
    [ $(( i % 5 )) = 0 ] && echo "image.sh: waiting for the store ($(( i * 2 )) s): $(echo "$audit" | jq -c '[.. | objects | select(has("lost")) | {lost, duplicates}] | first' 2>/dev/null)" >&2
    sleep 2
  done
  # SIGTERM to the JVM (PID 1 in its namespace, as "docker stop" does): it flushes, acks and exits with 143.
  rc=0
  kill -TERM "$java_pid"; wait "$role_pid" || rc=$?
  java_pid=""
  [ "$rc" = 143 ] && grep -q 'stopped cleanly' "$d/store.log" || die "the store role in the image exited with $rc after SIGTERM; log: $d/store.log"
  audit="$(IOTPIPE_CLOUD_PASSWORD=guest "${tools[@]}" audit --config "$d/host.yaml" --ledger "$d/ledger" --sink storage --json)" \
    || die "after the stop, the audit of the store found losses or duplicates: $audit; log: $d/store.log"
  echo "$audit" >&2
  local owner; owner="$(find "$vol/store" -type f -name '*.parquet' -printf '%u:%g\n' | sort -u | paste -sd, -)"
  echo "image.sh: PROVEN $(date -u +%F): the image's entrypoint (PID 1 in its own namespaces, user $uid:$gid, config read-only in /etc/iotpipe, the password from the env file) ran 'run --role store', every confirmed reading is in the store exactly once (audit above; files owned by $owner), SIGTERM stopped it cleanly (143)" >&2
}

if [ "${1:-}" = --prove ] && [ -f "$OUT/iotpipe-$VERSION-oci.tar" ]; then
  echo "image.sh: proving the image already built ($OUT; run scripts/image.sh alone first to rebuild it)" >&2
else
  build
fi
[ "${1:-}" = --prove ] && prove
exit 0
