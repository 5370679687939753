#!/bin/sh
# The packages `make fuzz` needs on top of install-deps.sh: clang and its
# libFuzzer/sanitizer runtimes. Not part of `make test`.
set -eu
PACKAGES="clang libclang-rt-14-dev"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-fuzz-deps: missing Debian packages:$missing; run as root or install them" >&2
  exit 1
fi
echo "install-fuzz-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
