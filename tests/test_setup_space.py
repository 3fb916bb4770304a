"""Disk room (a full disk once failed CI): scripts/setup.sh on a disk without room for a first
set-up says so in one line before anything is installed, instead of pip's OSError half-way
through torch; and a test session leaves no frame store behind."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_setup_refuses_a_disk_without_room_for_a_first_set_up(tmp_path):
    venv = tmp_path / "not" / "yet" / "venv"  # its folders do not exist either
    env = os.environ | {"WORLDGEN_VENV": str(venv), "WORLDGEN_SETUP_NEED_GB": "999999"}
    r = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 1
    assert r.stderr.startswith("setup: ") and r.stderr.strip().endswith("a first set-up needs about 999999 GB")
    assert f"GB free on the disk of {venv};" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert r.stdout == "" and not venv.exists()  # nothing installed, nothing made


FAKE_DF = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/asked"
echo "Filesystem     1024-blocks      Used Available Capacity Mounted on"
echo "/dev/vda         264241152 104857600   5242880      96% /"
"""


def _disk_room(tmp_path, need: str):
    """scripts/disk_room.sh with a `df` that reports 5 GB available (5,242,880 KB) of 252 GB."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "df").write_text(FAKE_DF)
    (bin_dir / "df").chmod(0o755)
    env = os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    target = tmp_path / "not" / "yet" / "venv"
    script = ROOT / "scripts" / "disk_room.sh"
    r = subprocess.run(["bash", str(script), str(target), need], env=env, capture_output=True, text=True, timeout=30)
    return r, target, (bin_dir / "asked").read_text().split() if (bin_dir / "asked").exists() else []


def test_disk_room_reads_the_available_column_in_gigabytes(tmp_path):
    r, target, asked = _disk_room(tmp_path, "6")
    assert r.returncode == 1
    assert r.stderr == f"setup: 5 GB free on the disk of {target}; a first set-up needs about 6 GB\n"
    assert asked == ["-Pk", str(tmp_path)]  # the nearest existing parent, in 1024-byte blocks
    r, _, _ = _disk_room(tmp_path, "5")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_disk_room_refuses_a_need_that_is_not_whole_gigabytes(tmp_path):
    for need in ("5.5", "abc", "", "1234567"):
        r, _, _ = _disk_room(tmp_path, need)
        assert r.returncode == 2
        assert (
            r.stderr == f"setup: WORLDGEN_SETUP_NEED_GB must be a whole number of GB (at most 999999), not '{need}'\n"
        )
    r, _, _ = _disk_room(tmp_path, "08")  # decimal, not bash's octal
    assert r.returncode == 1 and r.stderr.endswith("needs about 8 GB\n")


def test_setup_checks_the_disk_while_torch_is_not_installed(tmp_path):
    """An environment whose torch does not import yet (pip failed half-way) gets the check too."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\nexit 1\n")  # imports nothing
    (venv / "bin" / "python").chmod(0o755)
    env = os.environ | {"WORLDGEN_VENV": str(venv), "WORLDGEN_SETUP_NEED_GB": "999999"}
    r = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 1 and r.stderr.strip().endswith("a first set-up needs about 999999 GB"), r.stderr


def test_a_test_session_removes_its_frame_store(tmp_path):
    """Each pytest session renders into a store of its own in the temp folder (conftest.py); it
    is gone when the session's process ends."""
    env = os.environ | {"TMPDIR": str(tmp_path)}
    env.pop("WORLDGEN_KEEP_CACHE", None)
    code = "import os, sys; sys.path.insert(0, 'tests'); import conftest; print(os.environ['WORLDGEN_CACHE'])"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    store = Path(r.stdout.strip())
    assert store.parent == tmp_path and store.name.startswith("worldgen-test-cache-")  # made there...
    assert not store.exists()  # ... and removed
