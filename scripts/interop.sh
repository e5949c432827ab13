#!/usr/bin/env bash
# Makes sure what the lock interop tests (recipes/lock/interop_test.go)
# contend with is installed: Apache Curator's jars with a JDK to compile
# their driver, and Python 3 with kazoo. If something is missing and we are
# root on a machine with apt-get, installs Debian's libcurator-recipes-java,
# a headless JDK and python3-kazoo. Otherwise prints what to install and
# fails. ZKIT_INTEROP=skip skips the check, and the tests skip too.
set -euo pipefail

[[ "${ZKIT_INTEROP:-}" == skip ]] && exit 0

jars_dir="${ZKIT_CURATOR_JARS:-/usr/share/java}"
python="${ZKIT_PYTHON:-/usr/bin/python3}"
curator_jars=(
  curator-client.jar curator-framework.jar curator-recipes.jar guava.jar
  zookeeper.jar zookeeper-jute.jar slf4j-api.jar slf4j-nop.jar
)

missing() {
  local j
  for j in "${curator_jars[@]}"; do
    [[ -f "$jars_dir/$j" ]] || { echo "$jars_dir/$j"; return 0; }
  done
  command -v javac >/dev/null 2>&1 || { echo "javac (a JDK)"; return 0; }
  "$python" -c 'import kazoo' >/dev/null 2>&1 || { echo "kazoo for $python"; return 0; }
  return 1
}

what=$(missing) || exit 0

# apt-get installs into the default places only: with ZKIT_CURATOR_JARS or
# ZKIT_PYTHON pointing elsewhere, installing would not help.
defaults=false
[[ "$jars_dir" == /usr/share/java && "$python" == /usr/bin/python3 ]] && defaults=true

if $defaults && [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "interop.sh: $what is missing; installing Curator, a JDK and kazoo with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p /usr/share/man/man1
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    libcurator-recipes-java libslf4j-java default-jdk-headless python3 python3-kazoo >/dev/null
  if what=$(missing); then
    echo "interop.sh: apt-get ran, but $what is still missing" >&2
    exit 1
  fi
  exit 0
fi

cat >&2 <<MSG
interop.sh: $what is missing. The lock interop tests contend with the real
Apache Curator (Java) and kazoo (Python). Install them with:

  Debian/Ubuntu:  sudo apt-get install -y libcurator-recipes-java default-jdk-headless python3-kazoo
  elsewhere:      put Curator 5's jars and their dependencies (see this script) in a
                  directory named by ZKIT_CURATOR_JARS, and install kazoo for the
                  Python named by ZKIT_PYTHON (pip install kazoo)

or run the tests without them: ZKIT_INTEROP=skip make test
MSG
exit 1
