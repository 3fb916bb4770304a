"""scripts/setup.sh on a disk without room for a first set-up: one clear line before anything is
installed, instead of pip's OSError half-way through torch (how a full disk once failed CI)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_setup_refuses_a_disk_without_room_for_a_first_set_up(tmp_path):
    venv = tmp_path / "not" / "yet" / "venv"  # its folders do not exist either
    env = os.environ | {"WORLDGEN_VENV": str(venv), "WORLDGEN_SETUP_NEED_GB": "100000000"}
    r = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr.startswith("setup: ") and r.stderr.strip().endswith("a first set-up needs about 100000000 GB")
    assert f"GB free on the disk of {venv};" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert r.stdout == "" and not venv.exists()  # nothing installed, nothing made
