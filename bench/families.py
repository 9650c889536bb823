#!/usr/bin/env python3
"""One CPU training step per encoder family: hecjob against transformers, side by side in one run.

Usage (after `cargo build --release`):
    .venv/bin/python bench/families.py [--steps 20] [--threads 2] [--families bert,roberta,...]

For each family a base-size model of the family's own shape (BERT-base, RoBERTa-base,
XLM-R-base, DistilBERT-base, ELECTRA-base, DeBERTa-v3-base, ModernBERT-base: their published
configs' dimensions and options, random weights, the family's tiny fixture tokenizer) trains
for --steps steps at batch 16 on GoEmotions train texts, max_length 64, fp32, --threads CPU threads:
- hecjob: `hecjob train … --transformer-model DIR --random-init --max-steps N --no-eval
  --length-buckets false` (its own recipe: AdamW, linear schedule, dropout 0.1; batches of random
  texts padded to their longest, as the peer's, not its default length buckets, which pad less);
  the rate is metrics.json's timed steps.
- transformers: `AutoModelForSequenceClassification.from_config` (multi-label), AdamW, the same
  batch size, max length and texts, padded to the longest text in the batch, in a subprocess of its
  own (`--peer`) so its peak RSS is its own.
Both sides skip 3 warm-up steps. Prints a Markdown table (steps/s, the ratio, peak RSS) and
writes it to OUT/summary.md. The models are random: this measures speed, not quality.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests/fixtures/golden"

# Each family: the fixture whose tokenizer it uses, and its base config (the published model's
# dimensions and options; vocab sizes as published, larger than the tiny tokenizers' ids).
BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
FAMILIES = {
    "bert": ("tiny-bert", dict(model_type="bert", vocab_size=30522, max_position_embeddings=512,
                               type_vocab_size=2, **BASE)),
    "roberta": ("tiny-roberta-cls", dict(model_type="roberta", vocab_size=50265, max_position_embeddings=514,
                                         type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                                         layer_norm_eps=1e-5, **BASE)),
    "xlm-roberta": ("tiny-xlm-roberta", dict(model_type="xlm-roberta", vocab_size=250002,
                                             max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                                             bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5, **BASE)),
    "distilbert": ("tiny-distilbert", dict(model_type="distilbert", vocab_size=30522, dim=768, n_layers=6,
                                           n_heads=12, hidden_dim=3072, max_position_embeddings=512)),
    "electra": ("tiny-electra", dict(model_type="electra", vocab_size=30522, embedding_size=768,
                                     max_position_embeddings=512, type_vocab_size=2, **BASE)),
    "deberta-v2": ("tiny-deberta-v3", dict(model_type="deberta-v2", vocab_size=128100,
                                           max_position_embeddings=512, type_vocab_size=0,
                                           relative_attention=True, position_buckets=256,
                                           max_relative_positions=-1, pos_att_type=["p2c", "c2p"],
                                           norm_rel_ebd="layer_norm", share_att_key=True,
                                           position_biased_input=False, layer_norm_eps=1e-7,
                                           pad_token_id=0, **BASE)),
    "modernbert": ("tiny-modernbert", dict(model_type="modernbert", vocab_size=50368, hidden_size=768,
                                           num_hidden_layers=22, num_attention_heads=12,
                                           intermediate_size=1152, max_position_embeddings=8192,
                                           global_attn_every_n_layers=3, local_attention=128,
                                           global_rope_theta=160000.0, local_rope_theta=10000.0,
                                           pad_token_id=50283, bos_token_id=50281, eos_token_id=50282,
                                           cls_token_id=50281, sep_token_id=50282)),
}
BATCH, MAX_LENGTH, WARMUP = 16, 64, 3


def texts_of(data: Path, n: int) -> list[str]:
    with open(data / "train.tsv", newline="", encoding="utf-8") as f:
        return [row[0] for _, row in zip(range(n), csv.reader(f, delimiter="\t"))]


def make_model_dir(family: str, out: Path) -> Path:
    from transformers import AutoConfig

    fixture, shape = FAMILIES[family]
    d = out / f"{family}-base"
    d.mkdir(parents=True, exist_ok=True)
    shape = dict(shape)
    cfg = AutoConfig.for_model(shape.pop("model_type"), num_labels=28,
                               problem_type="multi_label_classification", **shape)
    cfg.save_pretrained(d)
    for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        if (FIXTURES / fixture / f).exists():
            shutil.copy(FIXTURES / fixture / f, d / f)
    return d


def peer(model_dir: Path, data: Path, steps: int, threads: int) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    cfg = AutoConfig.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_config(cfg, dtype=torch.float32)
    model.train()
    tok = AutoTokenizer.from_pretrained(model_dir)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.01)
    texts = texts_of(data, BATCH * steps)
    gen = torch.Generator().manual_seed(0)
    t0 = None
    for step in range(steps):
        if step == WARMUP:
            t0 = time.perf_counter()
        batch = texts[step * BATCH:(step + 1) * BATCH]
        enc = tok(batch, padding="longest", truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
        labels = (torch.rand(len(batch), 28, generator=gen) < 0.1).float()
        loss = model(**enc, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - t0
    print(json.dumps({"steps": steps, "steps_per_second": (steps - WARMUP) / seconds,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def ours(hecjob: str, model_dir: Path, data: Path, steps: int, threads: int, out: Path) -> dict:
    run = out / f"{model_dir.name}-hecjob"
    shutil.rmtree(run, ignore_errors=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), NSLOTS=str(threads))
    cmd = [hecjob, "train", *(str(data / f) for f in ["train.tsv", "dev.tsv", "test.tsv", "emotions.txt"]),
           str(run), "--transformer-model", str(model_dir), "--random-init", "--max-steps", str(steps),
           "--epochs", "1", "--no-eval", "--batch-size", str(BATCH), "--max-length", str(MAX_LENGTH),
           "--length-buckets", "false", "--log-every", "10"]
    log = out / f"{model_dir.name}-hecjob.log"
    with open(log, "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, check=True, timeout=3600)
    m = json.loads((run / "metrics.json").read_text())
    e = m["epochs"][0]
    return {"steps": e["steps"], "steps_per_second": (e["steps"] - WARMUP) / e["timed_seconds"],
            "peak_rss_bytes": m["memory"].get("peak_rss_bytes")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hecjob", default=str(REPO / "target/release/hecjob"))
    ap.add_argument("--data", default=os.environ.get("GOEMOTIONS_DIR", str(REPO / "../shared/data/goemotions")))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--out", default=str(REPO / "bench/out" / time.strftime("families-%Y%m%d-%H%M%S")))
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    a = ap.parse_args()
    data = Path(a.data)
    if a.peer:
        peer(Path(a.peer), data, a.steps, a.threads)
        return
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows = ["| family | hecjob steps/s | transformers steps/s | hecjob ÷ transformers | peak RSS hecjob | peak RSS transformers |",
            "|---|---|---|---|---|---|"]
    for family in a.families.split(","):
        d = make_model_dir(family, out)
        p = subprocess.run([sys.executable, __file__, "--peer", str(d), "--data", str(data), "--steps",
                            str(a.steps), "--threads", str(a.threads)], capture_output=True, text=True,
                           timeout=3600, env=dict(os.environ, OMP_NUM_THREADS=str(a.threads)))
        if p.returncode != 0:
            print(p.stderr, file=sys.stderr)
            raise SystemExit(f"{family}: the transformers side failed")
        theirs = json.loads(p.stdout.strip().splitlines()[-1])
        mine = ours(a.hecjob, d, data, a.steps, a.threads, out)
        gb = lambda b: f"{b / 2**30:.2f} GiB" if b else "-"  # noqa: E731
        row = (f"| {family} | {mine['steps_per_second']:.3f} | {theirs['steps_per_second']:.3f} | "
               f"{mine['steps_per_second'] / theirs['steps_per_second']:.2f}× | {gb(mine['peak_rss_bytes'])} | "
               f"{gb(theirs['peak_rss_bytes'])} |")
        print(row, flush=True)
        rows.append(row)
    (out / "summary.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
