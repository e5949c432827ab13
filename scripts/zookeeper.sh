#!/usr/bin/env bash
# Makes sure a ZooKeeper server and a java runtime are installed, the way
# zktest looks for them: $ZOOKEEPER_HOME, then Debian's layout
# (/usr/share/java/zookeeper.jar and the jars it needs), then zkServer.sh on
# PATH (or Homebrew's zkServer). If none is found and we are root on a machine with apt-get, installs
# Debian's zookeeper package (which brings Java). Otherwise prints the
# commands to run and fails. Quiet when everything is in place.
set -euo pipefail

debian_jars=(
  zookeeper.jar zookeeper-jute.jar slf4j-api.jar slf4j-log4j12.jar log4j-1.2.jar
  netty-handler.jar netty-codec.jar netty-resolver.jar netty-transport-native-unix-common.jar
)

have_java() {
  [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] || command -v java >/dev/null 2>&1 || [[ -x /usr/bin/java ]]
}

# home_ok DIR: DIR holds a ZooKeeper jar (in it, lib/ or libexec/lib/), as
# a release does, or bin/zkServer.sh with Debian's jars, as
# /usr/share/zookeeper does.
home_ok() {
  local f
  for f in "$1"/{,lib/,libexec/lib/}{zookeeper-3*.jar,zookeeper.jar}; do
    [[ -f "$f" ]] && return 0
  done
  [[ -f "$1/bin/zkServer.sh" ]] && debian_ok
}

debian_ok() {
  local j
  for j in "${debian_jars[@]}"; do
    [[ -f "/usr/share/java/$j" ]] || return 1
  done
}

found() {
  if [[ -n "${ZOOKEEPER_HOME:-}" ]] && home_ok "$ZOOKEEPER_HOME"; then
    return 0
  fi
  if debian_ok; then
    return 0
  fi
  # zkServer.sh from a release; zkServer, Homebrew's wrapper, whose
  # release lies under libexec.
  local name script
  for name in zkServer.sh zkServer; do
    if script=$(command -v "$name" 2>/dev/null); then
      script=$(readlink -f "$script" 2>/dev/null || echo "$script")
      home_ok "$(dirname "$(dirname "$script")")" && return 0
    fi
  done
  return 1
}

# Set on purpose, so a wrong one is an error, as zktest makes it, rather
# than a reason to look elsewhere or to install.
if [[ -n "${ZOOKEEPER_HOME:-}" ]] && ! home_ok "$ZOOKEEPER_HOME"; then
  echo "zookeeper.sh: ZOOKEEPER_HOME=$ZOOKEEPER_HOME holds no ZooKeeper jar (in it, lib/ or libexec/lib/) nor bin/zkServer.sh; fix or unset it" >&2
  exit 1
fi
if [[ -n "${JAVA_HOME:-}" && ! -x "$JAVA_HOME/bin/java" ]]; then
  echo "zookeeper.sh: JAVA_HOME=$JAVA_HOME has no bin/java; fix or unset it" >&2
  exit 1
fi

if found && have_java; then
  exit 0
fi

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "zookeeper.sh: installing ZooKeeper and Java with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Slim images lack this directory, which the JRE's postinst needs.
  mkdir -p /usr/share/man/man1
  apt-get update -qq
  apt-get install -y -qq zookeeper >/dev/null
  if found && have_java; then
    echo "zookeeper.sh: ZooKeeper installed" >&2
    exit 0
  fi
  echo "zookeeper.sh: apt-get installed zookeeper, but its jars or java are still missing" >&2
  exit 1
fi

cat >&2 <<'MSG'
zookeeper.sh: ZooKeeper (and a Java runtime) is needed to run zkit's tests and demo.
Install it with one of:

  Debian/Ubuntu:  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y zookeeper
  macOS:          brew install zookeeper
  any system:     download a release from https://zookeeper.apache.org/releases.html,
                  unpack it, and export ZOOKEEPER_HOME=/path/to/apache-zookeeper-3.8.x-bin
                  (Java 11 or newer must be on PATH or in JAVA_HOME)

The demo can use a running server instead: ZK_SERVERS=host:port make demo
(the tests start their own servers and ensembles, so they need an install).
MSG
exit 1
