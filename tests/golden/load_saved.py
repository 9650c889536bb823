#!/usr/bin/env python3
"""Check that transformers loads a model directory hecjob saved, as hecjob computes it.

Usage:
    .venv/bin/python tests/golden/load_saved.py MODEL_DIR INPUTS.safetensors

MODEL_DIR is what `LoadedModel::save` wrote; INPUTS.safetensors holds `input_ids` and
`attention_mask` (I64 [B,L]) and `probs` (F32 [B,labels]: hecjob's sigmoid probabilities for them).
AutoModelForSequenceClassification must load MODEL_DIR as the class config.json names, with no key
missing, unexpected or mismatched, keep config.json's labels and problem_type, and give the same
probabilities within 1e-4 (eager attention, fp32, CPU). Prints the largest difference; exits 1 if a
check fails. Runs offline.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoModelForSequenceClassification  # noqa: E402

TOL = 1e-4


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model_dir, inputs = Path(sys.argv[1]), load_file(sys.argv[2])
    transformers.logging.set_verbosity_error()
    cfg = json.loads((model_dir / "config.json").read_text())
    model, info = AutoModelForSequenceClassification.from_pretrained(
        model_dir, attn_implementation="eager", output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        sys.exit(f"FAIL: loading {model_dir}: {problems}")
    if type(model).__name__ != cfg["architectures"][0]:
        sys.exit(f"FAIL: loaded as {type(model).__name__}, config.json names {cfg['architectures']}")
    if model.config.problem_type != "multi_label_classification" or model.config.num_labels != len(cfg["id2label"]):
        sys.exit(f"FAIL: problem_type {model.config.problem_type}, {model.config.num_labels} labels")
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
    delta = (torch.sigmoid(logits) - inputs["probs"]).abs().max().item()
    print(f"{type(model).__name__}: max |dprob| {delta:.2e}")
    if not delta <= TOL:
        sys.exit(f"FAIL: probabilities differ by {delta} > {TOL}")
    print("OK")


if __name__ == "__main__":
    main()
