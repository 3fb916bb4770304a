"""Plan quality per planner backend over benchmarks/plan_prompts.yaml.

    python benchmarks/plan_quality.py [--backends rules,embedded] [--llm-url URL] [--limit N]

For every prompt: plan it, then judge the spec with worldgen.plan.check, independently of the
solver: valid spec (loads, passes the spec's gates), relations the prompt states satisfied
(view-dependent ones in the main camera's rendered instance pass), camera move as asked
(classified from the shot's camera poses), interpenetrations (oriented boxes at several
instants), and seconds per plan. Writes benchmarks/results/plan_quality.{json,md,png}."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def find(spec, category):
    cands = [o.id for o in spec.world.objects if o.label == category or o.id == category
             or o.id.startswith(category + "_") and "_leg_" not in o.id]
    return sorted(cands, key=len)[0] if cands else None


def judge(text, case):
    import numpy as np
    from worldgen.camera import ShotCamera
    from worldgen.plan.check import classify_move, first_frame, interpenetrations, relation_holds
    from worldgen.spec import load_spec_text
    from worldgen.world_checks import check_geometry
    from worldgen.world import World
    spec = load_spec_text(text, "<plan>")
    world = World(spec)
    check_geometry(spec, world)
    frame = first_frame(spec, world)
    rels = []
    for a, rel, b in case.get("relations", []):
        ia, ib = find(spec, a), find(spec, b)
        rels.append(bool(ia and ib and relation_holds(world, frame, ia, rel, ib)))
    shot = spec.shots[0]
    move = classify_move(ShotCamera(shot, world, spec.render.width, spec.render.height), world, shot.duration)
    inside = {(o.id, o.parent) for o in spec.world.objects if o.parent}
    total = sum(s.duration for s in spec.shots)
    times = tuple(np.linspace(0, total, 9))
    clashes = [c for c in interpenetrations(world, times=times) if (c[0], c[1]) not in inside and (c[1], c[0]) not in inside]
    counts_ok = all(sum(1 for o in spec.world.objects if o.label == k) == v for k, v in case.get("count", {}).items())
    return {"valid": True, "relations": rels, "move": move, "move_ok": move == case["move"],
            "interpenetrations": len({(a, b) for a, b, _ in clashes}), "counts_ok": counts_ok,
            "shots": len(spec.shots), "shots_ok": len(spec.shots) == case.get("shots", len(spec.shots))}


def run_backend(name, cases, url=None):
    from worldgen.errors import WorldgenError
    from worldgen.plan.planner import make_backend, plan_spec
    backend = None
    if name == "embedded":
        backend = make_backend("embedded", seed=0)
    elif name == "http":
        backend = make_backend(url=url, seed=0)
    rows = []
    for case in cases:
        t0 = time.perf_counter()
        try:
            text, report = plan_spec(case["prompt"], llm="none" if backend is None else "embedded", backend=backend,
                                     seed=0, width=320, height=180, fps=12)
            secs = time.perf_counter() - t0
            row = {"prompt": case["prompt"], "kind": case["kind"], "seconds": round(secs, 2),
                   "attempts": report.attempts, **judge(text, case)}
        except (WorldgenError, Exception) as e:  # noqa: BLE001 - a failure is a data point here
            row = {"prompt": case["prompt"], "kind": case["kind"], "seconds": round(time.perf_counter() - t0, 2),
                   "valid": False, "error": f"{type(e).__name__}: {str(e)[:200]}", "relations": [False] * len(
                       case.get("relations", [])), "move_ok": False, "interpenetrations": 0}
        rows.append(row)
        print(f"[{name}] {'ok ' if row['valid'] else 'ERR'} {row['seconds']:5.1f}s rel={row['relations']} "
              f"move={row.get('move')}/{case['move']} {case['prompt'][:60]}", flush=True)
    return rows


def summarise(rows):
    rels = [r for row in rows for r in row["relations"]]
    single = [row["seconds"] for row in rows if row["kind"] != "story"]
    return {"prompts": len(rows), "valid_rate": sum(r["valid"] for r in rows) / len(rows),
            "relation_rate": (sum(rels) / len(rels)) if rels else None, "relations": len(rels),
            "move_rate": sum(r["move_ok"] for r in rows) / len(rows),
            "interpenetrations": sum(r["interpenetrations"] for r in rows),
            "counts_rate": sum(r.get("counts_ok", False) for r in rows if r["kind"] == "count") /
            max(1, sum(1 for r in rows if r["kind"] == "count")),
            "story_shots_rate": sum(r.get("shots_ok", False) for r in rows if r["kind"] == "story") /
            max(1, sum(1 for r in rows if r["kind"] == "story")),
            "seconds_median": statistics.median(r["seconds"] for r in rows),
            "seconds_max_single_shot": max(single) if single else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="rules,embedded")
    ap.add_argument("--llm-url", default=None)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    cases = yaml.safe_load((ROOT / "benchmarks" / "plan_prompts.yaml").read_text())[:args.limit]
    out = {"machine": {"cores": os.cpu_count(), "cpu": platform.machine(), "python": platform.python_version(),
                       "date": time.strftime("%Y-%m-%d")}, "backends": {}}
    for b in args.backends.split(","):
        rows = run_backend(b, cases, args.llm_url)
        out["backends"][b] = {"summary": summarise(rows), "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "plan_quality.json").write_text(json.dumps(out, indent=1) + "\n")
    write_md(out)
    plot(out)


def pct(x):
    return "n/a" if x is None else f"{100 * x:.1f} %"


def write_md(out):
    m = out["machine"]
    lines = ["# Plan quality", "", f"{len(next(iter(out['backends'].values()))['rows'])} prompts from "
             f"`benchmarks/plan_prompts.yaml`; {m['cores']} CPU cores ({m['cpu']}), {m['date']}; one run.", "",
             "| backend | valid specs | relations satisfied | camera moves as asked | interpenetrations | counts right | "
             "story shot counts | s/plan (median) | s/plan (max, single shot) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, b in out["backends"].items():
        s = b["summary"]
        lines.append(f"| {name} | {pct(s['valid_rate'])} | {pct(s['relation_rate'])} ({s['relations']}) | "
                     f"{pct(s['move_rate'])} | {s['interpenetrations']} | {pct(s['counts_rate'])} | "
                     f"{pct(s['story_shots_rate'])} | {s['seconds_median']:.2f} | {s['seconds_max_single_shot']:.2f} |")
    lines += ["", "Targets (embedded model, 2 CPU cores): 100 % valid, ≥ 95 % relations, ≥ 95 % moves, "
              "0 interpenetrations, ≤ 30 s per single-shot plan.", "", "## Misses", ""]
    for name, b in out["backends"].items():
        for r in b["rows"]:
            if not r["valid"] or not all(r["relations"]) or not r["move_ok"] or r["interpenetrations"]:
                why = r.get("error") or f"relations {r['relations']}, move {r.get('move')}, clashes {r['interpenetrations']}"
                lines.append(f"- {name}: \"{r['prompt']}\": {why}")
    (RESULTS / "plan_quality.md").write_text("\n".join(lines) + "\n")


def plot(out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    names = list(out["backends"])
    keys = [("valid_rate", "valid"), ("relation_rate", "relations"), ("move_rate", "moves")]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    x = np.arange(len(keys))
    for i, n in enumerate(names):
        s = out["backends"][n]["summary"]
        ax.bar(x + (i - (len(names) - 1) / 2) * 0.35, [100 * (s[k] or 0) for k, _ in keys], 0.35, label=n)
    ax.set_xticks(x, [lab for _, lab in keys])
    ax.set_ylim(0, 105)
    ax.axhline(95, color="grey", lw=0.8, ls="--")
    ax.set_ylabel("%")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "plan_quality.png", dpi=110)


if __name__ == "__main__":
    sys.exit(main())
