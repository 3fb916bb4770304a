"""Plan quality of three planners side by side, on three prompt sets.

    python benchmarks/plan_quality.py [--planners rules,model,grounded] [--sets own,paraphrase,everyday]
                                      [--model-sets SETS] [--llm-url URL] [--limit N] [--fresh]

Planners: `rules` (the rule reader alone, `--llm none`); `model` (the embedded model's plan
through the solver with no grounding, `--no-grounding`); `grounded` (the default planner: the
model's plan held to the prompt by rules.ground, with a count of what each source supplied).
The two model planners share one model call per prompt: grounding is post-processing, so the
`grounded` planner re-reads the answer the model gave the `model` planner (a repair request
that only grounding makes is a new call).

Sets: `own` (benchmarks/plan_prompts.yaml, the project's prompts), `paraphrase`
(benchmarks/plan_paraphrases.yaml: the same kinds in wording the rule lists do not contain),
`everyday` (benchmarks/plan_everyday.yaml: a held-out set, everyday objects, one relation).

Each spec is judged by worldgen.plan.check, independently of the solver: valid spec, relations
the prompt states (view-dependent ones in the main camera's instance pass; a relation with an
object hidden from that camera fails and is counted as hidden), camera move (classified from
the camera's poses), motions (from the objects' keyframes, as seen from the main camera),
objects present exactly once, colours (the painted colour under the object's instance mask
in a procedural frame, CIEDE2000 against the asked colour), interpenetrations, seconds.

The model's answers are kept in benchmarks/results/plan_quality_answers.json (keyed by the
exact text the model was given), with the seconds each call took and the load average then,
so the judging can be rerun without the model; `--fresh` asks the model again. Writes
benchmarks/results/plan_quality.{json,md,png}."""

from __future__ import annotations

import argparse
import hashlib
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
ANSWERS = RESULTS / "plan_quality_answers.json"
SETS = {"own": "plan_prompts.yaml", "paraphrase": "plan_paraphrases.yaml", "everyday": "plan_everyday.yaml"}
PLANNERS = {
    "rules": "rules alone (--llm none)",
    "model": "model alone (--no-grounding)",
    "grounded": "model + grounding (default)",
}
COLOUR_SIZE = (192, 108)  # the frame the colours are judged in


def head(category: str) -> str:
    return category.lower().replace(" ", "_").split("_")[-1]


def matches(spec, category):
    """Objects (not ground, not a table's legs) the planner made for `category`: the label or
    the id is the category, or names the same head noun (stop_sign ~ sign)."""
    out = []
    for o in spec.world.objects:
        if o.shape == "plane" or (o.parent and "_leg_" in o.id):
            continue
        lab = o.label or ""
        if lab == category or o.id == category or o.id.startswith(category + "_") or head(lab) == head(category):
            out.append(o.id)
    return out


def find(spec, category):
    exact = [o.id for o in spec.world.objects if o.label == category or o.id == category]
    cands = exact or matches(spec, category)
    return min(cands, key=len) if cands else None


def judge(text, case):
    import numpy as np

    from worldgen.camera import ShotCamera
    from worldgen.plan.check import (
        classify_move,
        first_frame,
        interpenetrations,
        motion_direction,
        painted_colours,
        relation_holds,
    )
    from worldgen.spec import load_spec_text
    from worldgen.world_checks import check_geometry
    from worldgen.world import World

    spec = load_spec_text(text, "<plan>")
    world = World(spec)
    check_geometry(spec, world)
    frame = first_frame(spec, world)
    rels, hidden, swapped = [], 0, 0
    for a, rel, b in case.get("relations", []):
        ia, ib = find(spec, a), find(spec, b)
        verdict = relation_holds(world, frame, ia, rel, ib) if ia and ib else False
        hidden += verdict is None
        if verdict is False and ia and ib and rel in ("left_of", "right_of"):
            swapped += bool(relation_holds(world, frame, ia, "right_of" if rel == "left_of" else "left_of", ib))
        rels.append(bool(verdict))
    shot = spec.shots[0]
    rig = ShotCamera(shot, world, spec.render.width, spec.render.height)
    move = classify_move(rig, world, shot.duration)
    inside = {(o.id, o.parent) for o in spec.world.objects if o.parent}
    total = sum(s.duration for s in spec.shots)
    times = tuple(np.linspace(0, total, 9))
    clashes = [
        c for c in interpenetrations(world, times=times) if (c[0], c[1]) not in inside and (c[1], c[0]) not in inside
    ]
    counts_ok = all(sum(1 for o in spec.world.objects if o.label == k) == v for k, v in case.get("count", {}).items())
    objects = {c: len(matches(spec, c)) for c in case.get("objects", [])}
    motions = []
    for m in case.get("motions", []):
        who = find(spec, m[0])
        target = find(spec, m[2]) if len(m) > 2 else None
        motions.append(bool(who) and motion_direction(world, rig, who, target, total) == m[1])
    colours = {}
    if case.get("colours"):
        ids = {c: find(spec, c) for c in case["colours"]}
        got = painted_colours(spec, world, [i for i in ids.values() if i], *COLOUR_SIZE)
        for c, want in case["colours"].items():
            colours[c] = got.get(ids[c]) and got[ids[c]].judge(want)
    return {
        "valid": True,
        "relations": rels,
        "hidden": hidden,
        "swapped": swapped,
        "move": move,
        "move_ok": move == case["move"],
        "interpenetrations": len({(a, b) for a, b, _ in clashes}),
        "counts_ok": counts_ok,
        "objects": objects,
        "objects_ok": all(v == 1 for v in objects.values()),
        "motions": motions,
        "colours": colours,
        "shots": len(spec.shots),
        "shots_ok": len(spec.shots) == case.get("shots", len(spec.shots)),
    }


class Recorded:
    """A model backend whose answers are kept: one model call per (prompt, feedback) serves both
    model planners, and a rerun can judge again without the model."""

    def __init__(self, make, label: str, fresh: bool):
        self.make, self.backend, self.label = make, None, label
        self.book = {} if fresh or not ANSWERS.exists() else json.loads(ANSWERS.read_text())
        self.name, self.model_id = "llama.cpp", None
        self.calls = []  # (seconds, recorded in this run?) per call made by the current plan

    def _live(self):
        if self.backend is None:
            self.backend = self.make()
            self.name, self.model_id = self.backend.name, self.backend.model_id
        return self.backend

    def key(self, idea, feedback):
        from worldgen.plan.llm import few_shot_prompt

        return hashlib.sha256(f"{self.label}\n{few_shot_prompt(idea, feedback)}".encode()).hexdigest()[:24]

    def complete(self, idea, feedback=""):
        k = self.key(idea, feedback)
        if k not in self.book:
            b = self._live()
            t0 = time.perf_counter()
            text = b.complete(idea, feedback)
            self.book[k] = {
                "idea": idea,
                "feedback": feedback,
                "text": text,
                "model": b.model_id,
                "seconds": round(time.perf_counter() - t0, 2),
                "load": [round(x, 2) for x in os.getloadavg()],
                "date": time.strftime("%Y-%m-%d %H:%M"),
            }
            ANSWERS.write_text(json.dumps(self.book, indent=0, sort_keys=True) + "\n")
            self.calls.append((self.book[k]["seconds"], True))
        else:
            self.calls.append((self.book[k]["seconds"], False))
        return self.book[k]["text"]


def run_planner(name, cases, model=None):
    from worldgen.plan.planner import plan_spec

    rows = []
    for case in cases:
        if model is not None:
            model.calls = []
        t0 = time.perf_counter()
        try:
            text, report = plan_spec(
                case["prompt"],
                llm="none",
                backend=model,
                grounding=name != "model",
                seed=0,
                width=320,
                height=180,
                fps=12,
            )
            secs = time.perf_counter() - t0
            row = {
                "prompt": case["prompt"],
                "kind": case["kind"],
                "attempts": report.attempts,
                "provenance": report.provenance,
                "notes": report.notes[:12],
                **judge(text, case),
            }
        except Exception as e:  # noqa: BLE001 - a failure is a data point here
            secs = time.perf_counter() - t0
            row = {
                "prompt": case["prompt"],
                "kind": case["kind"],
                "valid": False,
                "error": f"{type(e).__name__}: {str(e)[:200]}",
                "relations": [False] * len(case.get("relations", [])),
                "hidden": 0,
                "swapped": 0,
                "move_ok": False,
                "interpenetrations": 0,
                "objects_ok": False,
                "objects": {c: 0 for c in case.get("objects", [])},
                "motions": [False] * len(case.get("motions", [])),
                "colours": {c: False for c in case.get("colours", {})},
            }
        if model is not None:  # a recorded answer counts at the seconds its call took
            cached = sum(s for s, live in model.calls if not live)
            row["model_calls"] = len(model.calls)
            row["model_calls_recorded_earlier"] = sum(1 for _, live in model.calls if not live)
            secs += cached
        row["seconds"] = round(secs, 2)
        rows.append(row)
        print(
            f"[{name}] {'ok ' if row['valid'] else 'ERR'} {row['seconds']:5.1f}s rel={row['relations']} "
            f"move={row.get('move')}/{case['move']} obj={row.get('objects')} mot={row.get('motions')} "
            f"col={row.get('colours')} {case['prompt'][:60]}",
            flush=True,
        )
    return rows


def rate(xs):
    xs = list(xs)
    return (sum(bool(x) for x in xs) / len(xs)) if xs else None, len(xs)


def summarise(rows):
    rel, n_rel = rate(r for row in rows for r in row["relations"])
    mot, n_mot = rate(m for row in rows for m in row.get("motions", []))
    col_items = [c for row in rows for c in row.get("colours", {}).values()]
    col, n_col = rate(c and c["ok"] for c in col_items)
    de = [c["de00"] for c in col_items if c]
    obj, n_obj = rate(row["objects_ok"] for row in rows if row.get("objects"))
    single = [row["seconds"] for row in rows if row["kind"] != "story"]
    prov = {}
    for row in rows:
        for k, v in (row.get("provenance") or {}).items():
            d = prov.setdefault(k, {})
            for src, n in v.items():
                d[src] = d.get(src, 0) + n
    return {
        "prompts": len(rows),
        "valid_rate": sum(r["valid"] for r in rows) / len(rows),
        "relation_rate": rel,
        "relations": n_rel,
        "hidden": sum(r.get("hidden", 0) for r in rows),
        "swapped": sum(r.get("swapped", 0) for r in rows),
        "move_rate": sum(r["move_ok"] for r in rows) / len(rows),
        "motion_rate": mot,
        "motions": n_mot,
        "colour_rate": col,
        "colours": n_col,
        "colour_de00_median": round(statistics.median(de), 1) if de else None,
        "objects_rate": obj,
        "objects_prompts": n_obj,
        "interpenetrations": sum(r["interpenetrations"] for r in rows),
        "counts_rate": rate(r.get("counts_ok") for r in rows if r["kind"] == "count")[0],
        "story_shots_rate": rate(r.get("shots_ok") for r in rows if r["kind"] == "story")[0],
        "seconds_median": statistics.median(r["seconds"] for r in rows),
        "seconds_max_single_shot": max(single) if single else None,
        "provenance": prov or None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--planners", default="rules,model,grounded")
    ap.add_argument("--sets", default="own,paraphrase,everyday")
    ap.add_argument(
        "--model-sets",
        default=None,
        help="the sets the model planners run on (default: every set); the others get rules rows only",
    )
    ap.add_argument("--llm-url", default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--fresh", action="store_true", help="ask the model again instead of reading kept answers")
    args = ap.parse_args()
    from worldgen.plan.planner import make_backend

    planners = args.planners.split(",")
    model = None
    if any(p != "rules" for p in planners):
        model = Recorded(
            lambda: make_backend(url=args.llm_url, seed=0) if args.llm_url else make_backend("embedded", seed=0),
            args.llm_url or "embedded",
            args.fresh,
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "machine": {
            "cores": os.cpu_count(),
            "cpu": platform.machine(),
            "node": platform.node(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "load_start": [round(x, 2) for x in os.getloadavg()],
            "note": "the machine was shared with other work during the run; see load averages",
        },
        "planners": PLANNERS,
        "sets": {},
    }
    from worldgen.plan.planner import plan_spec

    warm = {
        "prompt": "a red car next to a tree",
        "move": "static",
        "relations": [["car", "next_to", "tree"]],
        "colours": {"car": "red"},
    }
    judge(plan_spec(warm["prompt"], llm="none", width=320, height=180, fps=12)[0], warm)  # imports, first-use compiles
    t0 = time.perf_counter()
    for s in args.sets.split(","):
        cases = yaml.safe_load((ROOT / "benchmarks" / SETS[s]).read_text())[: args.limit]
        out["sets"][s] = {"file": f"benchmarks/{SETS[s]}", "prompts": len(cases), "planners": {}}
        for p in planners:
            if p != "rules" and args.model_sets is not None and s not in args.model_sets.split(","):
                out["sets"][s]["not_run"] = sorted(set(out["sets"][s].get("not_run", [])) | {p})
                continue
            rows = run_planner(p, cases, None if p == "rules" else model)
            out["sets"][s]["planners"][p] = {"summary": summarise(rows), "rows": rows}
    out["machine"]["load_end"] = [round(x, 2) for x in os.getloadavg()]
    out["machine"]["wall_seconds"] = round(time.perf_counter() - t0, 1)
    if model is not None:
        calls = [v for v in model.book.values()]
        out["model"] = ", ".join(sorted({c.get("model") or "?" for c in calls})) or "none"
        out["model_answers"] = {
            "file": str(ANSWERS.relative_to(ROOT)),
            "answers": len(calls),
            "first": min((c["date"] for c in calls), default=None),
            "last": max((c["date"] for c in calls), default=None),
            "load_median": statistics.median(c["load"][0] for c in calls) if calls else None,
        }
    (RESULTS / "plan_quality.json").write_text(json.dumps(out, indent=1) + "\n")
    write_md(out)
    plot(out)


def pct(x, n=None):
    if x is None:
        return "n/a"
    return f"{100 * x:.0f} %" + (f" of {n}" if n is not None else "")


def write_md(out):
    m = out["machine"]
    lines = [
        "# Plan quality",
        "",
        f"Written by `benchmarks/plan_quality.py` on {m['date']}: {m['cores']} CPU cores ({m['cpu']}, "
        f"{m['node']}), Python {m['python']}; load average {m['load_start'][0]} at the start and "
        f"{m['load_end'][0]} at the end ({m['note']}); one run, {m['wall_seconds']:.0f} s.",
    ]
    if out.get("model_answers"):
        a = out["model_answers"]
        lines += [
            "",
            f"Model: {out['model']}. Its {a['answers']} answers are kept in `{a['file']}` (asked "
            f"{a['first']} to {a['last']}, median load {a['load_median']}); a model planner's seconds per plan "
            "are the seconds its model calls took when asked plus the rest of planning in this run.",
        ]
    lines += ["", "Planners: " + "; ".join(f"`{k}` = {v}" for k, v in out["planners"].items()) + ".", ""]
    for sname, st in out["sets"].items():
        lines += [
            f"## {sname}: {st['prompts']} prompts from `{st['file']}`",
            "",
            "| planner | valid | relations | hidden | L/R swapped | moves | motions | objects once | colours "
            "(median ΔE00) | clashes | counts | story shots | s/plan median (max single) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, b in st["planners"].items():
            s = b["summary"]
            col = pct(s["colour_rate"], s["colours"]) + (
                f" ({s['colour_de00_median']})" if s["colour_de00_median"] is not None else ""
            )
            lines.append(
                f"| {name} | {pct(s['valid_rate'])} | {pct(s['relation_rate'], s['relations'])} | "
                f"{s['hidden']} | {s['swapped']} | {pct(s['move_rate'])} | {pct(s['motion_rate'], s['motions'])} | "
                f"{pct(s['objects_rate'], s['objects_prompts']) if s['objects_prompts'] else 'n/a'} | {col} | "
                f"{s['interpenetrations']} | {pct(s['counts_rate'])} | {pct(s['story_shots_rate'])} | "
                f"{s['seconds_median']:.2f} ({s['seconds_max_single_shot'] or 0:.2f}) |"
            )
        if st.get("not_run"):
            lines += [
                "",
                f"Not run on this set: {', '.join(st['not_run'])} (`--model-sets`); no figure stands for them here.",
            ]
        g = st["planners"].get("grounded", {}).get("summary", {}).get("provenance")
        if g:
            lines += [
                "",
                "Where the grounded plans' items came from (model: the model's, kept; both: the model's, "
                "and the prompt's words say the same; rules: added or set from the prompt's words):",
                "",
                "| | from the model only | model, confirmed by the rules | from the rules |",
                "|---|---:|---:|---:|",
            ]
            for k in ("objects", "relations", "moves", "motions"):
                v = g.get(k, {})
                lines.append(f"| {k} | {v.get('model', 0)} | {v.get('both', 0)} | {v.get('rules', 0)} |")
        lines.append("")
    lines += [
        "Relations: view-dependent ones are measured in the main camera's instance pass; *hidden* counts those "
        "with an object not visible from that camera (a fail). Colours: the median painted sRGB under the "
        "object's instance mask in a procedural frame (192x108); right when the asked colour is the nearest "
        "of the painter's basic colours (CIEDE2000 with lightness weighted down, kL = 2, since shading changes "
        "lightness); ΔE00 is the plain CIEDE2000 distance to the asked colour.",
        "",
        "## Misses",
        "",
    ]
    for sname, st in out["sets"].items():
        for name, b in st["planners"].items():
            for r in b["rows"]:
                bad = (
                    not r["valid"]
                    or not all(r["relations"])
                    or not r["move_ok"]
                    or r["interpenetrations"]
                    or not all(r.get("motions", []))
                    or (r.get("objects") and not r.get("objects_ok"))
                    or not all(c and c["ok"] for c in r.get("colours", {}).values())
                )
                if bad:
                    why = r.get("error") or (
                        f"relations {r['relations']}, move {r.get('move')}, objects {r.get('objects')}, "
                        f"motions {r.get('motions')}, colours "
                        f"{ {k: (v and v['nearest']) for k, v in r.get('colours', {}).items()} }, "
                        f"clashes {r['interpenetrations']}"
                    )
                    lines.append(f'- {sname} / {name}: "{r["prompt"]}": {why}')
    (RESULTS / "plan_quality.md").write_text("\n".join(lines) + "\n")


def plot(out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sets = list(out["sets"])
    keys = [
        ("relation_rate", "relations"),
        ("move_rate", "moves"),
        ("motion_rate", "motions"),
        ("colour_rate", "colours"),
        ("objects_rate", "objects"),
    ]
    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 3.2), squeeze=False)
    for ax, sname in zip(axes[0], sets):
        names = list(out["sets"][sname]["planners"])
        x = np.arange(len(keys))
        w = 0.8 / max(len(names), 1)
        for i, n in enumerate(names):
            s = out["sets"][sname]["planners"][n]["summary"]
            ax.bar(x + (i - (len(names) - 1) / 2) * w, [100 * (s[k] or 0) for k, _ in keys], w, label=n)
        ax.set_xticks(x, [lab for _, lab in keys], fontsize=8)
        ax.set_ylim(0, 105)
        ax.set_title(sname)
        ax.set_ylabel("%")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "plan_quality.png", dpi=110)


if __name__ == "__main__":
    sys.exit(main())
