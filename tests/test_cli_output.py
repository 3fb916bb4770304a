"""What the commands print is whole lines, wherever the clone lives and however narrow the
terminal: every command runs here from a folder whose path is over 150 characters, with
COLUMNS=40 and stdout a pipe, and each path, count and error must come out on one line.
Help text wraps once, at the console's width: a docstring's own line breaks do not survive."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import textwrap

import pytest

SPEC = """
worldgen: 1
title: small
seed: 3
render: {width: 32, height: 24, fps: 4}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20], appearance: "grass"}
    - {id: hut, shape: box, size: [2, 2, 2], position: [0, 1, 0], appearance: "red brick"}
shots:
  - {id: wide, duration: 0.5, camera: {move: orbit, target: hut, radius: 9, height: 3, degrees: 40}}
"""
WIDTH = 40


@pytest.fixture(scope="module")
def deep(tmp_path_factory):
    """A folder with a long path (a clone in a deep folder, a long user name), holding a spec."""
    d = tmp_path_factory.mktemp("out") / ("a-folder-with-a-rather-long-name-" * 2) / ("and-one-more-long-folder-" * 3)
    d.mkdir(parents=True)
    assert len(str(d)) > 150
    (d / "small.yaml").write_text(textwrap.dedent(SPEC).lstrip())
    return d


def cli(deep, *args):
    env = dict(os.environ, COLUMNS=str(WIDTH), WORLDGEN_CACHE=str(deep / "cache"))
    env.pop("WORLDGEN_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "worldgen", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=deep,
        env=env,
        timeout=600,
    )  # the timeout catches a hang, not slowness


def line_with(text: str, start: str) -> str:
    """The one line of `text` that starts with `start` (which is longer than the terminal)."""
    found = [line for line in text.splitlines() if line.startswith(start)]
    assert len(found) == 1, (start, text)
    return found[0]


def test_paths_and_counts_are_whole_lines(deep):
    spec = deep / "small.yaml"
    r = cli(deep, "validate", spec)
    assert r.returncode == 0 and r.stdout == f"ok {spec}: 'small', 2 objects, 0 characters, 1 shots, 0.5 s\n"

    bad = deep / "bad.yaml"
    bad.write_text(spec.read_text().replace('appearance: "grass"', 'colour: "grass"'))
    r = cli(deep, "validate", bad)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith(f"error: {bad}:7: world.objects[0].colour"), r.stderr

    out = deep / "render"
    r = cli(deep, "render", spec, "-o", out)  # with its progress bar, which goes to stderr
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"2 frames (2 rendered, 0 already there) in {out}",
        f"film: {out / 'film.mp4'}",
        f"contact sheet: {out / 'contact_sheet.png'}",
    ]

    mine = deep / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    r = cli(deep, "render", spec, "-o", mine, "-q")
    assert r.returncode == 3 and r.stderr == (
        f"error: {mine}: folder exists and is not a worldgen render; use --overwrite or another folder\n"
    )

    store = deep / "cache" / "frames"
    r = cli(deep, "cache")
    assert re.fullmatch(r"\d+ files, \d+\.\d MB", line_with(r.stdout, f"frame store {store}: ").split(": ", 1)[1])
    assert line_with(r.stdout, "textures ") == f"textures {deep / 'cache' / 'textures'}: 0 files, 0.0 MB"
    r = cli(deep, "cache", "--prune")
    assert re.fullmatch(rf"removed \d+ entries \(\d+\.\d MB\) from {re.escape(str(store))}", r.stdout.strip())
    assert line_with(cli(deep, "cache").stdout, "frame store ") == f"frame store {store}: 0 files, 0.0 MB"

    glb = deep / "small.glb"
    r = cli(deep, "export", spec, "--to", glb)
    assert r.returncode == 0 and r.stdout.startswith(f"wrote {glb}: ") and len(r.stdout.splitlines()) == 1

    planned = deep / "planned.yaml"
    r = cli(deep, "plan", "a red car next to a tree", "-o", planned, "--llm", "none")
    assert r.returncode == 0 and line_with(r.stdout, f"wrote {planned}: ").endswith(" s)")

    r = cli(deep, "bench", out, "-o", deep / "bench", "--no-video")
    assert r.returncode == 0, r.stderr
    assert line_with(r.stdout, "results: ") == f"results: {deep / 'bench' / 'results.md'}"
    assert line_with(r.stdout, "page: ") == f"page: {deep / 'bench' / 'index.html'}"
    assert re.fullmatch(
        r"small / procedural: 2 frames, E_warp\(1\) \S+, wall \d+\.\d s", line_with(r.stdout, "small / procedural: ")
    )


def test_doctor_lines_are_whole(deep, monkeypatch):
    """Each check is one line (a missing one adds one 'fix:' line), its finding whole: the
    encoder's path from a deep folder, say. (The checks themselves: test_render.py.)"""
    from typer.testing import CliRunner

    from worldgen import doctor
    from worldgen.cli import app

    exe = str(deep / "venv" / "imageio_ffmpeg" / "binaries" / "ffmpeg-linux-x86_64-v9.0.2")
    ok, found = doctor.run_probe(f"print({exe!r})")  # the probe's own report is kept whole
    assert ok and found == exe
    checks = [
        {"name": "video encoder (libx264)", "ok": True, "detail": exe, "fix": "pip install imageio-ffmpeg"},
        {
            "name": "diffusion models (offline)",
            "ok": False,
            "detail": f"none in {deep / 'hub'}",
            "fix": f"hf download stable-diffusion-v1-5/stable-diffusion-v1-5 into {deep / 'hub'} (see docs)",
        },
    ]
    monkeypatch.setattr(doctor, "run_checks", lambda: checks)
    r = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": str(WIDTH)})
    assert r.exit_code == 0 and r.output.splitlines() == [
        f"ok  video encoder (libx264): {exe}",
        f"--  diffusion models (offline): none in {deep / 'hub'}",
        f"      fix: hf download stable-diffusion-v1-5/stable-diffusion-v1-5 into {deep / 'hub'} (see docs)",
    ]


def paragraphs(doc: str) -> list[str]:
    """A docstring's paragraphs, each as one line of single-spaced words."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", inspect.cleandoc(doc))]


def help_text(args: list[str], columns: int) -> str:
    from typer.testing import CliRunner

    from worldgen.cli import app

    r = CliRunner().invoke(app, args, env={"COLUMNS": str(columns), "TERMINAL_WIDTH": None})
    assert r.exit_code == 0, r.output
    return r.output


def commands():
    from worldgen.cli import app

    return [(c.name or c.callback.__name__, c.callback) for c in app.registered_commands]


@pytest.mark.parametrize("name,callback", commands(), ids=[n for n, _ in commands()])
def test_help_wraps_once_at_the_console_width(name, callback):
    """Wide, each paragraph of the docstring is one line (a line break of the source file would
    start a new line); narrow, lines break only where the next word does not fit."""
    wide = [" ".join(line.strip(" │").split()) for line in help_text([name, "--help"], 2000).splitlines()]
    for p in paragraphs(callback.__doc__):
        assert any(p in line for line in wide), (p, wide)
    # the list of commands shows the first paragraph, on one line too
    listing = [" ".join(line.strip(" │").split()) for line in help_text(["--help"], 2000).splitlines()]
    assert f"{name} {paragraphs(callback.__doc__)[0]}" in listing

    narrow = help_text([name, "--help"], WIDTH).splitlines()
    top = narrow[narrow.index(next(line for line in narrow if line.startswith(" Usage:"))) + 1 :]
    top = [line.strip() for line in top[: next(i for i, line in enumerate(top) if line.startswith("╭"))]]
    assert max(len(line) for line in narrow) <= WIDTH
    for line, after in zip(top, top[1:]):
        if line and after:  # inside a paragraph: the next word would not have fitted on this line
            assert len(line) + 1 + len(after.split()[0]) > WIDTH - 2, (line, after)
    text = "".join(top)  # every word in order (a word longer than a line is folded)
    for p in paragraphs(callback.__doc__):
        assert p.replace(" ", "") in text.replace(" ", ""), (p, top)
