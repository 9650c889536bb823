#!/usr/bin/env python3
"""A model directory hecjob saved, run by transformers as a user would run it.

Usage:
    .venv/bin/python tests/golden/hf_probabilities.py MODEL_DIR TEXTS.json OUT.json

Loads `AutoTokenizer.from_pretrained(MODEL_DIR)` and
`AutoModelForSequenceClassification.from_pretrained(MODEL_DIR)`, tokenizes TEXTS (a JSON list of
strings) with `truncation=True` (the saved tokenizer_config.json's model_max_length), runs batches of
64 with padding in fp32 on the CPU, and writes each text's label probabilities: sigmoid for
`problem_type: multi_label_classification`, softmax otherwise. Also writes what it loaded (the
classes, problem_type, labels) and the model card README.md as huggingface_hub's own `ModelCard`
loader reads it (its metadata and eval results), so the Rust side can check them.
tests/it/hf_round_trip.rs runs it.
"""
from __future__ import annotations

import json
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from huggingface_hub import ModelCard  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402


def main() -> None:
    model_dir, texts_path, out_path = sys.argv[1:4]
    texts = json.load(open(texts_path, encoding="utf-8"))
    tok = AutoTokenizer.from_pretrained(model_dir)
    model, info = AutoModelForSequenceClassification.from_pretrained(model_dir, output_loading_info=True)
    model.eval()
    multi = model.config.problem_type == "multi_label_classification"
    probs = []
    with torch.no_grad():
        for i in range(0, len(texts), 64):
            enc = tok(texts[i:i + 64], truncation=True, padding=True, return_tensors="pt")
            logits = model(**enc).logits
            p = torch.sigmoid(logits) if multi else torch.softmax(logits, dim=-1)
            probs.extend(p.tolist())
    card = ModelCard.load(os.path.join(model_dir, "README.md"))
    card_view = {
        "data": card.data.to_dict(),
        "eval_results": [
            {"task_type": r.task_type, "dataset_type": r.dataset_type, "dataset_split": r.dataset_split,
             "metric_type": r.metric_type, "metric_value": r.metric_value, "metric_name": r.metric_name}
            for r in (card.data.eval_results or [])
        ],
        "text": card.text,
    }
    json.dump({
        "card": card_view,
        "model_class": type(model).__name__,
        "tokenizer_class": type(tok).__name__,
        "problem_type": model.config.problem_type,
        "labels": [model.config.id2label[i] for i in range(model.config.num_labels)],
        "missing_keys": sorted(info["missing_keys"]),
        "unexpected_keys": sorted(info["unexpected_keys"]),
        "model_max_length": tok.model_max_length,
        "probabilities": probs,
    }, open(out_path, "w"))


if __name__ == "__main__":
    main()
