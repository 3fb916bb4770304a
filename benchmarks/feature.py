"""The feature-scale benchmark (issue 15, "Scale"): a generated film of N minutes (scenes of
12 s, five shots each, three sets visited in turn, a cast of three with changes of outfit and
props moved) rendered by `worldgen render FILM --passes none` at 256x144, each length in its own
process with a fresh store. Measures wall time, cost per film minute and peak memory against
film length; with --ray, the shortest length again on local Ray (a worker per core; scenes as
tasks).

The film spec is generated here (`film_spec`), not planned from a screenplay; the same
arguments generate the same spec. A length of m minutes has ceil(60 m / 12) scenes (10 minutes:
50 scenes, 250 shots).

    python benchmarks/feature.py --minutes 1 5 10          # the issue's lengths
    python benchmarks/feature.py --minutes 0.5 1 --fps 12  # what a shared 2-core machine affords

Writes benchmarks/results/feature.{json,md}."""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, finish_record, machine_line, start_record, warm_up_cli  # noqa: E402

SCENE_S = 12.0
SHOTS_PER_SCENE = 5
TIMES = ("morning", "day", "afternoon", "dusk", "night")

SETS = [
    {
        "id": "harbour",
        "description": "a stone harbour wall by the sea",
        "objects": [
            {"id": "quay", "shape": "plane", "size": [40, 40], "appearance": "grey stone"},
            {
                "id": "crate",
                "shape": "box",
                "size": [0.6, 0.4, 0.4],
                "position": [2.5, 0.2, -1.5],
                "appearance": "wooden crate",
            },
            {
                "id": "bollard",
                "shape": "cylinder",
                "radius": 0.2,
                "height": 0.6,
                "position": [-2.5, 0.3, -1.5],
                "appearance": "black iron",
            },
            {
                "id": "nets",
                "shape": "box",
                "size": [1.2, 0.3, 0.8],
                "position": [3, 0.15, 1.5],
                "appearance": "green fishing nets",
            },
        ],
    },
    {
        "id": "boathouse",
        "interior": True,
        "objects": [
            {"id": "floor", "shape": "plane", "size": [12, 12], "appearance": "wooden planks"},
            {
                "id": "bench",
                "shape": "box",
                "size": [2, 0.9, 0.6],
                "position": [0, 0.45, -3],
                "appearance": "wooden workbench",
            },
            {"id": "lamp", "shape": "sphere", "radius": 0.15, "position": [0, 2.4, -2], "appearance": "glowing lamp"},
            {
                "id": "barrel",
                "shape": "cylinder",
                "radius": 0.3,
                "height": 0.8,
                "position": [-3, 0.4, -2.5],
                "appearance": "oak barrel",
            },
        ],
        "lights": [{"type": "point", "position": [0, 2.2, -2], "intensity": 4, "color": "#ffd9a0"}],
    },
    {
        "id": "cafe",
        "interior": True,
        "objects": [
            {"id": "tiles", "shape": "plane", "size": [12, 12], "appearance": "checkered tiles"},
            {
                "id": "table",
                "shape": "cylinder",
                "radius": 0.5,
                "height": 0.75,
                "position": [0, 0.375, -2.5],
                "appearance": "white marble",
            },
            {
                "id": "counter",
                "shape": "box",
                "size": [3, 1.1, 0.6],
                "position": [-2.5, 0.55, -4],
                "appearance": "dark wood counter",
            },
        ],
        "lights": [{"type": "point", "position": [0, 2.5, -2], "intensity": 5, "color": "#fff0d0"}],
    },
]

CAST = [
    {
        "id": "mara",
        "build": "slim",
        "appearance": "brown skin, black curly hair",
        "wardrobe": {"oilskin": "yellow oilskin jacket, dark trousers", "coat": "long blue wool coat, dark trousers"},
    },
    {
        "id": "tomas",
        "appearance": "pale skin, grey hair",
        "wardrobe": {"work": "green jumper, brown trousers", "best": "black suit, white shirt"},
    },
    {
        "id": "ines",
        "height": 1.62,
        "appearance": "olive skin, long dark hair",
        "wardrobe": {"dress": "red dress", "rain": "grey raincoat, blue jeans"},
    },
]


def film_spec(minutes: float, fps: float, width: int = 256, height: int = 144) -> dict:
    """A film of `minutes`: scenes of SCENE_S seconds cycling over the sets and times of day,
    two of the cast in each, an outfit changed every 7th scene, a prop moved every 5th."""
    n = max(1, math.ceil(minutes * 60 / SCENE_S))
    shot_s = SCENE_S / SHOTS_PER_SCENE
    scenes = []
    for k in range(n):
        the_set = SETS[k % len(SETS)]
        a, b = CAST[k % 3], CAST[(k + 1) % 3]
        cast = [
            {"id": a["id"], "position": [-0.8, 0, 0], "facing": 90},
            {"id": b["id"], "position": [0.8, 0, 0], "facing": 270},
        ]
        if k % 7 == 6:
            cast[0]["wardrobe"] = list(a["wardrobe"])[(k // 7) % 2]
        scene = {"id": f"sc{k:03d}", "set": the_set["id"], "time": TIMES[k % len(TIMES)], "cast": cast}
        if k % 5 == 4:
            prop = the_set["objects"][1]
            x, y, z = prop["position"]
            scene["changes"] = [{"id": prop["id"], "position": [x + (0.5 if (k // 5) % 2 else -0.5), y, z]}]
        cams = [
            {"move": "static", "position": [0, 2.2, 6], "look_at": [0, 1, 0]},  # establishing
            {"move": "static", "position": [0.3, 1.6, 3.2], "look_at": [0, 1.2, 0]},  # two-shot
            {"move": "static", "position": [1.6, 1.6, 1.8], "look_at": [-0.8, 1.4, 0]},  # single on a
            {"move": "static", "position": [-1.6, 1.6, 1.8], "look_at": [0.8, 1.4, 0]},  # single on b
            {"move": "orbit", "target": the_set["objects"][1]["id"], "radius": 5, "height": 2, "degrees": 30},
        ]
        scene["shots"] = [
            {"id": f"sc{k:03d}_{j}", "start": round(j * shot_s, 6), "duration": shot_s, "camera": cams[j]}
            for j in range(SHOTS_PER_SCENE)
        ]
        scenes.append(scene)
    return {
        "worldgen": 2,
        "title": f"Feature benchmark, {minutes:g} min",
        "seed": 7,
        "render": {"width": width, "height": height, "fps": fps},
        "style": "quiet, natural light",
        "cast": CAST,
        "sets": SETS,
        "scenes": scenes,
    }


CHILD = """
import json, resource, sys
from worldgen.cli import main
args, rss_file = json.loads(sys.argv[1]), sys.argv[2]
sys.argv = ["worldgen", "render", *args]
code = 0
try:
    main()
except SystemExit as e:
    code = e.code or 0
usage = {"self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "code": code}
usage["children_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(rss_file, "w").write(json.dumps(usage))
"""


def run_length(minutes: float, fps: float, executor: str, workdir: Path) -> dict:
    import yaml

    spec = film_spec(minutes, fps)
    path = workdir / f"feature_{minutes:g}min.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = workdir / f"out_{minutes:g}_{executor}"
    args = [str(path), "-o", str(out), "-q", "--passes", "none", "--executor", executor]
    rss_file = workdir / f"rss_{minutes:g}_{executor}.json"
    env = {**os.environ, "WORLDGEN_CACHE": str(workdir / f"cache_{minutes:g}_{executor}"), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    cmd = [sys.executable, "-c", CHILD, json.dumps(args), str(rss_file)]
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if not rss_file.exists():
        raise SystemExit(f"render of {minutes} min failed: {r.stderr.strip()[-500:]}")
    rss = json.loads(rss_file.read_text())
    if rss["code"] != 0:
        raise SystemExit(f"render of {minutes} min failed: {r.stderr.strip()[-500:]}")
    man = json.loads((out / "manifest.json").read_text())
    frames = sum(s["frames"] for s in man["scenes"])
    return {
        "minutes": minutes,
        "executor": executor,
        "scenes": len(man["scenes"]),
        "shots": len(man["shots"]),
        "frames": frames,
        "size": [man["width"], man["height"]],
        "fps": man["fps"],
        "frames_rendered": man["frames_this_run"]["rendered"],
        "wall_s": round(wall, 2),
        "s_per_film_minute": round(wall / (frames / man["fps"] / 60), 2),
        "frames_per_s": round(frames / wall, 2),
        "peak_rss_mb": round(rss["self_kb"] / 1024, 1),
        "peak_child_rss_mb": round(rss["children_kb"] / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 5, 10])
    ap.add_argument("--fps", type=float, default=24)
    ap.add_argument(
        "--ray", action="store_true", help="also render the shortest length on local Ray (a worker per core)"
    )
    a = ap.parse_args()
    record = start_record("feature", minutes=a.minutes, fps=a.fps)
    record["warm_up_s"] = round(warm_up_cli(), 2)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for m in a.minutes:
            rows.append(run_length(m, a.fps, "local", Path(d)))
            print(json.dumps(rows[-1]), flush=True)
        if a.ray:
            rows.append(run_length(min(a.minutes), a.fps, "ray", Path(d)))
            print(json.dumps(rows[-1]), flush=True)
    result = {"rows": rows, "record": finish_record(record)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "feature.json").write_text(json.dumps(result, indent=1))
    lines = [
        "# Feature scale: film length against cost and memory",
        "",
        "A film spec generated by benchmarks/feature.py (scenes of 12 s, 5 shots each, 3 sets in turn, "
        "a cast of 3), rendered with `worldgen render FILM --passes none`, one process per length, "
        "fresh store; peak memory is the render process's maximum resident set; the last column is the largest of its child processes (ffmpeg and the like; Ray workers are not its children).",
        machine_line(result["record"]),
        "",
        "| minutes | executor | scenes | shots | frames | size @ fps | wall (s) | s per film minute | frames/s | peak RSS (MB) | largest child (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['minutes']:g} | {r['executor']} | {r['scenes']} | {r['shots']} | {r['frames']} | "
            f"{r['size'][0]}x{r['size'][1]} @ {r['fps']:g} | {r['wall_s']} | {r['s_per_film_minute']} | "
            f"{r['frames_per_s']} | {r['peak_rss_mb']} | {r['peak_child_rss_mb']} |"
        )
    (RESULTS / "feature.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
