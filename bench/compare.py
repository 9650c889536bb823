#!/usr/bin/env python3
"""Summarise a bench/run.sh output folder: one row per run, ratios against the peer.

Peer runs are `<name>.json` (hf_reference.py's JSON line); hecjob runs are
`<name>/metrics.json`. Rates exclude the first 3 steps on both sides. Seconds per
epoch are measured for full epochs and extrapolated (steps per epoch / rate) for
runs cut short with --max-steps; the table says which.
"""
import json
import math
import sys
from pathlib import Path

STEPS_PER_EPOCH = math.ceil(43410 / 16)


def gb(b):
    return f"{b / 1e9:.2f} GB" if b else "-"


def peer_row(name, d):
    return {
        "name": name, "side": "HF transformers", "steps": d["steps"],
        "rate": d.get("steps_per_second"),
        "epoch_s": STEPS_PER_EPOCH / d["steps_per_second"] if d.get("steps_per_second") else None,
        "epoch_kind": "extrapolated",
        "gpu": d.get("nvml_peak_process_bytes") or d.get("peak_gpu_mem_bytes"),
        "gpu_alloc": d.get("peak_gpu_mem_bytes"),
        "rss": d.get("peak_rss_bytes"), "f1": d.get("test_macro_f1"),
    }


def ours_row(name, m):
    e = m["epochs"][0] if m.get("epochs") else None
    if not e:
        return None
    timed = e.get("timed_seconds")
    rate = (e["steps"] - 3) / timed if timed else e["steps_per_second"]
    full = e["steps"] >= STEPS_PER_EPOCH
    mem = m.get("memory", {})
    test = m.get("test") or {}
    return {
        "name": name, "side": "hecjob", "steps": e["steps"], "rate": rate,
        "epoch_s": e["seconds"] if full else STEPS_PER_EPOCH / rate,
        "epoch_kind": "measured" if full else "extrapolated",
        "gpu": mem.get("peak_gpu_process_used_bytes"), "gpu_alloc": None,
        "rss": mem.get("peak_rss_bytes"),
        "f1": (test.get("macro_avg") or {}).get("f1"),
        "epochs": len(m["epochs"]),
        # share of the epoch's steps the host spent waiting for the GPU (near 0: launch-bound)
        "wait": e["gpu_wait_seconds"] / e["seconds"] if e.get("gpu_wait_seconds") is not None else None,
    }


def main(out):
    out = Path(out)
    rows = []
    for p in sorted(out.glob("*.json")):
        try:
            rows.append(peer_row(p.stem, json.loads(p.read_text().strip().splitlines()[-1])))
        except Exception as e:  # a failed run: say so, keep going
            rows.append({"name": p.stem, "side": f"failed ({e})"})
    for p in sorted(out.glob("*/metrics.json")):
        r = ours_row(p.parent.name, json.loads(p.read_text()))
        if r:
            rows.append(r)
    peers = {r["name"].split("-")[0]: r for r in rows if r.get("side") == "HF transformers"}
    gpu = (out / "gpu.txt").read_text().strip() if (out / "gpu.txt").exists() else "CPU"
    print(f"# {out.name}: {gpu}\n")
    print("| run | side | steps | steps/s | s/epoch | peak GPU (NVML, process) | peak RSS | test macro-F1 | speed vs peer | host waited for GPU |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "rate" not in r:
            print(f"| {r['name']} | {r['side']} | | | | | | | | |")
            continue
        peer = peers.get(r["name"].split("-")[0])
        ratio = f"{r['rate'] / peer['rate']:.2f}×" if peer and peer.get("rate") and r.get("rate") and r is not peer else ""
        f1 = f"{r['f1']:.3f}" if r.get("f1") is not None else "-"
        es = f"{r['epoch_s']:.1f} ({r['epoch_kind']})" if r.get("epoch_s") else "-"
        rate = f"{r['rate']:.2f}" if r.get("rate") else "-"
        wait = f"{r['wait'] * 100:.0f} %" if r.get("wait") is not None else "-"
        print(f"| {r['name']} | {r['side']} | {r['steps']} | {rate} | {es} | {gb(r.get('gpu'))} | {gb(r.get('rss'))} | {f1} | {ratio} | {wait} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/out")
