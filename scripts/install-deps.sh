#!/bin/sh
# Installs the Debian 12 packages the build, the tests, the demo and the
# benchmarks need, but only when one is missing (so a second run is quick).
set -eu
PACKAGES="build-essential cmake pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libcurl4-openssl-dev libssl-dev liblz4-dev libzstd-dev libxxhash-dev libiscsi-dev catch2
  libiscsi-bin tgt zstd lz4 jq curl e2fsprogs python3 python3-jsonschema groff-base
  qemu-utils qemu-block-extra libnbd-bin strace openssl
  nbdkit nbdkit-plugin-dev fuse3 fdisk parallel faketime"
# `install-deps.sh --fuzz` (make fuzz) installs clang and its libFuzzer and
# sanitizer runtimes instead; `make test` does not need them.
[ "${1:-}" = "--fuzz" ] && PACKAGES="clang libclang-rt-14-dev"
# `install-deps.sh --rgw` (make test) installs Ceph for the S3 tests' one-node
# RGW (scripts/rgw-testbed.sh, about 250 MiB); `make demo` does not need it.
[ "${1:-}" = "--rgw" ] && PACKAGES="ceph-mon ceph-osd radosgw ceph-common uuid-runtime"
# `install-deps.sh --bench` (make bench) installs the tools the benchmarks
# compare against or measure with: restic, borg, fio's nbd engine.
[ "${1:-}" = "--bench" ] && PACKAGES="restic borgbackup fio"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages:$missing; run as root or install them" >&2
  exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
