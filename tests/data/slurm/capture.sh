#!/usr/bin/env bash
# Capture the Slurm outputs the parsers in src/scheduler/slurm/ are tested on, from the
# real Slurm 22.05 of scripts/slurm-local.sh (run `scripts/slurm-local.sh up` first).
# Rerun it to refresh the files; job ids in them change, the tests do not depend on ids
# beyond what each file itself contains. Takes about 2 minutes (one job runs into its
# 1-minute time limit).
#
#   tests/data/slurm/capture.sh [OUTDIR]     (default: the directory of this script)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE}
export SLURM_CONF=${SLURM_CONF:-/var/lib/slurm-local/etc/slurm.conf}
WORK=$(mktemp -d /tmp/slurm-capture.XXXXXX)
cd "$WORK"
# The squeue fields hecjob asks for (src/scheduler/slurm/squeue.rs: FORMAT).
SQ='%i|%F|%K|%T|%r|%P|%M|%l|%S|%N|%j'
# The sacct fields (src/scheduler/slurm/sacct.rs: FIELDS).
SA='JobID,JobIDRaw,JobName,Partition,State,ExitCode,Elapsed,MaxRSS,TotalCPU,Submit,Start,End,NodeList'

cat >arr.sh <<'EOF'
#!/bin/bash
#SBATCH -J arr
#SBATCH -o arr.%A_%a.out
#SBATCH --mem=200M
#SBATCH --time=00:05:00
python3 -c 'x = bytearray(60 * 1024 * 1024); import time; time.sleep(6)'
exit $(( SLURM_ARRAY_TASK_ID == 3 ? 3 : 0 ))
EOF
cat >requeue.sh <<'EOF'
#!/bin/bash
#SBATCH -J rq
#SBATCH -o rq.%A_%a.out
#SBATCH --open-mode=append
#SBATCH --time=00:01:00
#SBATCH --signal=B:USR1@45
#SBATCH --requeue
worker() { trap 'exit 99' USR1; [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] && exit 0; while :; do sleep 1; done; }
worker & pid=$!
trap 'kill -USR1 $pid' USR1
while :; do wait $pid; rc=$?; kill -0 $pid 2>/dev/null || break; done
if [ $rc = 99 ]; then scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"; exit 0; fi
exit $rc
EOF

# sbatch --parsable: a plain job and an array.
# `fails` ends before its dependants are submitted, so they show DependencyNeverSatisfied.
sbatch --parsable -J fails --wrap 'exit 1' >fails.id
sleep 4
sbatch --parsable --array=1-4%2 arr.sh >"$OUT/sbatch_parsable_array.txt"
ARR=$(cat "$OUT/sbatch_parsable_array.txt")
# Two jobs wanting every CPU: one waits for Resources, the next for Priority.
sbatch --parsable -J big --cpus-per-task=8 --mem=100M --wrap 'sleep 8' >big.id
sbatch --parsable -J big2 --cpus-per-task=8 --mem=100M --wrap 'sleep 2' >big2.id
sbatch --parsable -J after-fail --dependency=afterok:"$(cat fails.id)" --wrap true >after.id
sbatch --parsable -J after-fail-kill --kill-on-invalid-dep=yes --dependency=afterok:"$(cat fails.id)" --wrap true >after-kill.id
sbatch --parsable -J waits --dependency=afterok:"$(cat big.id)" --wrap true >waits.id
sbatch --parsable -J gpu -p gpu-short --gres=gpu:nvidia_h200_nvl:1 --mem=100M --wrap 'echo "$CUDA_VISIBLE_DEVICES"; sleep 2' >gpu.id
sbatch --parsable --array=1-2 requeue.sh >rq.id
sbatch --parsable -J timeout --time=1 --wrap 'sleep 300' >timeout.id
sbatch --parsable -J cancelled --begin=now+600 --wrap true >cancelled.id
sleep 3
# One snapshot with running array tasks, JobArrayTaskLimit, Resources/Priority,
# Dependency and DependencyNeverSatisfied (after-fail waits; after-fail-kill is gone).
# -t all: jobs that ended within MinJobAge are listed too (with -j alone they are not).
squeue -r -h -t all -j "$ARR,$(cat ./*.id | paste -sd,)" -o "$SQ" >"$OUT/squeue.txt"
scancel "$(cat cancelled.id)"
scancel "$(cat after.id)"
# squeue of ids it does not know: exit 1 and this message on stderr.
{ squeue -h -j 999999 -o "$SQ" 2>&1; echo "rc=$?"; } >"$OUT/squeue_unknown.txt" || true
# scancel of an unknown id: exit 0, silent (the error shows only with -v).
{ scancel 999999 2>&1; echo "rc=$?"; scancel -v 999999 2>&1; echo "rc=$?"; } >"$OUT/scancel_unknown.txt"

# sbatch --test-only: where and when, or why never.
sbatch --test-only -p gpu-short --gres=gpu:nvidia_h200_nvl:1 --mem=10G --time=02:00:00 --wrap true >"$OUT/test_only_ok.txt" 2>&1 || true
test_only_fail() { # NAME ARGS...
    local name=$1 rc=0
    shift
    sbatch --test-only "$@" --wrap true >"$OUT/test_only_$name.txt" 2>&1 || rc=$?
    echo "rc=$rc" >>"$OUT/test_only_$name.txt"
}
test_only_fail gpu_type -p gpu-short --gres=gpu:nvidia_l40:1
test_only_fail partition -p gpu-long
test_only_fail cpus --cpus-per-task=64
test_only_fail time -p gpu-short --time=13:00:00
test_only_fail mem --mem=4T

# Wait for everything (the timeout job ends at its 1-minute limit), then sacct.
for _ in $(seq 1 120); do
    [[ -z $(squeue -h -o %i) ]] && break
    sleep 2
done
sleep 2
IDS="$ARR,$(cat big.id),$(cat big2.id),$(cat fails.id),$(cat after.id),$(cat after-kill.id),$(cat waits.id),$(cat gpu.id),$(cat timeout.id),$(cat cancelled.id)"
sacct --parsable2 -j "$IDS" --format="$SA" >"$OUT/sacct.txt"
# -D: every run of a requeued task, the first ones as REQUEUED.
sacct --parsable2 -D -j "$(cat rq.id)" --format="$SA" >"$OUT/sacct_requeue.txt"
{ sacct --parsable2 -j 1 --format=JobID,Restarts 2>&1; echo "rc=$?"; } >"$OUT/sacct_no_restarts_field.txt" || true
# sbatch's own option table: every option extra_directives may name is classified
# (src/scheduler/slurm/directives.rs: every_sbatch_option_is_classified).
sbatch --help >"$OUT/sbatch_help.txt" 2>&1
rm -rf "$WORK"
echo "captured into $OUT"
