"""Feature scale (issue 15): a long screenplay planned and rendered as one film, on this machine.

A screenplay of the requested length is generated (deterministically: locations, a cast of
three, dialogue and action drawn from fixed lists by a seeded generator), planned with
`worldgen plan --screenplay`, resized to the benchmark's frame size and rendered with
`worldgen render --passes none` into a fresh store. Each length is timed separately with its
peak memory (the render process's maximum resident size), so memory can be read against film
length. Writes benchmarks/results/feature.{json,md}.

    python benchmarks/feature.py --minutes 1 5 10 [--size 256x144] [--executor local]

Film lengths, shot and scene counts in the tables come from the planned specs and the
renders' manifests, not from the arguments.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, finish_record, fresh_cache, machine_line, start_record, warm_up_cli  # noqa: E402

LOCATIONS = [
    ("EXT.", "HARBOUR WALL", "A stone wall over grey water. Mooring posts, a crate, a coil of rope."),
    ("INT.", "BOATHOUSE", "A workbench, a lamp, a radio on a shelf, a chair by the door."),
    ("EXT.", "MARKET SQUARE", "Stalls with awnings, a fountain, a bench under a tree."),
    ("INT.", "KITCHEN", "A table, two chairs, a stove, a window over the sink."),
    ("EXT.", "CLIFF PATH", "A fence along the edge, a bench, a signpost, tall grass."),
    ("INT.", "LIGHTHOUSE ROOM", "A round room: a table, a lamp, a ladder, a chest."),
]
TIMES = ["DAY", "DAY", "MORNING", "EVENING", "NIGHT", "DUSK"]
CAST = [
    ("ANNA", "(30s), in a red raincoat"),
    ("BEN", "(40s), in a grey jumper"),
    ("CLARA", "(20s), in a green jacket"),
]
LINES = [
    "The tide turns in an hour.",
    "Then we wait for it.",
    "Did you see the light last night?",
    "Only for a moment, out past the rocks.",
    "Someone has been here before us.",
    "The chair was by the window this morning.",
    "You worry too much about small things.",
    "Small things are all we have left.",
    "Bring the lamp, it is getting dark.",
    "I will go down to the water.",
    "Wait for me at the end of the wall.",
    "The radio has been quiet all day.",
    "He said he would write.",
    "Then he will write.",
    "We should have left yesterday.",
    "Nobody leaves in weather like this.",
]
ACTIONS = [
    "{a} walks to the bench and sits.",
    "{a} waves to {b} from across the room.",
    "{a} points at the window.",
    "{b} turns to face {a}.",
    "{a} looks at {b} for a long moment.",
]


def make_screenplay(scenes: int, seed: int = 7) -> str:
    """A Fountain screenplay of `scenes` scenes, the same text for the same arguments."""
    rng = random.Random(seed)
    out = ["Title: A Long Tide", "Author: benchmarks/feature.py", ""]
    introduced: set[str] = set()
    for n in range(scenes):
        prefix, place, setting = LOCATIONS[n % len(LOCATIONS)]
        time_word = TIMES[(n // len(LOCATIONS)) % len(TIMES)]
        a, b = rng.sample([c[0] for c in CAST], 2)
        out += [f"{prefix} {place} - {time_word}", ""]
        intro = []
        for name in (a, b):
            desc = dict(CAST)[name] if name not in introduced else ""
            intro.append(f"{name} {desc}".strip() if desc else name.capitalize())
            introduced.add(name)
        out += [f"{setting} {intro[0]} and {intro[1]} are here.", ""]
        out += [rng.choice(ACTIONS).format(a=a.capitalize(), b=b.capitalize()), ""]
        for k in range(3):
            speaker = a if k % 2 == 0 else b
            out += [speaker, rng.choice(LINES), ""]
    return "\n".join(out) + "\n"


def _plan(script: Path, film: Path, size: tuple[int, int]) -> float:
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "worldgen", "plan", "--screenplay", str(script), "-o", str(film)]
    subprocess.run(cmd, check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    data = yaml.safe_load(film.read_text())
    data.setdefault("render", {}).update({"width": size[0], "height": size[1]})
    film.write_text(yaml.safe_dump(data, sort_keys=False))
    return seconds


def _render(film: Path, out: Path, executor: str) -> dict:
    """One render in a child process: wall seconds and the child's peak resident memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cmd = [sys.executable, "-m", "worldgen", "render", str(film), "-o", str(out), "--passes", "none"]
    cmd += ["--executor", executor] if executor != "local" else []
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    manifests = [json.loads(p.read_text()) for p in sorted(out.glob("scenes/*/manifest.json"))]
    frames = sum(s["frame_count"] for m in manifests for s in m.get("shots", []))
    return {
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "peak_is_new": peak_kb > before,  # ru_maxrss is a maximum over all children so far
        "frames_rendered": frames,
        "film_bytes": (out / "film.mp4").stat().st_size if (out / "film.mp4").exists() else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 5.0, 10.0])
    ap.add_argument("--size", default="256x144")
    ap.add_argument("--executor", default="local", choices=["local", "ray"])
    ap.add_argument("--seconds-per-scene", type=float, default=12.0, help="first guess; re-planned to length")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    record = start_record("feature", size=list(size), executor=args.executor)
    record["warm_up_s"] = round(warm_up_cli(), 2)
    rows = []
    for minutes in sorted(args.minutes):  # shortest first: ru_maxrss only grows, so each peak is its own
        with tempfile.TemporaryDirectory() as d, fresh_cache():
            d = Path(d)
            scenes = max(1, round(minutes * 60 / args.seconds_per_scene))
            for _ in range(3):  # plan, measure the planned length, re-plan with a corrected scene count
                (d / "script.fountain").write_text(make_screenplay(scenes))
                plan_s = _plan(d / "script.fountain", d / "film.yaml", size)
                data = yaml.safe_load((d / "film.yaml").read_text())
                shots = [s for sc in data["scenes"] for s in sc["shots"]]
                length = sum(s["duration"] for s in shots)
                if abs(length - minutes * 60) <= 0.05 * minutes * 60:
                    break
                scenes = max(1, round(scenes * minutes * 60 / length))
            r = _render(d / "film.yaml", d / "out", args.executor)
            rows.append(
                {
                    "target_minutes": minutes,
                    "film_s": round(length, 1),
                    "scenes": len(data["scenes"]),
                    "shots": len(shots),
                    "sets": len(data["sets"]),
                    "plan_s": round(plan_s, 2),
                    **r,
                    "s_per_film_minute": round(r["wall_s"] / (length / 60), 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    out = {"size": list(size), "executor": args.executor, "rows": rows, "record": finish_record(record)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "feature.json").write_text(json.dumps(out, indent=1))
    lines = [
        "# Feature scale: a generated screenplay planned and rendered as one film",
        "",
        machine_line(out["record"]),
        "",
        f"Frames {size[0]}x{size[1]}, `--passes none`, executor {args.executor}, fresh store, one run per "
        "length (benchmarks/feature.py). Targets (issue 15): a 10-minute feature within 30 min wall on "
        "2 cores, peak memory flat in length and at most 4 GB.",
        "",
        "| film | scenes | shots | sets | plan s | render wall s | s per film minute | peak memory MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['film_s'] / 60:.1f} min | {r['scenes']} | {r['shots']} | {r['sets']} | {r['plan_s']} | "
            f"{r['wall_s']} | {r['s_per_film_minute']} | {r['peak_rss_mb']} |"
        )
    (RESULTS / "feature.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
