#!/usr/bin/env bash
# disk_room.sh PATH NEED_GB: is there NEED_GB (a whole number, at most six digits) free on the disk that holds PATH
# (or would: its nearest existing parent's)? Exits 0 if so; else prints one line and exits 1
# (2 for a NEED_GB that is not a whole number). scripts/setup.sh asks it before a first set-up,
# because pip on a full disk fails half-way with an OSError that names neither the disk nor
# the need.
set -euo pipefail
path=$1
need_gb=$2
if ! [[ "$need_gb" =~ ^[0-9]{1,6}$ ]]; then
  echo "setup: WORLDGEN_SETUP_NEED_GB must be a whole number of GB (at most 999999), not '$need_gb'" >&2
  exit 2
fi
disk=$path
while [ ! -d "$disk" ]; do disk=$(dirname "$disk"); done
free_kb=$(df -Pk "$disk" | awk 'NR == 2 {print $4}')
if [ "$free_kb" -lt $((10#$need_gb * 1024 * 1024)) ]; then  # (10#: "08" is eight, not octal)
  echo "setup: $((free_kb / 1024 / 1024)) GB free on the disk of $path; a first set-up needs about $((10#$need_gb)) GB" >&2
  exit 1
fi
