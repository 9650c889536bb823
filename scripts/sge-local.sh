#!/usr/bin/env bash
# sge-local.sh up|down|status — a real single-node Son of Grid Engine on this host,
# configured like the Lancaster HEC (queues `serial` and `short`, consumables `ngpus`
# and `ncpus`), so rendered job scripts run unmodified. For tests and CI.
#
# Idempotent: `up` when already up returns at once; `down` when already down is not
# an error; `up` after `down` restarts from the existing spool. Needs root (apt, daemons).
#
# Why each step exists is in shared/notes/sge-local.md; the short version:
#  * debconf preseed, else act_qmaster ends up empty;
#  * host_aliases maps `localhost` to this host, else every client is refused with
#    "client IP resolved to host name localhost";
#  * the global config (min_uid 0, login_shells none, accounting_flush_time 0) is set
#    BEFORE execd starts: changed later it puts the queues into state E;
#  * load_report_time 5 s: a task that exits 99 is rescheduled only once execd has
#    reported the previous run cleaned up (with the default 40 s, ~1 min per restart);
#  * load_thresholds NONE: the default threshold stalls jobs on a busy 2-core box;
#  * daemons are stopped through qconf and waited on by pid, never killed by name.
#
# Tunables (environment): SGE_LOCAL_NGPUS (2), SGE_LOCAL_NCPUS (8), SGE_LOCAL_SLOTS (4),
# SGE_LOCAL_NOTIFY (00:00:04: the gap between the -notify warning signal and the
# SIGSTOP/SIGKILL it announces; the HEC uses 60 s, tests want a short one).
set -euo pipefail

export SGE_ROOT=/var/lib/gridengine
export SGE_CELL=default
export PATH=/usr/bin:/usr/sbin:/bin:/sbin:$PATH

HOST=$(hostname)
COMMON=$SGE_ROOT/$SGE_CELL/common
SPOOL=/var/spool/gridengine
QMASTER_PID=$SPOOL/qmaster/qmaster.pid
# execd names its spool directory after the name it resolves for itself, which with
# the host_aliases fix is `localhost`, not $HOST: find the pid file rather than guess.
execd_pid_file() {
    local f
    for f in "$SPOOL"/execd/*/execd.pid; do
        [[ -r $f ]] && alive "$(pid_of "$f")" && { echo "$f"; return; }
    done
    echo "$SPOOL/execd/localhost/execd.pid"
}

NGPUS=${SGE_LOCAL_NGPUS:-2}
NCPUS=${SGE_LOCAL_NCPUS:-8}
SLOTS=${SGE_LOCAL_SLOTS:-4}
NOTIFY=${SGE_LOCAL_NOTIFY:-00:00:04}
QUEUES=(all.q serial short)

log() { printf 'sge-local: %s\n' "$*" >&2; }
die() { printf 'sge-local: error: %s\n' "$*" >&2; exit 1; }

# A pid counts as alive unless it is gone or a zombie: a stopped daemon may linger
# as a zombie here because nothing reaps it.
alive() {
    local pid=$1 state
    [[ -n $pid && -r /proc/$pid/status ]] || return 1
    state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}
pid_of() { [[ -r $1 ]] && tr -dc '0-9' <"$1" || true; }
qmaster_alive() { alive "$(pid_of "$QMASTER_PID")"; }
execd_alive() { alive "$(pid_of "$(execd_pid_file)")"; }
installed() { [[ -x /usr/sbin/sge_qmaster && -x /usr/sbin/sge_execd && -x /usr/bin/qsub && -d $COMMON ]]; }

wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2 i
    shift 2
    for ((i = 0; i < limit * 5; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    die "timed out after ${limit}s waiting for $what"
}
not() { ! "$@"; }

install_packages() {
    log "installing Son of Grid Engine (apt)"
    local pkg
    for pkg in gridengine-common gridengine-client gridengine-master gridengine-exec; do
        printf '%s shared/gridengineconfig boolean true\n' "$pkg"
        printf '%s shared/gridenginecell string default\n' "$pkg"
        printf '%s shared/gridenginemaster string %s\n' "$pkg" "$HOST"
    done | debconf-set-selections
    # postinst would start the daemons before the host-name fix below; a deny policy
    # stops it. Only ours is removed afterwards.
    local own_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    local rc=0
    # A fresh image may ship empty package lists ("Unable to locate package").
    if ! apt-cache show gridengine-master >/dev/null 2>&1; then
        apt-get update -q >/tmp/sge-local-apt.log 2>&1 || true
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        gridengine-master gridengine-exec gridengine-client mailutils >/tmp/sge-local-apt.log 2>&1 || rc=$?
    [[ $own_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
    [[ $rc == 0 ]] || { tail -20 /tmp/sge-local-apt.log >&2; die "apt-get install failed (full log: /tmp/sge-local-apt.log)"; }
    installed || die "packages installed but $COMMON is missing: init_cluster did not run (see /tmp/sge-local-apt.log)"
}

fix_host_name() {
    # Write only when different: rewriting act_qmaster under a running qmaster is harmless,
    # but there is no reason to touch it.
    if [[ "$(cat "$COMMON/host_aliases" 2>/dev/null)" != "$HOST localhost" ]]; then
        printf '%s localhost\n' "$HOST" >"$COMMON/host_aliases"
    fi
    if [[ "$(cat "$COMMON/act_qmaster" 2>/dev/null)" != "$HOST" ]]; then
        printf '%s\n' "$HOST" >"$COMMON/act_qmaster"
    fi
    local resolved
    resolved=$(/usr/lib/gridengine/gethostbyaddr -aname 127.0.0.1 2>/dev/null || true)
    [[ $resolved == "$HOST" ]] || die "127.0.0.1 resolves to '$resolved' for Grid Engine, not '$HOST' (check $COMMON/host_aliases)"
}

# qconf reports some refusals with exit status 0: look at what it says as well.
qc() {
    local out rc=0
    out=$(qconf "$@" 2>&1) || rc=$?
    if [[ $rc != 0 ]] || grep -qiE 'error|denied|not allowed|only a single|unknown|invalid|refused' <<<"$out"; then
        printf '%s\n' "$out" >&2
        die "qconf $* failed"
    fi
}

# Apply `qconf -A<kind>` for a new object, `-M<kind>` for an existing one.
add_or_modify() { # add_or_modify KIND(e|hgrp|p|q) FILE EXISTS-TEST...
    local kind=$1 file=$2
    shift 2
    if "$@" >/dev/null 2>&1; then
        qc "-M$kind" "$file"
    else
        qc "-A$kind" "$file"
    fi
}

# Set `key value` lines in a qconf listing; append keys that are missing. Listings
# wrap long values onto `\`-continued lines: join them first so a replaced value
# leaves no orphaned continuation behind.
set_keys() { # set_keys FILE key=value...
    local file=$1 kv key value
    shift
    sed -i -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' "$file"
    for kv in "$@"; do
        key=${kv%%=*}
        value=${kv#*=}
        if grep -qE "^$key[[:space:]]" "$file"; then
            sed -i -E "s|^$key[[:space:]].*|$key $value|" "$file"
        else
            printf '%s %s\n' "$key" "$value" >>"$file"
        fi
    done
}

configure_global() {
    local dir=$1
    # -Mconf takes the configuration's name from the file name: it must be `global`.
    qconf -sconf global >"$dir/global"
    cp "$dir/global" "$dir/global.before"
    set_keys "$dir/global" \
        "min_uid=0" "min_gid=0" "login_shells=none" "load_report_time=00:00:05" \
        "reporting_params=accounting=true reporting=false flush_time=00:00:15 joblog=false sharelog=00:00:00 accounting_flush_time=00:00:00"
    if ! cmp -s "$dir/global" "$dir/global.before"; then
        execd_alive && log "warning: changing the global config while execd runs; queues may go to state E (qmod -cq '*')"
        qc -Mconf "$dir/global"
    fi
}

configure_scheduler() {
    local dir=$1
    qconf -ssconf >"$dir/sched"
    cp "$dir/sched" "$dir/sched.before"
    set_keys "$dir/sched" "schedule_interval=0:0:1" "flush_submit_sec=1" "flush_finish_sec=1"
    cmp -s "$dir/sched" "$dir/sched.before" || qc -Msconf "$dir/sched"
}

# Consumables like the HEC's: a job's `-l ngpus=1 -l ncpus=4` is booked against the
# host's capacity (complex_values below); requests are per slot.
CONSUMABLES=(ngpus ncpus)

configure_complexes() {
    local dir=$1 changed=0 c
    qconf -sc >"$dir/complexes"
    for c in "${CONSUMABLES[@]}"; do
        if ! grep -qE "^$c[[:space:]]" "$dir/complexes"; then
            echo "$c $c INT <= YES YES 0 0" >>"$dir/complexes"
            changed=1
        fi
    done
    [[ $changed == 0 ]] || qc -Mc "$dir/complexes"
}

configure_hosts() {
    local dir=$1
    qconf -ss 2>/dev/null | grep -qx "$HOST" || qc -as "$HOST"
    qconf -sh 2>/dev/null | grep -qx "$HOST" || qc -ah "$HOST"
    cat >"$dir/exechost" <<EOF
hostname              $HOST
load_scaling          NONE
complex_values        ngpus=$NGPUS,ncpus=$NCPUS
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
EOF
    add_or_modify e "$dir/exechost" qconf -se "$HOST"
    printf 'group_name @allhosts\nhostlist %s\n' "$HOST" >"$dir/allhosts"
    add_or_modify hgrp "$dir/allhosts" qconf -shgrp @allhosts
}

configure_pe() {
    local dir=$1
    cat >"$dir/smp" <<EOF
pe_name            smp
slots              $SLOTS
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
    add_or_modify p "$dir/smp" qconf -sp smp
}

configure_queue() {
    local dir=$1 name=$2
    # A complete queue_conf: there is no template queue to copy after init_cluster.
    cat >"$dir/$name" <<EOF
qname                 $name
hostlist              @allhosts
seq_no                0
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               smp
rerun                 FALSE
slots                 $SLOTS
tmpdir                /tmp
shell                 /bin/bash
prolog                NONE
epilog                NONE
shell_start_mode      posix_compliant
starter_method        NONE
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                $NOTIFY
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
s_rt                  INFINITY
h_rt                  INFINITY
s_cpu                 INFINITY
h_cpu                 INFINITY
s_fsize               INFINITY
h_fsize               INFINITY
s_data                INFINITY
h_data                INFINITY
s_stack               INFINITY
h_stack               INFINITY
s_core                INFINITY
h_core                INFINITY
s_rss                 INFINITY
h_rss                 INFINITY
s_vmem                INFINITY
h_vmem                INFINITY
EOF
    add_or_modify q "$dir/$name" qconf -sq "$name"
}

configured() {
    local q c complexes
    for q in "${QUEUES[@]}"; do qconf -sq "$q" >/dev/null 2>&1 || return 1; done
    complexes=$(qconf -sc 2>/dev/null) || return 1
    for c in "${CONSUMABLES[@]}"; do grep -qE "^$c[[:space:]]" <<<"$complexes" || return 1; done
    qconf -ss 2>/dev/null | grep -qx "$HOST" || return 1
}

configure() {
    local dir q
    dir=$(mktemp -d /tmp/sge-local.XXXXXX)
    configure_global "$dir"
    configure_scheduler "$dir"
    configure_complexes "$dir"
    configure_hosts "$dir"
    configure_pe "$dir"
    for q in "${QUEUES[@]}"; do configure_queue "$dir" "$q"; done
    rm -rf "$dir"
}

# The exec host is usable once it reports a load (qhost prints "-" before).
execd_reporting() {
    qhost -h "$HOST" 2>/dev/null | awk -v h="$HOST" '$1 == h && $4 != "-" {ok = 1} END {exit !ok}'
}

cmd_up() {
    [[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts daemons)"
    if installed && qmaster_alive && execd_alive && configured; then
        log "already up (qmaster pid $(pid_of "$QMASTER_PID"), execd pid $(pid_of "$(execd_pid_file)"))"
        return 0
    fi
    installed || install_packages
    fix_host_name
    if ! qmaster_alive; then
        log "starting sge_qmaster"
        /usr/sbin/sge_qmaster
        wait_until 60 "sge_qmaster to answer" qconf -sh
    fi
    configured && execd_alive || configure
    if ! execd_alive; then
        log "starting sge_execd"
        /usr/sbin/sge_execd
    fi
    wait_until 60 "sge_execd on $HOST to report its load" execd_reporting
    # Queue instances left in error state by an earlier run would hold every job.
    qmod -cq '*' >/dev/null 2>&1 || true
    log "up: queues ${QUEUES[*]}, ngpus=$NGPUS ncpus=$NCPUS slots=$SLOTS notify=$NOTIFY"
}

cmd_down() {
    [[ $(id -u) == 0 ]] || die "run as root"
    local qpid epid
    qpid=$(pid_of "$QMASTER_PID")
    epid=$(pid_of "$(execd_pid_file)")
    if ! alive "$qpid" && ! alive "$epid"; then
        log "already down"
        return 0
    fi
    if alive "$qpid"; then
        qdel -f -u '*' >/dev/null 2>&1 || true
        if alive "$epid"; then
            log "stopping sge_execd (and its jobs)"
            qconf -kej "$HOST" >/dev/null 2>&1 || true
        fi
        log "stopping sge_qmaster"
        qconf -km >/dev/null 2>&1 || true
    elif alive "$epid"; then
        # No qmaster to relay the shutdown: signal execd by its own pid file.
        log "stopping sge_execd (no qmaster): SIGTERM to pid $epid"
        kill -TERM "$epid" 2>/dev/null || true
    fi
    wait_until 60 "sge_execd (pid $epid) to exit" not alive "$epid"
    wait_until 60 "sge_qmaster (pid $qpid) to exit" not alive "$qpid"
    log "down"
}

cmd_status() {
    local up=0
    if ! installed; then
        echo "Grid Engine: not installed"
        return 3
    fi
    if qmaster_alive; then echo "sge_qmaster: running (pid $(pid_of "$QMASTER_PID"))"; up=$((up + 1)); else echo "sge_qmaster: stopped"; fi
    if execd_alive; then echo "sge_execd:   running (pid $(pid_of "$(execd_pid_file)"))"; up=$((up + 1)); else echo "sge_execd:   stopped"; fi
    if [[ $up == 2 ]]; then
        qstat -f -u '*' || true
        return 0
    fi
    return 3
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
