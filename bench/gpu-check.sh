#!/usr/bin/env bash
# The GPU checks as ONE prepared script for a lent GPU machine that has python3
# with torch + transformers but no Rust toolchain and no network.
# Here:   bench/pack-device.sh      (strips + gzips the release binary, data, MiniLM fp16)
# There:  bench/gpu-check.sh        (carry .device/pack; results land in $OUT)
set -uo pipefail
cd "$(dirname "$0")/.."
P=.device/pack
W=/tmp/hecjob-gpu
mkdir -p "$W/data" "$W/minilm"
gunzip -c "$P/hecjob.gz" > "$W/hecjob" && chmod +x "$W/hecjob"
for f in train dev test; do gunzip -c "$P/data/$f.tsv.gz" > "$W/data/$f.tsv"; done
cp "$P/data/emotions.txt" "$W/data/"
cp "$P"/minilm/*.json "$P"/minilm/*.txt "$W/minilm/"
gunzip -c "$P/minilm/model.safetensors.gz" > "$W/minilm/model.safetensors"
export LD_LIBRARY_PATH
LD_LIBRARY_PATH=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$W/hecjob" --version
D=$W/data
# Smoke test first: the CUDA path end to end in 30 steps, with its log shown.
timeout 120 "$W/hecjob" train "$D/train.tsv" "$D/dev.tsv" "$D/test.tsv" "$D/emotions.txt" "$W/smoke" \
  --cuda --transformer-model "$W/minilm" --epochs 1 --max-steps 30 --log-every 10 --no-eval 2>&1 | tail -8
# Whatever happens, what ran comes back: summary and logs are packed on exit.
finish() {
  python3 bench/compare.py "$W/bench" > "$OUT/summary.md" 2>&1
  cat "$OUT/summary.md"
  tar czf "$OUT/bench-logs.tgz" --exclude='*.safetensors' --exclude='tokenizer.json' --exclude='vocab.txt' -C "$W" bench
}
trap finish EXIT
HECJOB=$W/hecjob PYTHON=python3 GOEMOTIONS_DIR=$D MINILM_DIR=$W/minilm BENCH_OUT=$W/bench \
  RUN_TIMEOUT=${RUN_TIMEOUT:-150} timeout "${TOTAL_TIMEOUT:-470}" bench/run.sh "${BENCH_MODE:-gpu}" > /dev/null
grep -h -E "peak|epoch [0-9]+:|macro-average" "$W"/bench/*.log | head -60
