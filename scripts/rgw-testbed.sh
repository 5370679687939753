#!/bin/bash
# A one-node Ceph RGW on loopback for the S3 tests (DESIGN.md "Ceph RGW test
# bed"): one mon, one OSD on a file-backed BlueStore, no mgr, radosgw (beast)
# on 127.0.0.1, one S3 user. No systemd, no containers; everything (config,
# data, keys, logs, pid files) lives under DIR.
#
#   rgw-testbed.sh start DIR   build the cluster if DIR has none, start what is
#                              not running, wait until S3 answers; then write
#                              DIR/s3.env (mode 0600) with the exports
#   rgw-testbed.sh start-or-skip DIR   the same, for ctest: a failure to start
#                              is reported, then exit 77 (the S3 tests skip)
#   rgw-testbed.sh env DIR     print the path of DIR/s3.env: source it
#                              (the keys are never printed)
#   rgw-testbed.sh stop DIR    stop the daemons started here, by their pid
#                              files (SIGTERM, SIGKILL after a wait); the data stays
#   rgw-testbed.sh status DIR  exit 0 when S3 answers
#
# Exit codes: 0 done; 2 usage; 77 Ceph is not installed (the tests' "skipped");
# 1 anything else (the reason is on stderr, with the log to read).
set -euo pipefail

die() { echo "rgw-testbed: $*" >&2; exit 1; }
usage() { echo "usage: rgw-testbed.sh start|stop|env|status DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
base=$(cd "$2" && pwd)
conf=$base/ceph.conf
# Every daemon and client reads this cluster only, never /etc/ceph.
ceph_() { ceph --conf "$conf" --connect-timeout 20 "$@"; }

# A port nothing listens on; for the mon two in a row (v2 and v1).
free_port_pair() {
  python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 60000, 2)
    try:
        socks = []
        for q in (p, p + 1):
            s = socket.socket(); s.bind(("127.0.0.1", q)); socks.append(s)
        print(p); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
EOF
}

running() {  # NAME: its pid file names a live process
  local f=$base/run/$1.pid
  [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

s3_answers() {
  [ -s "$base/rgw-port" ] || return 1
  curl -s -o /dev/null -m 2 "http://127.0.0.1:$(cat "$base/rgw-port")/"
}

write_conf() {
  local fsid=$1 mon_port=$2 rgw_port=$3
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port,v1:127.0.0.1:$((mon_port + 1))]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $base/keyring
run dir = $base/run
pid file = $base/run/\$name.pid
admin socket = $base/run/\$name.asok
log file = $base/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon warn on pool no redundancy = false
[mon]
mon data = $base/mon/\$id
[osd]
osd data = $base/osd/\$id
keyring = $base/osd/\$id/keyring
osd objectstore = bluestore
osd memory target = 1073741824
bluestore block create = true
bluestore block size = 21474836480
[client.rgw.test]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw data = $base/rgw
keyring = $base/rgw/keyring
EOF
}

start_mon() { running mon.a || ceph-mon --conf "$conf" -i a; }
start_osd() { running osd.0 || ceph-osd --conf "$conf" -i 0 2>>"$base/log/setup.log"; }
start_rgw() { running client.rgw.test || radosgw --conf "$conf" -n client.rgw.test; }

wait_for() {  # SECONDS WHAT COMMAND...: poll until COMMAND succeeds
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what did not come up in time; see $base/log/"
    sleep 0.5
  done
}

osd_up() { ceph_ osd stat -f json | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["num_up_osds"] != 1)'; }

# From nothing: keys, monmap, mon, OSD, RGW key and S3 user. A cluster that
# did not finish is rebuilt, never restarted (the "created" marker).
create() {
  stop_all
  rm -rf "${base:?}"/{ceph.conf,keyring,monmap,mon,osd,rgw,run,log,created,rgw-port,s3.env,s3-keys,user.json}
  mkdir -p "$base"/{mon/a,osd/0,rgw,run,log}
  local fsid mon_port rgw_port
  fsid=$(uuidgen)
  mon_port=$(free_port_pair)
  rgw_port=$(free_port_pair)
  if [ -z "$mon_port" ] || [ -z "$rgw_port" ]; then die "no free port on 127.0.0.1"; fi
  write_conf "$fsid" "$mon_port" "$rgw_port"
  echo "$rgw_port" >"$base/rgw-port"
  (
    umask 077
    ceph-authtool --create-keyring "$base/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool "$base/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
      --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  )
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port,v1:127.0.0.1:$((mon_port + 1))]" \
    "$base/monmap" >/dev/null
  ceph-mon --conf "$conf" --mkfs -i a --monmap "$base/monmap" --keyring "$base/keyring" 2>>"$base/log/setup.log"
  start_mon
  local uuid secret id
  uuid=$(uuidgen)
  secret=$(ceph-authtool --gen-print-key)
  id=$(echo "{\"cephx_secret\": \"$secret\"}" | ceph_ osd new "$uuid" -i -)
  [ "$id" = 0 ] || die "ceph osd new gave id '$id', not 0"
  (umask 077; printf '[osd.0]\n\tkey = %s\n' "$secret" >"$base/osd/0/keyring")
  # The mkfs needs nothing from the mon (fsid and uuid are given).
  ceph-osd --conf "$conf" -i 0 --mkfs --no-mon-config --key "$secret" --osd-uuid "$uuid" \
    >"$base/log/osd-mkfs.log" 2>&1 || die "ceph-osd --mkfs failed; see $base/log/osd-mkfs.log"
  start_osd
  wait_for 60 "the OSD" osd_up
  (umask 077; ceph_ auth get-or-create client.rgw.test mon 'allow rw' osd 'allow rwx' >"$base/rgw/keyring")
  start_rgw
  wait_for 120 "radosgw" s3_answers
  # radosgw-admin makes the keys and prints them (never in anyone's argv);
  # they go straight into a file only we may read.
  (
    umask 077
    radosgw-admin --conf "$conf" -n client.admin user create --uid=hci-test --display-name=hci-test \
      --gen-access-key --gen-secret >"$base/user.json"
    python3 -c 'import json, sys; k = json.load(open(sys.argv[1]))["keys"][0]
print(k["access_key"]); print(k["secret_key"])' "$base/user.json" >"$base/s3-keys"
    rm -f "$base/user.json"
  )
  touch "$base/created"
}

write_env() {
  local access secret_key
  { read -r access; read -r secret_key; } <"$base/s3-keys"
  (
    umask 077
    cat >"$base/s3.env.tmp" <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$base/rgw-port")
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_REGION=us-east-1
EOF
  )
  mv "$base/s3.env.tmp" "$base/s3.env"
}

stop_one() {  # NAME: SIGTERM, then SIGKILL after a wait; only our own pid
  local f=$base/run/$1.pid pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

restart() {
  start_mon
  start_osd
  wait_for 60 "the OSD" osd_up
  start_rgw
  wait_for 120 "radosgw" s3_answers
}

stop_all() {
  stop_one client.rgw.test
  stop_one osd.0
  stop_one mon.a
}

case $cmd in
  start-or-skip)
    rc=0
    "$0" start "$base" || rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
      echo "rgw-testbed: Ceph RGW did not start (exit $rc): the S3 tests are skipped" >&2
      tail -5 "$base"/log/*.log >&2 2>/dev/null || true
      "$0" stop "$base" || true
      rc=77
    fi
    exit $rc
    ;;
  start)
    rm -f "$base/s3.env"  # present only while this start succeeded
    for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen python3 curl; do
      command -v "$tool" >/dev/null || { echo "rgw-testbed: $tool is not installed (scripts/install-deps.sh --rgw)" >&2; exit 77; }
    done
    # A cluster that will not restart (a port taken meanwhile, a daemon
    # that dies) is rebuilt: it holds test data only.
    if ! { [ -e "$base/created" ] && (restart); }; then
      [ -e "$base/created" ] && echo "rgw-testbed: the cluster in $base did not restart; rebuilding it" >&2
      create
    fi
    write_env
    ;;
  env)
    [ -s "$base/s3.env" ] || die "no test bed in $base (rgw-testbed.sh start $base)"
    echo "$base/s3.env"
    ;;
  status)
    s3_answers
    ;;
  stop)
    stop_all
    ;;
  *) usage ;;
esac
