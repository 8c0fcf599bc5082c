#!/usr/bin/env bash
# Makes (once) a Debian root holding a RabbitMQ 4 for local nodes on a host whose own release cannot install it
# (bookworm: 3.10 only, and newer Erlangs need a newer libc): IOTPIPE_RABBITMQ=4.0 (the default) takes Debian trixie's
# rabbitmq-server 4.0 (Erlang 27), IOTPIPE_RABBITMQ=4.3 Debian forky's (testing: its current 4.3). The nodes run
# through chroot into this root (iotpipe-broker); nothing is installed into the host itself.
#   scripts/rabbitmq4-root.sh [ROOT]      prints ROOT on stdout when it is ready; progress goes to stderr
# ROOT defaults to $IOTPIPE_RABBITMQ4_ROOT, else ${XDG_CACHE_HOME:-~/.cache}/iotpipe/rabbitmq-VERSION (outside any work
# tree, shared by every checkout). A ready root carries a stamp file and is reused; a half-made one (interrupted run)
# is thrown away and made again. Safe to run concurrently: a lock file serialises the makers.
# The Debian mirror is the one the host's apt sources already name (override with IOTPIPE_DEBIAN_MIRROR).
# Needs root (debootstrap, chroot, mount).
set -euo pipefail

VERSION="${IOTPIPE_RABBITMQ:-4.0}"
case "$VERSION" in
  4|4.0) VERSION=4.0; SUITE=trixie ;;
  4.3) SUITE=forky ;;
  *) echo "rabbitmq4-root: no root for RabbitMQ '$VERSION' (IOTPIPE_RABBITMQ): 4.0 (trixie) or 4.3 (forky)" >&2; exit 2 ;;
esac
ROOT="${1:-${IOTPIPE_RABBITMQ4_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/iotpipe/rabbitmq-$VERSION}}"
STAMP="$ROOT/.iotpipe-root-ready"

say() { echo "rabbitmq4-root: $*" >&2; }
die() { echo "rabbitmq4-root: $*" >&2; exit 1; }

ready() { [ -f "$STAMP" ] && [ -x "$ROOT/usr/lib/rabbitmq/bin/rabbitmq-server" ]; }

if ready; then echo "$ROOT"; exit 0; fi

[ "$(id -u)" = 0 ] || die "making the RabbitMQ 4 root needs root (debootstrap, chroot, mount). Run as root once:
  sudo $0 $ROOT
or use the host's RabbitMQ 3.10 instead (IOTPIPE_RABBITMQ=3.10, apt-get install rabbitmq-server)."

if ! command -v debootstrap >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "${IOTPIPE_NO_INSTALL:-}" != 1 ]; then
    say "installing debootstrap with apt (set IOTPIPE_NO_INSTALL=1 to prevent this)..."
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2 \
      || die "apt-get install debootstrap failed; install it by hand: sudo apt-get install debootstrap"
  else
    die "debootstrap is missing: sudo apt-get install debootstrap"
  fi
fi
# A debootstrap older than the suite knows no script of its name: Debian's testing suites bootstrap like sid.
SCRIPT=/usr/share/debootstrap/scripts/$SUITE
[ -f "$SCRIPT" ] || SCRIPT=/usr/share/debootstrap/scripts/sid
[ -f "$SCRIPT" ] || die "this debootstrap knows neither '$SUITE' nor sid: upgrade it (sudo apt-get install debootstrap)"

# The host's Debian mirror: the first URI of a stanza (deb822, sources.list.d/*.sources) or line (one-line format)
# that serves a release suite (a suite name without '-', so not -security/-updates/-backports).
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS=""; FS="\n"}
      { uris=""; suites=""; types=""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/) { suites = $i; sub(/^Suites:[ \t]*/, "", suites) }
          if ($i ~ /^Types:/) { types = $i }
        }
        if (types !~ /(^|[ \t])deb([ \t]|$)/ || uris !~ /debian/) next
        n = split(suites, s, /[ \t]+/)
        for (j = 1; j <= n; j++) if (s[j] != "" && s[j] !~ /-/) { split(uris, u, /[ \t]+/); print u[1]; exit }
      }' "$f"
  done
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
    | awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                         if ($i ~ /debian/ && $(i + 1) !~ /-/) print $i }'
  return 0
}
MIRROR="${IOTPIPE_DEBIAN_MIRROR:-$(host_mirror | head -1 || true)}"
[ -n "$MIRROR" ] || die "found no Debian mirror in /etc/apt/sources.list{,.d/}: set IOTPIPE_DEBIAN_MIRROR=http://your.mirror/debian"

mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock 9
if ready; then echo "$ROOT"; exit 0; fi  # another run made it while we waited for the lock

PARTIAL="$ROOT.partial"
unmount_partial() { if mountpoint -q "$PARTIAL/proc" 2>/dev/null; then umount "$PARTIAL/proc" || umount -l "$PARTIAL/proc"; fi; }
trap unmount_partial EXIT
unmount_partial
# A root without its stamp is the leftover of an interrupted run: start over (never reuse half-installed packages).
[ -e "$ROOT" ] && { say "removing the unfinished root $ROOT"; rm -rf --one-file-system "$ROOT"; }
[ -e "$PARTIAL" ] && rm -rf --one-file-system "$PARTIAL"

t0=$SECONDS
say "debootstrap --variant=minbase $SUITE from $MIRROR into $PARTIAL (about a minute and 210 MB)..."
debootstrap --variant=minbase "$SUITE" "$PARTIAL" "$MIRROR" "$SCRIPT" > "$ROOT.debootstrap.log" 2>&1 \
  || die "debootstrap failed (last lines below; full log $ROOT.debootstrap.log). Check that $MIRROR serves $SUITE, or set IOTPIPE_DEBIAN_MIRROR.
$(tail -5 "$ROOT.debootstrap.log")"
say "debootstrap done in $((SECONDS - t0)) s"

# The package ships init.d and systemd units that would start a node of its own: policy-rc.d forbids it.
printf '#!/bin/sh\nexit 101\n' > "$PARTIAL/usr/sbin/policy-rc.d"
chmod 755 "$PARTIAL/usr/sbin/policy-rc.d"
# Node names are name@localhost: the root must resolve localhost like the host does.
[ -s "$PARTIAL/etc/hosts" ] || cp /etc/hosts "$PARTIAL/etc/hosts"

# The package would create its rabbitmq user with the next free ids of the root, which belong to other users on the
# host (files in the node directories would show up under their names): take the host's rabbitmq ids when it has
# them, otherwise ids free on both sides.
free_id() { # kind(passwd|group)
  local id
  for id in $(seq 999 -1 100); do
    getent "$1" "$id" >/dev/null || chroot "$PARTIAL" getent "$1" "$id" >/dev/null || { echo "$id"; return; }
  done
  die "no free system $1 id"
}
uid=$(getent passwd rabbitmq | cut -d: -f3 || true); [ -n "$uid" ] || uid=$(free_id passwd)
gid=$(getent group rabbitmq | cut -d: -f3 || true); [ -n "$gid" ] || gid=$(free_id group)
if ! chroot "$PARTIAL" getent group "$gid" >/dev/null && ! chroot "$PARTIAL" getent passwd "$uid" >/dev/null; then
  chroot "$PARTIAL" groupadd --system --gid "$gid" rabbitmq
  chroot "$PARTIAL" useradd --system --uid "$uid" --gid "$gid" --home-dir /var/lib/rabbitmq --no-create-home \
    --shell /usr/sbin/nologin --comment "RabbitMQ messaging server" rabbitmq
  say "user rabbitmq: uid $uid gid $gid (as on the host)"
else
  say "uid $uid or gid $gid is taken inside the root: the package picks its own (nodes run as root anyway)"
fi

mount -t proc proc "$PARTIAL/proc"
t1=$SECONDS
say "apt-get install --no-install-recommends rabbitmq-server inside the root..."
chroot "$PARTIAL" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y -q --no-install-recommends rabbitmq-server \
  > "$ROOT.install.log" 2>&1 \
  || die "installing rabbitmq-server into the root failed (full log $ROOT.install.log):
$(tail -5 "$ROOT.install.log")"
chroot "$PARTIAL" apt-get clean
unmount_partial
say "installed in $((SECONDS - t1)) s"

version=$(chroot "$PARTIAL" dpkg-query -W -f '${Version}' rabbitmq-server)
[ -x "$PARTIAL/usr/lib/rabbitmq/bin/rabbitmq-server" ] || die "rabbitmq-server $version installed but /usr/lib/rabbitmq/bin/rabbitmq-server is missing"
# A testing suite moves on: refuse a root whose RabbitMQ is no longer the version it is named after.
case "$version" in "$VERSION".*) ;; *) die "$SUITE now ships rabbitmq-server $version, not $VERSION: this project's IOTPIPE_RABBITMQ=$VERSION needs an update";; esac
echo "rabbitmq-server $version from $SUITE ($MIRROR), made $(date -u +%FT%TZ)" > "$PARTIAL/.iotpipe-root-ready.tmp"
mv "$PARTIAL" "$ROOT"
mv "$ROOT/.iotpipe-root-ready.tmp" "$STAMP"
say "ready: $ROOT (rabbitmq-server $version, $(du -sh --one-file-system "$ROOT" | cut -f1), $((SECONDS - t0)) s)"
echo "$ROOT"
