#!/usr/bin/env python3
"""Training-step and tokenizer goldens for every classifier fixture, from transformers.

Usage:
    .venv/bin/python tests/golden/make_step_goldens.py tests/fixtures/golden GOEMOTIONS_DIR [fixture…]

For each fixture directory holding a `*ForSequenceClassification` checkpoint (config.json's
`architectures`) and a tokenizer.json, writes two files beside its goldens:

- `train_step.json`: one training step on the fixture's `batch_all` golden batch with dropout off
  (`model.eval()` with gradients on is exactly dropout 0): the mean BCE-with-logits loss against fixed
  labels, the global gradient norm, and each parameter's gradient norm by transformers' name (the Rust
  side names its variables the same way, so a mismatch points at the tensor).
- `dev_tokens.json`: the fast tokenizer (`AutoTokenizer`, the family's post-processor) on every
  GoEmotions dev text, truncated at MAX_LENGTH: a sha256 over all rows' ids, and one short digest per
  text so a failing test names the first text that differs. Attention masks are ones over each row
  (padding is hecjob's batcher's, checked by the hidden-state goldens).

Deterministic: fixed labels, fp32 CPU, eager attention, one thread. Fixture names after GOEMOTIONS_DIR
limit a run to them, leaving the others' files untouched.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402

# Short enough that the tiny tokenizers (vocabularies of a few hundred pieces) truncate many texts.
MAX_LENGTH = 32


def is_classifier(d: Path) -> bool:
    if not (d / "config.json").exists() or not (d / "tokenizer.json").exists():
        return False
    archs = json.loads((d / "config.json").read_text()).get("architectures") or []
    return any(a.endswith("ForSequenceClassification") for a in archs)


def fixed_labels(rows: int, labels: int) -> torch.Tensor:
    """Several positives per row, every label used somewhere."""
    return torch.tensor([[1.0 if (7 * i + 3 * j) % 5 == 0 else 0.0 for j in range(labels)]
                         for i in range(rows)])


def train_step(d: Path) -> dict:
    golden = json.loads((d / "golden.json").read_text())
    tensors = load_file(str(d / "golden.safetensors"))
    model = AutoModelForSequenceClassification.from_pretrained(d, attn_implementation="eager")
    model.eval()  # dropout off; gradients still flow
    ids = tensors["batch_all.input_ids"]
    mask = tensors["batch_all.attention_mask"]
    labels = fixed_labels(ids.shape[0], model.config.num_labels)
    logits = model(input_ids=ids, attention_mask=mask).logits
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    loss.backward()
    norms = {n: p.grad.norm().item() for n, p in model.named_parameters() if p.grad is not None}
    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters()
                           if p.grad is not None)).item()
    return {
        "batch": "batch_all",
        "text_ids": golden["batches"]["batch_all"]["text_ids"],
        "labels": labels.int().tolist(),
        "loss": loss.item(),
        "grad_norm": total,
        "grad_norms": norms,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    }


def dev_texts(data: Path) -> list[str]:
    # csv's quoting rules, as hecjob's GoEmotions reader and pandas read them: about a thousand
    # texts are quoted ("" for a quote inside).
    with open(data / "dev.tsv", newline="", encoding="utf-8") as f:
        return [row[0] for row in csv.reader(f, delimiter="\t")]


def dev_tokens(d: Path, texts: list[str]) -> dict:
    tok = AutoTokenizer.from_pretrained(d)
    rows = tok(texts, truncation=True, max_length=MAX_LENGTH)["input_ids"]
    whole = hashlib.sha256()
    digests = []
    for r in rows:
        line = (",".join(map(str, r)) + "\n").encode()
        whole.update(line)
        digests.append(hashlib.sha256(line).hexdigest()[:8])
    return {
        "max_length": MAX_LENGTH,
        "texts": len(texts),
        "truncated": sum(len(r) == MAX_LENGTH for r in rows),
        "row_format": "ids joined by ',' then '\\n', sha256",
        "sha256": whole.hexdigest(),
        "row_digests": digests,
        "tokenizer_class": type(tok).__name__,
        "versions": {"transformers": transformers.__version__},
    }


def write(path: Path, value: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, indent=1) + "\n")
    tmp.replace(path)


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out, data = Path(sys.argv[1]), Path(sys.argv[2])
    only = set(sys.argv[3:])
    texts = dev_texts(data)
    for d in sorted(p for p in out.iterdir() if p.is_dir()):
        if (only and d.name not in only) or not is_classifier(d):
            continue
        step = train_step(d)
        write(d / "train_step.json", step)
        toks = dev_tokens(d, texts)
        write(d / "dev_tokens.json", toks)
        print(f"{d.name}: loss {step['loss']:.6f} grad norm {step['grad_norm']:.6f}; "
              f"{toks['texts']} dev texts, {toks['truncated']} truncated")


if __name__ == "__main__":
    main()
