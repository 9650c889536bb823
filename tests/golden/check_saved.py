#!/usr/bin/env python3
"""Check that transformers reads a classifier directory hecjob saved as hecjob does.

Usage:
    .venv/bin/python tests/golden/check_saved.py MODEL_DIR PREDICTIONS_JSON

MODEL_DIR is a model hecjob trained and saved (config.json, model.safetensors, tokenizer.json,
hecjob.json); PREDICTIONS_JSON is `hecjob predict MODEL_DIR TEXT... --top-k ALL --json` for some texts.
Loads MODEL_DIR with AutoModelForSequenceClassification (eager and SDPA attention), asserting that no
weight is missing or unexpected and that the class is the one config.json's `architectures` names;
runs each text alone (truncated at hecjob.json's max_length) and compares the sigmoid probabilities
with hecjob's. Prints the largest difference; exits 1 above 1e-4.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402

TOL = 1e-4


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    d, predictions = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    max_length = json.loads((d / "hecjob.json").read_text())["max_length"]
    wanted = json.loads((d / "config.json").read_text())["architectures"][0]
    tok = AutoTokenizer.from_pretrained(d)
    worst = 0.0
    for attn in ["eager", "sdpa"]:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            d, attn_implementation=attn, output_loading_info=True)
        assert type(model).__name__ == wanted, (type(model).__name__, wanted)
        assert not info["missing_keys"] and not info["unexpected_keys"], info
        model.eval()
        for record in predictions:
            enc = tok([record["text"]], truncation=True, max_length=max_length, return_tensors="pt")
            enc.pop("token_type_ids", None)
            with torch.no_grad():
                probs = torch.sigmoid(model(**enc).logits)[0]
            assert len(record["labels"]) == probs.numel(), "predict with --top-k every label"
            for label in record["labels"]:
                p = probs[model.config.label2id[label["label"]]].item()
                worst = max(worst, abs(p - label["probability"]))
    print(f"{wanted} ({d}): max |Δp| against hecjob predict {worst:.2e}")
    if not worst <= TOL:
        sys.exit(f"FAIL: above {TOL}")


if __name__ == "__main__":
    main()
