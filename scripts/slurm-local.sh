#!/usr/bin/env bash
# slurm-local.sh up|down|status|env — a real single-node Slurm (Debian's 22.05 packages)
# on this host, shaped like the Lancaster HEC's (partitions `serial` and `gpu-short`,
# typed GPUs), with accounting (slurmdbd + MariaDB, so `sacct` has MaxRSS). For tests
# and CI; it runs beside the Grid Engine of scripts/sge-local.sh (other ports).
#
# Idempotent: `up` when already up returns at once; `down` when already down is not an
# error; `up` after `down` restarts from the existing state and database. Needs root.
#
# The whole cluster lives in one directory ($SLURM_LOCAL_DIR, default
# /var/lib/slurm-local): its own slurm.conf, gres.conf, slurmdbd.conf, munge key and
# socket, state, logs, pid files and database. Nothing is written to /etc/slurm, so a
# real Slurm client configuration on the machine is left alone; clients find this
# cluster through SLURM_CONF:
#     eval "$(scripts/slurm-local.sh env)"     # export SLURM_CONF=/var/lib/slurm-local/etc/slurm.conf
# The test suite falls back to that well-known path when SLURM_CONF is not set.
#
# Why each step exists is in shared/notes/slurm-local.md; the short version:
#  * a private munged (own key and socket): AuthInfo=socket=… points every daemon and
#    client at it; cred_expire=5 (the minimum) shortens the requeue cycle to ~12 s;
#  * PID 1 is not systemd here: daemons are started directly, as root (SlurmUser=root),
#    and stopped by their pid files, never by name;
#  * no cgroups (proctrack/linuxproc, task/none): works in containers;
#  * SlurmdParameters=config_overrides lets the node claim more CPUs than it has, so
#    several test jobs run at once on 2 cores; DefMemPerCPU, else a job without --mem
#    takes the whole node's memory and jobs run one at a time;
#  * fake GPUs: one distinct symlink to /dev/null per GPU (a GPU without File= is dropped
#    and drains the node; a repeated File= kills slurmd); typed like the HEC's, so
#    `--gres=gpu:nvidia_h200_nvl:1` runs and `--gres=gpu:nvidia_l40:1` is refused;
#  * EnforcePartLimits=ALL: an impossible request fails at sbatch instead of pending forever;
#  * MariaDB runs with --user=root on 127.0.0.1:3307; slurmdbd connects over TCP, so
#    root@127.0.0.1 is granted; slurmdbd.conf must be mode 600.
#
# Tunables (environment): SLURM_LOCAL_DIR (/var/lib/slurm-local), SLURM_LOCAL_NCPUS (8),
# SLURM_LOCAL_GPUS ("nvidia_h200_nvl:2 tesla_v100-pcie-32gb:2"), SLURM_LOCAL_ACCOUNTING
# (1; 0 runs without slurmdbd/MariaDB: sacct then fails, as on a site without accounting).
set -euo pipefail

export PATH=/usr/bin:/usr/sbin:/bin:/sbin:$PATH

HOST=$(hostname)
DIR=${SLURM_LOCAL_DIR:-/var/lib/slurm-local}
NCPUS=${SLURM_LOCAL_NCPUS:-8}
GPUS=${SLURM_LOCAL_GPUS:-nvidia_h200_nvl:2 tesla_v100-pcie-32gb:2}
ACCOUNTING=${SLURM_LOCAL_ACCOUNTING:-1}
CPU_PARTITION=serial
GPU_PARTITION=gpu-short

ETC=$DIR/etc
RUN=$DIR/run
LOG=$DIR/log
export SLURM_CONF=$ETC/slurm.conf
MUNGE_SOCKET=$RUN/munge.socket
PID_MUNGED=$RUN/munged.pid
PID_MARIADB=$RUN/mariadb.pid
PID_SLURMDBD=$RUN/slurmdbd.pid
PID_SLURMCTLD=$RUN/slurmctld.pid
PID_SLURMD=$RUN/slurmd.pid
DB_SOCKET=$RUN/mariadb.sock
DB_PORT=3307
PACKAGES=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)

log() { printf 'slurm-local: %s\n' "$*" >&2; }
die() { printf 'slurm-local: error: %s\n' "$*" >&2; exit 1; }

# A pid counts as alive unless it is gone or a zombie (PID 1 here reaps orphans late,
# so `kill -0` would see a stopped daemon as alive).
alive() {
    local pid=$1 state
    [[ -n $pid && -r /proc/$pid/stat ]] || return 1
    state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}
pid_of() { [[ -r $1 ]] && tr -dc '0-9' <"$1" || true; }
# Alive AND the program we started (a stale pid file may name an unrelated process).
daemon_alive() { # daemon_alive PIDFILE COMM
    local pid
    pid=$(pid_of "$1")
    alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]]
}
munged_alive() { daemon_alive "$PID_MUNGED" munged; }
mariadb_alive() { daemon_alive "$PID_MARIADB" mariadbd; }
slurmdbd_alive() { daemon_alive "$PID_SLURMDBD" slurmdbd; }
slurmctld_alive() { daemon_alive "$PID_SLURMCTLD" slurmctld; }
slurmd_alive() { daemon_alive "$PID_SLURMD" slurmd; }

installed() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null &&
        command -v munged >/dev/null &&
        { [[ $ACCOUNTING != 1 ]] || { command -v slurmdbd >/dev/null && command -v mariadbd >/dev/null; }; }
}

wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2 i
    shift 2
    for ((i = 0; i < limit * 5; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    die "timed out after ${limit}s waiting for $what (logs: $LOG)"
}
not() { ! "$@"; }

install_packages() {
    log "installing Slurm, munge, slurmdbd and MariaDB (apt)"
    # Postinst would start Debian's own munge/slurm/mariadb services with the default
    # configuration; a deny policy stops it. Only ours is removed afterwards.
    local own_policy=0 rc=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    # A fresh image may ship empty package lists ("Unable to locate package").
    if ! apt-cache show slurmctld >/dev/null 2>&1; then
        apt-get update -q >/tmp/slurm-local-apt.log 2>&1 || true
    fi
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends \
        "${PACKAGES[@]}" >/tmp/slurm-local-apt.log 2>&1 || rc=$?
    [[ $own_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
    [[ $rc == 0 ]] || { tail -20 /tmp/slurm-local-apt.log >&2; die "apt-get install failed (full log: /tmp/slurm-local-apt.log)"; }
    installed || die "packages installed but a daemon is missing (see /tmp/slurm-local-apt.log)"
}

# Real memory of the node in MiB, from slurmd itself (what it will report).
node_memory() {
    slurmd -C 2>/dev/null | sed -nE 's/.*RealMemory=([0-9]+).*/\1/p' | head -1
}

gres_node_field() { # gpu:nvidia_h200_nvl:2,gpu:tesla_v100-pcie-32gb:2
    local g out=()
    for g in $GPUS; do out+=("gpu:$g"); done
    local IFS=,
    echo "${out[*]}"
}

write_gres_conf() {
    local g type count i n=0
    mkdir -p "$DIR/gpus"
    for g in $GPUS; do
        type=${g%:*}
        count=${g##*:}
        for ((i = 0; i < count; i++)); do
            # Distinct symlinks to /dev/null: slurmd needs a device file per GPU, and
            # names the CUDA_VISIBLE_DEVICES index after the file's trailing number.
            ln -sfn /dev/null "$DIR/gpus/nvidia$n"
            printf 'NodeName=%s Name=gpu Type=%s File=%s/gpus/nvidia%d\n' "$HOST" "$type" "$DIR" "$n"
            n=$((n + 1))
        done
    done
}

write_slurm_conf() {
    local mem=$1
    cat <<EOF
# Written by scripts/slurm-local.sh; edits are overwritten by the next \`up\`.
ClusterName=hecjob-local
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=5
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$PID_SLURMCTLD
SlurmdPidFile=$PID_SLURMD
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
EnforcePartLimits=ALL
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1,bf_resolution=1
KillWait=2
MinJobAge=300
ReturnToService=2
SlurmdParameters=config_overrides
SlurmdTimeout=30
InactiveLimit=0
GresTypes=gpu
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=2
EOF
    if [[ $ACCOUNTING == 1 ]]; then
        cat <<EOF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$HOST
AccountingStoragePort=6819
AccountingStoragePass=$MUNGE_SOCKET
AccountingStorageTRES=gres/gpu
EOF
    else
        echo "AccountingStorageType=accounting_storage/none"
    fi
    cat <<EOF
NodeName=$HOST CPUs=$NCPUS RealMemory=$mem Gres=$(gres_node_field) State=UNKNOWN
PartitionName=$CPU_PARTITION Nodes=$HOST Default=YES MaxTime=7-00:00:00 State=UP
PartitionName=$GPU_PARTITION Nodes=$HOST MaxTime=12:00:00 State=UP
EOF
}

write_slurmdbd_conf() {
    cat <<EOF
# Written by scripts/slurm-local.sh; edits are overwritten by the next \`up\`.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=$HOST
DbdPort=6819
SlurmUser=root
PidFile=$PID_SLURMDBD
LogFile=$LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=root
StorageLoc=slurm_acct_db
EOF
}

# Write FILE from stdin only when it changes; returns 0 when it changed.
update_file() { # update_file FILE MODE
    local file=$1 mode=$2 tmp
    tmp=$(mktemp "$file.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    if [[ -f $file ]] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        return 1
    fi
    mv -f "$tmp" "$file"
    return 0
}

# Returns 0 when slurm.conf or gres.conf changed (slurmctld and slurmd must restart).
write_configs() {
    local mem changed=1
    mkdir -p "$ETC" "$RUN" "$LOG" "$DIR/state" "$DIR/spool" "$DIR/munge"
    mem=$(node_memory)
    [[ -n $mem ]] || die "slurmd -C reported no RealMemory"
    write_slurm_conf "$mem" | update_file "$ETC/slurm.conf" 644 && changed=0
    write_gres_conf | update_file "$ETC/gres.conf" 644 && changed=0
    write_slurmdbd_conf | update_file "$ETC/slurmdbd.conf" 600 || true
    printf 'export SLURM_CONF=%s\n' "$SLURM_CONF" | update_file "$DIR/env" 644 || true
    return $changed
}

start_munged() {
    munged_alive && return 0
    if [[ ! -s $DIR/munge/munge.key ]]; then
        dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    fi
    chmod 700 "$DIR/munge"
    chmod 400 "$DIR/munge/munge.key"
    rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock" "$PID_MUNGED"
    log "starting munged"
    munged --force --key-file="$DIR/munge/munge.key" --socket="$MUNGE_SOCKET" \
        --pid-file="$PID_MUNGED" --log-file="$LOG/munged.log" --seed-file="$DIR/munge/munged.seed"
    wait_until 20 "munged" munge_works
}
munge_works() { munge --socket="$MUNGE_SOCKET" -n | unmunge --socket="$MUNGE_SOCKET" >/dev/null; }

db_sql() { mariadb --socket="$DB_SOCKET" -uroot -e "$1"; }

start_mariadb() {
    mariadb_alive && return 0
    if [[ ! -d $DIR/db/mysql ]]; then
        log "initialising the accounting database"
        mkdir -p "$DIR/db"
        mariadb-install-db --user=root --datadir="$DIR/db" --auth-root-authentication-method=socket \
            --skip-test-db >"$LOG/mariadb-install.log" 2>&1 ||
            { tail -20 "$LOG/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
    fi
    rm -f "$PID_MARIADB" "$DB_SOCKET"
    log "starting mariadbd (127.0.0.1:$DB_PORT)"
    # --no-defaults: Debian's /etc/mysql configuration (port 3306, /run/mysqld) is not ours.
    setsid mariadbd --no-defaults --user=root --datadir="$DIR/db" --port="$DB_PORT" \
        --bind-address=127.0.0.1 --skip-name-resolve --socket="$DB_SOCKET" --pid-file="$PID_MARIADB" \
        --log-error="$LOG/mariadb.log" </dev/null >/dev/null 2>&1 &
    wait_until 60 "mariadbd" db_sql 'SELECT 1'
    # slurmdbd connects over TCP as root@127.0.0.1 (root@localhost is the socket only).
    db_sql "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
}

start_slurmdbd() {
    slurmdbd_alive && return 0
    rm -f "$PID_SLURMDBD"
    log "starting slurmdbd"
    # slurmdbd reads slurmdbd.conf from the directory of SLURM_CONF.
    slurmdbd 2>>"$LOG/slurmdbd.log" || die "slurmdbd failed to start (see $LOG/slurmdbd.log)"
    wait_until 60 "slurmdbd to accept connections" dbd_listening
}
dbd_listening() { (exec 3<>/dev/tcp/127.0.0.1/6819) 2>/dev/null; }

start_slurm() {
    if ! slurmctld_alive; then
        rm -f "$PID_SLURMCTLD"
        log "starting slurmctld"
        slurmctld 2>>"$LOG/slurmctld.log" || die "slurmctld failed to start (see $LOG/slurmctld.log)"
        wait_until 60 "slurmctld to answer" scontrol ping
    fi
    if ! slurmd_alive; then
        rm -f "$PID_SLURMD"
        log "starting slurmd"
        slurmd 2>>"$LOG/slurmd.log" || die "slurmd failed to start (see $LOG/slurmd.log)"
    fi
    wait_until 60 "node $HOST to register" node_registered
    # A drain (e.g. from an earlier gres mismatch) survives restarts; we own this node.
    if sinfo -h -n "$HOST" -o '%T' | grep -qiE 'drain|down'; then
        log "resuming node $HOST ($(sinfo -h -n "$HOST" -o '%T %E'))"
        scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
    fi
    wait_until 60 "node $HOST to be usable" node_usable
}
node_registered() { sinfo -h -n "$HOST" -o '%T' | grep -qvE '^(unknown|not_responding)'; }
node_usable() { sinfo -h -n "$HOST" -o '%T' | grep -qE '^(idle|mixed|allocated|completing)'; }

stop_pid() { # stop_pid NAME PIDFILE COMM
    local name=$1 file=$2 comm=$3 pid
    pid=$(pid_of "$file")
    daemon_alive "$file" "$comm" || return 0
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    wait_until 60 "$name (pid $pid) to exit" not alive "$pid"
}

stop_slurm() {
    if slurmctld_alive; then
        # Jobs first: slurmstepd outlives slurmd.
        local jobs
        jobs=$(squeue -h -o '%i' 2>/dev/null | tr '\n' ' ')
        if [[ -n ${jobs// /} ]]; then
            log "cancelling jobs: $jobs"
            # shellcheck disable=SC2086
            scancel $jobs >/dev/null 2>&1 || true
            wait_until 30 "jobs to end" no_jobs || true
        fi
        scontrol shutdown >/dev/null 2>&1 || true
    fi
    stop_pid slurmd "$PID_SLURMD" slurmd
    stop_pid slurmctld "$PID_SLURMCTLD" slurmctld
}
no_jobs() { [[ -z $(squeue -h -o '%i' 2>/dev/null) ]]; }

all_up() {
    munged_alive && slurmctld_alive && slurmd_alive &&
        { [[ $ACCOUNTING != 1 ]] || { mariadb_alive && slurmdbd_alive; }; } &&
        node_usable
}

cmd_up() {
    [[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts daemons)"
    installed || install_packages
    if write_configs && { slurmctld_alive || slurmd_alive; }; then
        log "configuration changed: restarting slurmctld and slurmd"
        stop_slurm
    fi
    if all_up; then
        log "already up (slurmctld pid $(pid_of "$PID_SLURMCTLD"), slurmd pid $(pid_of "$PID_SLURMD")); $(cat "$DIR/env")"
        return 0
    fi
    start_munged
    if [[ $ACCOUNTING == 1 ]]; then
        start_mariadb
        start_slurmdbd
    fi
    start_slurm
    log "up: partitions $CPU_PARTITION (default) and $GPU_PARTITION, $NCPUS CPUs, GPUs ($GPUS), accounting=$ACCOUNTING"
    log "clients: $(cat "$DIR/env")   (or: eval \"\$($0 env)\")"
}

cmd_down() {
    [[ $(id -u) == 0 ]] || die "run as root"
    if ! munged_alive && ! mariadb_alive && ! slurmdbd_alive && ! slurmctld_alive && ! slurmd_alive; then
        log "already down"
        return 0
    fi
    stop_slurm
    stop_pid slurmdbd "$PID_SLURMDBD" slurmdbd
    stop_pid mariadbd "$PID_MARIADB" mariadbd
    stop_pid munged "$PID_MUNGED" munged
    log "down"
}

cmd_status() {
    local up=0 total=3 d
    if ! installed; then
        echo "Slurm: not installed"
        return 3
    fi
    [[ $ACCOUNTING == 1 ]] && total=5
    for d in munged slurmctld slurmd $([[ $ACCOUNTING == 1 ]] && echo mariadb slurmdbd); do
        if "${d}_alive"; then
            printf '%-10s running\n' "$d:"
            up=$((up + 1))
        else
            printf '%-10s stopped\n' "$d:"
        fi
    done
    echo "SLURM_CONF=$SLURM_CONF"
    if [[ $up == "$total" ]]; then
        sinfo || true
        squeue || true
        return 0
    fi
    return 3
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) echo "export SLURM_CONF=$SLURM_CONF" ;;
*)
    echo "usage: $0 up|down|status|env" >&2
    exit 2
    ;;
esac
