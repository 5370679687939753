# Sourced after lib.sh by the examples-systemd-* scenarios: make install into
# $T/p and running a unit's commands the way systemd would, without systemd.

# install_units: make install into $T/p (the suite runs after the build: -o
# all, nothing is rebuilt); sets UNITS (the unit directory) and EXAMPLES.
install_units() {
    local build
    build=$(cd "$(dirname "$(command -v hci-vm-get)")/.." && pwd)
    [ -f "$build/CMakeCache.txt" ] || skip "no build directory found next to hci-vm-get"
    ( unset MAKEFLAGS MFLAGS MAKELEVEL
      make -C "$HCI_SOURCE_DIR" -o all install BUILD="$build" PREFIX="$T/p" JOBS=1 ) >"$T/install.out" 2>&1 ||
        { cat "$T/install.out"; die "make install failed"; }
    UNITS=$T/p/lib/systemd/system
    EXAMPLES=$T/p/share/doc/hci-backup/examples
}

# unit_values KEY FILE: the values of KEY= in the [Service]/[Unit]/[Timer] FILE, one a line.
unit_values() { sed -n "s/^$1=//p" "$2"; }

# specifiers TEXT INSTANCE CREDS: TEXT with the systemd specifiers the units
# use filled in (%i the instance, %n the unit, %d the credentials directory).
specifiers() {
    local text=$1 unit="hci-backup@$2.service"
    text=${text//%i/$2}; text=${text//%n/$unit}; text=${text//%d/$3}
    echo "${text//%%/%}"
}

# run_exec_start UNIT_FILE INSTANCE ENV_FILE CREDS: runs the unit's ExecStart
# as systemd would: a clean environment with systemd's PATH, the unit's
# Environment= lines, then ENV_FILE (standing in for EnvironmentFile=) over
# them; ${VAR} in the command line replaced by the value, as one argument; in
# /, with the unit's UMask. Its stdout and stderr go to $T/job.log.
run_exec_start() {
    local unit=$1 instance=$2 env_file=$3 creds=$4 line envs=() cmd
    line=$(unit_values ExecStart "$unit")
    [ "$(wc -l <<<"$line")" -eq 1 ] || die "$unit: not one ExecStart: $line"
    case $line in *\'* | *\"* | *\\*) die "$unit: quoting in ExecStart is beyond this test: $line" ;; esac
    cmd=$(specifiers "$line" "$instance" "$creds")
    while IFS= read -r e; do envs+=("$(specifiers "$e" "$instance" "$creds")"); done < <(unit_values Environment "$unit")
    ( cd / && umask "$(unit_values UMask "$unit")" &&
      env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        bash -c 'set -f -a; for e in "${@:3}"; do export "$e"; done; . "$1"; set +a
            argv=()
            for w in $2; do
                while [[ $w =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
                    v=${BASH_REMATCH[1]}; w=${w//"${BASH_REMATCH[0]}"/${!v-}}
                done
                argv+=("$w")
            done
            exec "${argv[@]}"' run "$env_file" "$cmd" "${envs[@]}" ) >"$T/job.log" 2>&1
}
