#!/usr/bin/env bash
# Layer checks (see scripts/check_layers.py): nothing outside src/scheduler/
# names a scheduler's own module, no import cycle between the top-level
# modules of src/ or between the files of src/scheduler/, and the on-disk
# contract (src/jobdir/) importing only util.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/check_layers.py src
