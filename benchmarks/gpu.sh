#!/usr/bin/env bash
# Every figure only a GPU shows, in one run of at most 8 minutes on one GPU, written to
# benchmarks/results/gpu.md (with the JSON and Markdown of each step next to it):
#   1. all passes through pyrender over EGL on the GPU, 512² and 1024², ~100k triangles
#      (benchmarks/passes_throughput.py --backends gl,raycast);
#   2. the diffusion painters at real size with random-weight SD1.5-architecture models: look
#      development per object, baked frames/s, refined frames/s, per-frame s/frame, peak GPU
#      memory, and one refined shot at the film's own size (512x288) checked for breakage
#      (benchmarks/diffusion_cost.py --real-size --full-shot).
#
#   bash benchmarks/gpu.sh                 # on a machine with a CUDA device
#   bash benchmarks/gpu.sh --dry-run DIR   # every step at the smallest size on the CPU, into DIR (tests)
#
# Without a CUDA device it prints one line and exits 2. Python: $PYTHON, else .venv/bin/python.
set -uo pipefail
cd "$(dirname "$0")/.."
BUDGET_S=${WORLDGEN_GPU_BUDGET_S:-480}
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
DRY=0
OUT=benchmarks/results
if [ "${1:-}" = "--dry-run" ]; then
    DRY=1
    OUT=${2:?gpu.sh: --dry-run needs an output folder}
elif [ $# -gt 0 ]; then
    echo "gpu.sh: unknown argument '$1' (use --dry-run DIR or nothing)" >&2
    exit 2
fi
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [ $DRY = 0 ]; then
    if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
        echo "gpu.sh: no CUDA device here (torch.cuda.is_available() is False): nothing measured" >&2
        exit 2
    fi
fi

START=$(date +%s)
left() { echo $(( BUDGET_S - ($(date +%s) - START) )); }
TIMED_OUT=()
step() {  # step NAME SECONDS COMMAND...: run with a time limit; a step that runs out is named in gpu.md
    local name=$1 limit=$2
    shift 2
    local remaining
    remaining=$(left)
    (( limit > remaining - 15 )) && limit=$(( remaining - 15 ))
    if (( limit < 10 )); then
        TIMED_OUT+=("$name"); return
    fi
    echo "gpu.sh: $name (at most ${limit} s)" >&2
    timeout --kill-after=10 "$limit" "$@"
    local rc=$?
    if [ $rc = 124 ] || [ $rc = 137 ]; then TIMED_OUT+=("$name"); fi
    if [ $rc != 0 ] && [ $rc != 124 ] && [ $rc != 137 ]; then echo "gpu.sh: $name exited $rc" >&2; fi
}

rm -f "$OUT/gpu_passes.json" "$OUT/diffusion_real.json"
if [ $DRY = 1 ]; then
    step passes 120 "$PY" benchmarks/passes_throughput.py --tiny --repeats 1 --backends gl,raycast \
        --out "$OUT" --name gpu_passes
    step diffusion 300 "$PY" benchmarks/diffusion_cost.py --smoke --repeats 1 --full-shot --out "$OUT" \
        --name diffusion_real
    "$PY" benchmarks/gpu_report.py "$OUT" --dry-run --timed-out "${TIMED_OUT[@]}" >/dev/null
else
    export WORLDGEN_GL=egl
    step passes 100 "$PY" benchmarks/passes_throughput.py --backends gl,raycast --sizes 512,1024 \
        --triangles 100000 --frames 12 --repeats 3 --no-stages --out "$OUT" --name gpu_passes
    step diffusion 600 "$PY" benchmarks/diffusion_cost.py --real-size --device cuda --seconds 0.5 --repeats 3 \
        --full-shot --out "$OUT"
    "$PY" benchmarks/gpu_report.py "$OUT" --timed-out "${TIMED_OUT[@]}" >/dev/null
fi
echo "gpu.sh: wrote $OUT/gpu.md in $(( $(date +%s) - START )) s" >&2
