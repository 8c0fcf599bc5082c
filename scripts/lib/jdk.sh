# Sourced by ./iotpipe and the scripts that run Maven: finds the newest JDK >= 21 (JAVA_HOME, javac on PATH,
# /usr/lib/jvm/*) and exports JAVA_HOME, or stops saying how to get one. Needs a die() of the caller.
java_major() { # prints the feature version of the java binary $1, or nothing
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

find_jdk() {
  local c candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v javac >/dev/null 2>&1; then candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"); fi
  for c in /usr/lib/jvm/* /opt/java/* /opt/jdk*; do [ -d "$c" ] && candidates+=("$c"); done
  local best="" best_v=0 v
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    v="$(java_major "$c/bin/java")"
    [[ "$v" =~ ^[0-9]+$ ]] || continue
    if [ "$v" -ge 21 ] && [ "$v" -gt "$best_v" ]; then best="$c"; best_v="$v"; fi
  done
  [ -n "$best" ] || die "no JDK >= 21 found (looked at JAVA_HOME, javac on PATH, /usr/lib/jvm/*).
  Install one, e.g.: apt-get install openjdk-21-jdk (or Temurin 21+), or set JAVA_HOME to a JDK >= 21."
  export JAVA_HOME="$best"
}
