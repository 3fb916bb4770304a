"""worldgen preview: time from saving the spec to the updated page, and time to first paint.

Issue 14's targets for the demo spec (scenes/lighthouse.yaml): median save -> updated page
<= 300 ms, first paint <= 2 s. The page runs in Debian's chromium, headless, WebGL on
SwiftShader (CPU), as the browser tests drive it (tests/preview_support.py).

- First paint: a fresh page is opened N times; the page records performance.now() (measured
  from the start of navigation) at the first frame that shows the world. The first load has an
  empty browser cache (three.js, 2 MB, is fetched); later loads revalidate by ETag.
- Save -> page: the spec is saved M times (write a temporary file, rename it over the spec, as
  editors do), alternating the rock's position; the page records Date.now() when it has drawn
  the new world version. Each latency is split into the watcher's delay (save to rebuild
  start), the rebuild (load, World, checks, glTF export) and the page (event, fetch, parse, draw).

Writes benchmarks/results/preview.json and .md. With --screenshot PATH it also saves the
README's picture of the page on the demo spec.

    python benchmarks/preview_latency.py [--loads 5] [--edits 15] [--screenshot docs/images/preview.png]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _common import RESULTS, ROOT, finish_record, fmt, machine_line, spread, start_record, write_json  # noqa: E402
from preview_support import browser_available, chromium, new_page, poll  # noqa: E402

DEMO = ROOT / "scenes" / "lighthouse.yaml"
ROCK = "position: [4, 0.75, -3]"
TARGET_SAVE_MS, TARGET_PAINT_S = 300, 2.0


def first_paints(ctx, url: str, loads: int) -> list[float]:
    out = []
    for _ in range(loads):
        page = new_page(ctx, 1280, 720)
        page.goto(url)
        out.append(poll(page, "() => window.worldgenPreview && window.worldgenPreview.state.firstPaintMs", 60) / 1000)
        page.close()
    return out


def save_latencies(ctx, server, spec: Path, edits: int) -> list[dict]:
    page = new_page(ctx, 1280, 720)
    page.goto(server.url)
    poll(page, "() => window.worldgenPreview && window.worldgenPreview.state.applied", 60)
    text = spec.read_text()
    assert ROCK in text
    out = []
    for k in range(edits):
        time.sleep(0.3)  # a person saves now and then, not in a burst
        moved = text.replace(ROCK, f"position: [{4 + 0.25 * (k % 2 + 1)}, 0.75, -3]")
        version = server.state.version + 1
        tmp = spec.with_suffix(".tmp")
        tmp.write_text(moved)
        saved = time.time()
        os.replace(tmp, spec)
        applied = poll(
            page,
            f"() => {{ const a = window.worldgenPreview.state.applied; return a && a.version === {version} && a; }}",
            30,
            0.005,
        )
        good = server.state.good
        assert good.version == version and server.state.error is None
        total = applied["at"] / 1000 - saved
        watch = good.started - saved
        out.append(
            {
                "total_ms": 1000 * total,
                "watch_ms": 1000 * watch,
                "build_ms": 1000 * good.seconds,
                "page_ms": 1000 * (total - watch - good.seconds),
            }
        )
    page.close()
    return out


def screenshot(ctx, url: str, path: Path) -> None:
    """The page on the demo spec: free orbit on the world with its camera paths, the tower
    selected, the playhead in the tracking shot and the renderer's frame beside it."""
    page = new_page(ctx, 1280, 860)
    page.goto(url)
    poll(page, "() => window.worldgenPreview && window.worldgenPreview.state.applied", 60)
    page.eval_on_selector("#scrub", "(el) => { el.value = 5.2; el.dispatchEvent(new Event('input')); }")
    page.select_option("#viewsel", "shot:boat_pass")
    page.click("#render")
    poll(page, "() => window.worldgenPreview.state.lastRender", 120)
    page.select_option("#viewsel", "free")
    box = page.eval_on_selector(
        "#canvas", "(c) => { const r = c.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }"
    )
    xy = page.evaluate("() => window.worldgenPreview.screenPoint('tower')")
    page.mouse.click(box[0] + xy[0], box[1] + xy[1])
    poll(page, "() => window.worldgenPreview.state.selected === 'tower'", 10)
    page.wait_for_timeout(300)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--edits", type=int, default=15)
    ap.add_argument("--screenshot", type=Path)
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    why = browser_available()
    if why:
        sys.exit(f"preview_latency: {why}")
    from worldgen.preview.server import PreviewServer

    record = start_record(
        "preview",
        spec=str(DEMO.relative_to(ROOT)),
        loads=a.loads,
        edits=a.edits,
        browser="chromium (Debian), headless, SwiftShader WebGL",
    )
    folder = Path(tempfile.mkdtemp(prefix="worldgen-preview-bench-"))
    try:
        spec = folder / DEMO.name
        shutil.copy(DEMO, spec)
        with PreviewServer(spec, port=0) as server, chromium() as ctx:
            paints = first_paints(ctx, server.url, a.loads)
            saves = save_latencies(ctx, server, spec, a.edits)
            if a.screenshot:
                shutil.copy(DEMO, spec)
                poll_server(
                    server,
                    lambda: (
                        server.state.error is None
                        and server.state.good.spec.world.objects[3].position == (4.0, 0.75, -3.0)
                    ),
                )
                screenshot(ctx, server.url, a.screenshot)
            meta = server.state.good.meta
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    record["world"] = {"objects": len(meta["objects"]), "shots": len(meta["shots"]), "frames": meta["film_frames"]}
    record["first_paint_s"] = {"cold": round(paints[0], 3), "warm": spread(paints[1:] or paints, 3)}
    record["save_to_page_ms"] = {k: spread([s[k] for s in saves], 1) for k in saves[0]}
    record["targets"] = {"save_to_page_median_ms": TARGET_SAVE_MS, "first_paint_s": TARGET_PAINT_S}
    finish_record(record)
    write_json(record, a.out / "preview.json")
    s = record["save_to_page_ms"]
    md = [
        "# worldgen preview: save to page, first paint",
        "",
        f"Demo spec `{record['params']['spec']}` ({record['world']['objects']} objects, {record['world']['shots']} shots, "
        f"{record['world']['frames']} frames); {record['params']['browser']}; `python benchmarks/preview_latency.py`.",
        "",
        "| measure | median (min–max, n) | target |",
        "|---|---|---|",
        f"| save → updated page | {fmt(s['total_ms'], 'ms', 0)} | ≤ {TARGET_SAVE_MS} ms median |",
        f"| … watcher (save → rebuild starts) | {fmt(s['watch_ms'], 'ms', 0)} | |",
        f"| … rebuild (load, World, checks, glTF) | {fmt(s['build_ms'], 'ms', 0)} | |",
        f"| … page (event, fetch, parse, draw) | {fmt(s['page_ms'], 'ms', 0)} | |",
        f"| first paint, empty browser cache | {record['first_paint_s']['cold']:.2f} s | ≤ {TARGET_PAINT_S:g} s |",
        f"| first paint, later loads | {fmt(record['first_paint_s']['warm'], 's', 2)} | ≤ {TARGET_PAINT_S:g} s |",
        "",
        machine_line(record),
        "",
    ]
    (a.out / "preview.md").write_text("\n".join(md))
    print("\n".join(md))


def poll_server(server, ok, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > end:
            raise TimeoutError("the preview server did not reload the spec")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
