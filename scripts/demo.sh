#!/usr/bin/env bash
# Set up (idempotent) and render the demo film on the embedded defaults (CPU, no weights).
# Output: out/lighthouse/film.mp4, contact_sheet.png, frames, passes and manifest.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/worldgen render scenes/lighthouse.yaml -o out/lighthouse "$@"
