"""What the sound and the edit of the demo film cost against its render, in one run on this
machine: frames (rasterize + paint) and the sound and edit (the lines spoken before the frames
for lip sync, then the cut: score, ambience, mix, loudness, grade, cards, encode and mux), all
timed by the renderer itself, in one process (`jobs=1`). The mix runs in a thread beside the
frames (edit/cut.MixAhead); its own time counts as sound, and the frames' time is their wall
time less the voices spoken for lip sync (it still holds what the mix thread took from them).
Writes benchmarks/results/film_edit.{json,md}."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, finish_record, fresh_cache, start_record, warm_up  # noqa: E402


def main() -> None:
    from worldgen.render import RenderOptions, render
    from worldgen.spec import load_spec

    record = start_record("film_edit", scene="scenes/lighthouse.yaml")
    record["warm_up_s"] = round(warm_up(), 2)  # imports, numba, the first BVH and ffmpeg start: not the demo's cost
    spec = load_spec(ROOT / "scenes" / "lighthouse.yaml")
    with fresh_cache(), tempfile.TemporaryDirectory() as d:
        res = render(spec, Path(d) / "out", RenderOptions(progress=False, jobs=1))
        edit = res.manifest.get("edit", {})
    # the lines are spoken before the frames (their phones time the mouths): sound, not frames
    lip_sync_s = res.timings.get("lip_sync_s", 0.0)
    mix_s = res.timings.get("mix_ahead_s", 0.0)  # mixed in a thread while the frames rendered
    frames_s = res.timings["frames_s"] - lip_sync_s
    film_s = res.timings["film_s"] + lip_sync_s + mix_s
    out = {
        "scene": "scenes/lighthouse.yaml",
        "frames": sum(s["frame_count"] for s in res.manifest["shots"]),
        "film_frames": edit.get("frames"),
        "size": [res.manifest["width"], res.manifest["height"]],
        "frames_s": round(frames_s, 2),
        "edit_and_sound_s": round(film_s, 2),
        "lip_sync_voices_s": round(lip_sync_s, 2),
        "mix_beside_frames_s": round(mix_s, 2),
        "edit_share": round(film_s / (frames_s + film_s), 4),
        "loudness": edit.get("loudness"),
        "record": finish_record(record),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "film_edit.json").write_text(json.dumps(out, indent=1))
    (RESULTS / "film_edit.md").write_text(
        "# Sound and edit of the demo film\n\n"
        f"`{out['scene']}`, {out['frames']} frames at {out['size'][0]}x{out['size'][1]} ({out['film_frames']} in the cut), "
        "one run, fresh store (benchmarks/film_edit_cost.py).\n\n"
        "| part | seconds |\n|---|---|\n"
        f"| frames (rasterize + paint) | {out['frames_s']} |\n"
        f"| sound and edit (voices for lip sync {out['lip_sync_voices_s']} s; mix beside the frames "
        f"{out['mix_beside_frames_s']} s; cut, encode) | {out['edit_and_sound_s']} |\n\n"
        f"Sound and edit: {100 * out['edit_share']:.1f} % of the render. Loudness: {json.dumps(out['loudness'])}.\n"
    )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
