#!/usr/bin/env bash
# bench/checkpoint_cost.sh — the cost of one step checkpoint against one
# training step (issue 21, BENCHMARKS.md "Step checkpoints"), and the cost of
# the per-step reseed of dropout's generator that makes a resume exact.
#
# A BERT-base-shaped model (bench/models/bert-base, random init, the tiny-bert
# fixture's MiniLM tokenizer: the same 30,522-word vocabulary) trains $STEPS
# steps on GoEmotions on $DEVICE twice:
#   1. --checkpoint-every off: seconds per step from metrics.json (the timed
#      steps after the warmup);
#   2. --checkpoint-every 1s: a step checkpoint after nearly every step; the
#      worker logs each commit's size and seconds, which are collected here.
# Then seeding torch's CPU generator (what the worker's tch::manual_seed does
# before every step, besides CUDA's, which only stores a seed) is timed in
# .venv's torch, an upper bound (Python's call overhead included; Python's
# torch.manual_seed adds ~270 µs of checks for other back ends that tch skips;
# `cargo test --lib reseeding_before_every_step -- --nocapture` times tch's).
#
# Environment: HECJOB (binary, default target/release/hecjob), PYTHON,
# GOEMOTIONS_DIR, STEPS (default 12), DEVICE (cpu|cuda, default cpu),
# BATCH (16), MAXLEN (64), BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
HECJOB=${HECJOB:-target/release/hecjob}
PY=${PYTHON:-.venv/bin/python}
DATA=${GOEMOTIONS_DIR:-../shared/data/goemotions}
STEPS=${STEPS:-12}
DEVICE=${DEVICE:-cpu}
BATCH=${BATCH:-16}
MAXLEN=${MAXLEN:-64}
OUT=${BENCH_OUT:-$PWD/bench/out/checkpoint-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/bert-base-shape"
cp bench/models/bert-base/config.json "$OUT/bert-base-shape/"
cp tests/fixtures/golden/tiny-bert/tokenizer.json "$OUT/bert-base-shape/"

run() { # NAME EVERY
  rm -rf "${OUT:?}/$1"
  "$HECJOB" train "$DATA/train.tsv" "$DATA/dev.tsv" "$DATA/test.tsv" "$DATA/emotions.txt" "$OUT/$1" \
    --transformer-model "$OUT/bert-base-shape" --random-init --no-eval --device "$DEVICE" \
    --epochs 1 --max-steps "$STEPS" --batch-size "$BATCH" --max-length "$MAXLEN" \
    --log-every 1000 --checkpoint-every "$2" >"$OUT/$1.log" 2>&1
}
run plain off
run checkpointed 1s

"$PY" - "$OUT" "$STEPS" "$DEVICE" <<'EOF'
import json, re, statistics, sys, time, platform, os
out, steps, device = sys.argv[1], int(sys.argv[2]), sys.argv[3]
m = json.load(open(f"{out}/plain/metrics.json"))
e = m["epochs"][0]
warm = 3  # jobdir::metrics::WARMUP_STEPS
step_s = e["timed_seconds"] / (e["steps"] - warm) if e.get("timed_seconds") else e["seconds"] / e["steps"]
lines = [l for l in open(f"{out}/checkpointed.log") if l.startswith("checkpoint at step")]
pat = re.compile(r": (\d+(?:\.\d+)?) (MiB|GiB) in (\d+\.\d+) s$")
cost = [(float(g[0]) * (1024 if g[1] == "GiB" else 1), float(g[2])) for g in (pat.search(l.strip()).groups() for l in lines)]
secs = [c[1] for c in cost]
import torch
n = 20000
t = time.perf_counter()
g = torch._C.default_generator
for i in range(n):
    g.manual_seed(i)
seed_us = (time.perf_counter() - t) / n * 1e6
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(json.dumps({"device": device, "cpu": cpu, "cores": os.cpu_count(), "step_seconds": step_s,
                  "checkpoints": len(cost), "checkpoint_mib": cost[0][0] if cost else None,
                  "checkpoint_seconds_median": statistics.median(secs) if secs else None,
                  "checkpoint_seconds_max": max(secs) if secs else None, "manual_seed_us": seed_us}))
print()
print("| measure | value |")
print("|---|---|")
print(f"| one training step (batch {os.environ.get('BATCH', '16')}, {device}) | {step_s:.2f} s |")
if secs:
    print(f"| one step checkpoint ({cost[0][0]:.0f} MiB: weights, Adam moments, state) | {statistics.median(secs):.2f} s median, {max(secs):.2f} s max of {len(secs)} |")
    print(f"| checkpoint / step | {statistics.median(secs) / step_s:.2f} |")
print(f"| reseeding the CPU generator (per step, from Python) | {seed_us:.1f} µs ({seed_us / 1e6 / step_s * 100:.4f} % of a step) |")
EOF
