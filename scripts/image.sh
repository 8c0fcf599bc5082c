#!/usr/bin/env bash
# The container image of a release, built offline (no daemon, no base image to pull), and proven to run a role.
#   scripts/image.sh [--prove]      (--prove reuses an image already built: the build needs no lock, the proof does)
# Build: the release tarball (iotpipe-dist/target) + a Java runtime made with jlink (the modules jdeps finds in lib/)
# + the shared libraries that runtime and the native jars (DuckDB, zstd, snappy) load, copied from this machine,
# assembled on an empty ("scratch") image with umoci (Debian package umoci, the OCI project's image tool) into an OCI
# image layout, written as iotpipe-dist/target/image/iotpipe-VERSION-oci.tar (load it with
# `skopeo copy oci-archive:FILE docker-daemon:iotpipe:VERSION` or `podman load -i FILE`).
# --prove: unpacks the image from that layout into a fresh bundle and, with chroot as the image's user (no container
# runtime here), runs its entrypoint with --version, then "run --role store" against a local RabbitMQ (tools' broker
# start) while a simulated fleet publishes, and checks every confirmed reading is in the store (iotpipe query).
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
  # A fresh unpack of what the image holds: the layers of the layout, not the staging directory.
  local b="$OUT/proof"; rm -rf "$b"
  umoci unpack --image "$OUT/oci:$VERSION" "$b"
  mapfile -t entry < <(jq -r '.process.args[]' "$b/config.json")
  local rootfs="$b/rootfs"
  # /proc as every container runtime mounts it: the loader resolves the JVM's $ORIGIN rpath through /proc/self/exe.
  mount -t proc proc "$rootfs/proc"
  run_image() { # the image's entrypoint with arguments, as its user, with only the image's environment
    env -i HOME=/var/lib/iotpipe LANG=C.UTF-8 JAVA_HOME=/opt/iotpipe/runtime \
      chroot --userspec="$UID_GID" "$rootfs" "${entry[@]:0:${#entry[@]}-1}" "$@"
  }
  echo "image.sh: entrypoint: ${entry[*]}" >&2
  run_image --version
  # A role against real RabbitMQ: the tooling (not in the image) starts a node and the fleet.
  local tools=("$JAVA_HOME/bin/java" --add-opens=java.base/java.nio=ALL-UNNAMED --enable-native-access=ALL-UNNAMED
    -cp "$ROOT/iotpipe-tools/target/iotpipe-tools.jar:$ROOT/iotpipe-tools/target/lib/*" io.iotpipe.cli.Main)
  local d="$OUT/proof-stack"; rm -rf "$d"; mkdir -p "$d"
  trap '"${tools[@]}" broker stop --dir "$d/brokers" >/dev/null 2>&1 || true; [ -n "${role_pid:-}" ] && kill "$role_pid" 2>/dev/null; umount "$rootfs/proc" 2>/dev/null || true' EXIT
  "${tools[@]}" broker start --dir "$d/brokers" --partitions 2 >&2
  local cfg="$d/brokers/iotpipe.local.yaml"
  printf 'storage:\n  dir: /var/lib/iotpipe/store\n  rollAge: 2s\nobservability:\n  port: 0\n' >> "$cfg"
  mkdir -p "$rootfs/etc/iotpipe" && cp "$cfg" "$rootfs/etc/iotpipe/iotpipe.yaml"
  "${tools[@]}" topology apply --config "$cfg" >&2
  run_image run --role store --config /etc/iotpipe/iotpipe.yaml > "$d/store.log" 2>&1 &
  role_pid=$!
  "${tools[@]}" simulate --config "$cfg" --devices 10 --messages-per-device 20 --ledger "$d/ledger" >&2
  # The store as the host sees it: the config with storage.dir pointing into the image's volume.
  sed "s|/var/lib/iotpipe/store|$rootfs/var/lib/iotpipe/store|" "$cfg" > "$d/host.yaml"
  local n=0
  for _ in $(seq 1 60); do
    n="$("${tools[@]}" query --config "$d/host.yaml" --format csv "select count(*) from telemetry" 2>/dev/null | tail -1 || echo 0)"
    [ "$n" = 200 ] && break
    sleep 2
  done
  # A JVM stopped by SIGTERM exits with 143 (128 + 15) after its shutdown hook flushed: the clean stop.
  local rc=0; kill -TERM "$role_pid"; wait "$role_pid" || rc=$?
  [ "$rc" = 143 ] && grep -q 'stopped cleanly' "$d/store.log" || die "the store role in the image exited with $rc after SIGTERM; log: $d/store.log"
  role_pid=""
  [ "$n" = 200 ] || die "the store role in the image stored $n of 200 readings; log: $d/store.log"
  echo "image.sh: PROVEN: the image's entrypoint ran 'run --role store' (chroot, user $UID_GID) and stored 200 of 200 confirmed readings" >&2
}

if [ "${1:-}" = --prove ] && [ -f "$OUT/iotpipe-$VERSION-oci.tar" ]; then
  echo "image.sh: proving the image already built ($OUT; run scripts/image.sh alone first to rebuild it)" >&2
else
  build
fi
[ "${1:-}" = --prove ] && prove
exit 0
