"""Write a bench run out: results.json, a Markdown table, plots (PNG) and an HTML page with a
side-by-side strip and video of the methods.

Everything lands in one folder with relative links, so the folder can be moved, zipped or
committed as it is. Plots use matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

ARROW = {"lower": "↓", "higher": "↑"}
# summary key -> (column title, better, format)
COLUMNS = [
    ("warp_1", "E_warp(1)", "lower", "{:.3g}"),
    ("warp_5", "E_warp(5)", "lower", "{:.3g}"),
    ("warp_10", "E_warp(10)", "lower", "{:.3g}"),
    ("flicker", "flicker", "higher", "{:.4f}"),
    ("identity_drift", "identity drift", "lower", "{:.3g}"),
    ("edge_f1", "edge F1", "higher", "{:.3f}"),
    ("camera", "camera moves held", None, "{}"),
    ("seconds_per_frame", "s/frame", "lower", "{:.3f}"),
    ("unet_per_frame", "UNet/frame", "lower", "{:.1f}"),
    ("unet_per_film_second", "UNet/film s", "lower", "{:.0f}"),
    ("peak_memory_bytes", "peak MB", "lower", "{:.0f}"),
]
BAR_METRICS = [
    "warp_1",
    "warp_5",
    "warp_10",
    "flicker",
    "identity_drift",
    "edge_f1",
    "seconds_per_frame",
    "unet_per_frame",
]
STRIP_COLUMNS = 6
STRIP_TILE_W = 192
VIDEO_TILE_W = 320


# ---------------------------------------------------------------- values


def clean_json(value):
    """JSON-safe: NaN/inf become null, numpy scalars and arrays become Python values."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def cell(summary: dict, key: str, fmt: str) -> str:
    if key == "camera":
        judged = summary.get("camera_judged") or 0
        return f"{summary.get('camera_held', 0)}/{judged}" if judged else "—"
    value = summary.get(key)
    if value is None:
        return "—"
    scale = 1e-6 if key == "peak_memory_bytes" else 1.0
    text = fmt.format(value * scale)
    spread = summary.get(f"{key}_spread")  # a figure measured in several rounds: median (min–max)
    if spread:
        text += f" ({fmt.format(spread['min'] * scale)}–{fmt.format(spread['max'] * scale)})"
    return text


def _header(title: str, better: str | None) -> str:
    return f"{title} {ARROW[better]}" if better else title


def _ks(results: dict) -> list[int]:
    return list(results.get("options", {}).get("ks") or [1, 5, 10])


def _columns(results: dict) -> list[tuple]:
    ks = set(_ks(results))
    return [c for c in COLUMNS if not c[0].startswith("warp_") or int(c[0].split("_")[1]) in ks]


def ran(results: dict) -> list[str]:
    """Methods that produced results on at least one scene (the others are listed, not tabled)."""
    return [
        m for m in results["methods"] if any(s["methods"].get(m, {}).get("status") == "ok" for s in results["scenes"])
    ]


def _rows(results: dict, methods: list[str] | None = None):
    """(scene, method, result) in table order."""
    for scene in results["scenes"]:
        for method in methods or results["methods"]:
            if method in scene["methods"]:
                yield scene, method, scene["methods"][method]


def not_run(results: dict) -> list[str]:
    """One line per method that ran nowhere, with its reason(s)."""
    lines = []
    for method in results["methods"]:
        if method in ran(results):
            continue
        reasons = sorted(
            {f"{r['status']}: {r['reason']}" for s in results["scenes"] for m, r in s["methods"].items() if m == method}
        )
        lines.append(f"{method}: " + "; ".join(reasons))
    return lines


# ---------------------------------------------------------------- Markdown


def markdown(results: dict) -> str:
    """The results as Markdown: main table, per-method means, per-shot camera verdicts."""
    cols = _columns(results)
    m = results["machine"]
    lines = [
        "# Consistency benchmark",
        "",
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores"
        + (f", GPU {m['gpu']}" if m.get("gpu") else ", no GPU")
        + f"; Python {m.get('python')}; worldgen {results.get('worldgen')}.",
        f"Run wall time: {results.get('wall_s', 0):.1f} s (renders + metrics).",
        "",
        "Columns: see docs/BENCHMARK.md; metric definitions in docs/METRICS.md. "
        "↓ lower is better, ↑ higher is better, — not defined for that scene "
        "(flicker: the still pixels of static-camera shots; identity drift: scenes with two or more shots).",
        "",
    ]
    for note in results.get("notes") or []:
        lines += [note, ""]
    lines.append("| scene | method | " + " | ".join(_header(t, b) for _, t, b, _ in cols) + " |")
    lines.append("|---|---|" + "---:|" * len(cols))
    notes: dict = {}  # (method, status, reason) -> scenes
    for scene, method, res in _rows(results, ran(results)):
        if res["status"] != "ok":
            lines.append(f"| {scene['scene']} | {method} | {res['status']} |" + " — |" * (len(cols) - 1))
            notes.setdefault((method, res["status"], res["reason"]), []).append(scene["scene"])
            continue
        lines.append(
            f"| {scene['scene']} | {method} | " + " | ".join(cell(res["summary"], k, f) for k, _, _, f in cols) + " |"
        )
    if notes:
        lines.append("")
        for (method, status, reason), names in notes.items():
            lines.append(f"- {method}, {status} ({', '.join(names)}): {reason}")
    if not_run(results):
        lines += ["", "Not run on any scene:", ""] + [f"- {line}" for line in not_run(results)]
    if len(results["scenes"]) > 1 and results.get("overall"):
        lines += [
            "",
            "## Per method, mean over scenes",
            "",
            "| method | scenes | " + " | ".join(_header(t, b) for _, t, b, _ in cols) + " |",
            "|---|---:|" + "---:|" * len(cols),
        ]
        for method, row in results["overall"].items():
            lines.append(f"| {method} | {row['scenes']} | " + " | ".join(cell(row, k, f) for k, _, _, f in cols) + " |")
        lines += ["", "Scenes behind each mean:", ""] + [f"- {line}" for line in scenes_behind(results, cols)]
    lines += ["", "## Camera moves (judged by shotdrift from the painted pixels)", ""]
    if not results.get("shotdrift", {}).get("available"):
        lines += [f"{results.get('shotdrift', {}).get('note')}", ""]
    methods = ran(results)
    restricted = []
    lines.append("| scene | shot | move | static camera | shotdrift move | " + " | ".join(methods) + " |")
    lines.append("|---|---|---|---|---|" + "---|" * len(methods))
    for scene in results["scenes"]:
        for i, shot in enumerate(scene.get("shots") or []):
            verdicts, expect, static = [], "—", "—"
            for method in methods:
                res = scene["methods"].get(method)
                if not res or res["status"] != "ok":
                    verdicts.append("—")
                    continue
                judged = res["shots"][i]["camera_judge"]
                expect = judged.get("expect") or "—"
                static = "yes" if res["shots"][i]["static_camera"] else "no"
                verdicts.append(judged.get("verdict", "—"))
            lines.append(
                f"| {scene['scene']} | {shot['id']} | {shot.get('camera_move')} | {static} | {expect} | "
                + " | ".join(verdicts)
                + " |"
            )
            if expect == "static" and all(v in ("not judged", "—") for v in verdicts):
                why = next(
                    (
                        res["shots"][i]["camera_judge"].get("detail")
                        for res in scene["methods"].values()
                        if res.get("status") == "ok"
                    ),
                    None,
                )
                if why:
                    restricted.append(f"- {scene['scene']} / {shot['id']}: not judged: {why}.")
    if restricted:
        lines += [""] + restricted
    drift_rows = [
        (scene["scene"], method, r)
        for scene, method, res in _rows(results)
        if res["status"] == "ok"
        for r in res["identity_drift"]
    ]
    if drift_rows:
        lines += [
            "",
            "## Identity drift per object (uv texture space, shots compared pairwise)",
            "",
            "| scene | method | shots | object | drift ↓ | shared texels |",
            "|---|---|---|---|---:|---:|",
        ]
        for scene_name, method, r in drift_rows:
            lines.append(
                f"| {scene_name} | {method} | {r['shot_a']} / {r['shot_b']} | {r['object']} | "
                f"{r['drift']:.4f} | {r['texels']} |"
            )
    if results.get("continuity"):  # film specs given to the bench (worldgen.bench.continuity)
        from worldgen.bench.continuity import markdown as continuity_markdown

        for report in results["continuity"]:
            lines += [""] + [
                ("#" + ln if ln.startswith("#") else ln) for ln in continuity_markdown(report).splitlines()
            ]
    return "\n".join(lines) + "\n"


def scenes_behind(results: dict, cols: list[tuple]) -> list[str]:
    """One line per group of columns whose means stand on the same scenes (per method where the
    methods differ), so no mean is read without the scenes it averages."""
    groups: dict = {}
    for key, title, _, _ in cols:
        per_method = {m: tuple((row.get("scenes_behind") or {}).get(key, ())) for m, row in results["overall"].items()}
        groups.setdefault(tuple(sorted(per_method.items())), []).append(title)
    n_all = len(results["scenes"])
    lines = []
    for per_method, titles in groups.items():
        distinct = {names for _, names in per_method}
        if len(distinct) == 1:
            names = next(iter(distinct))
            where = ", ".join(names) if names else "no scene"
            if len(names) == n_all:
                where = f"all {n_all} scenes ({where})"
        else:
            where = "; ".join(f"{m}: {', '.join(names) or 'no scene'}" for m, names in per_method)
        lines.append(f"{', '.join(titles)}: {where}")
    return lines


# ---------------------------------------------------------------- plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _method_colours(methods: list[str]) -> dict:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10")
    return {m: cmap(i % 10) for i, m in enumerate(methods)}


def plot_warp_curves(results: dict, path: Path) -> Path:
    """Per scene, E_warp(1) of each frame pair along the film, one line per method."""
    plt = _pyplot()
    scenes = results["scenes"]
    colours = _method_colours(results["methods"])
    fig, axes = plt.subplots(len(scenes), 1, figsize=(9, 2.3 * len(scenes) + 0.6), squeeze=False)
    for ax, scene in zip(axes[:, 0], scenes):
        bounds = []
        for method, res in scene["methods"].items():
            if res["status"] != "ok":
                continue
            xs, ys, offset, bounds = [], [], 0, []
            for shot in res["shots"]:
                w = shot["warp"].get("1")
                if w:
                    xs += [offset + s for s in w["starts"]]
                    ys += w["per_pair"]
                offset += shot["frames"]
                bounds.append(offset)
            ax.plot(xs, ys, lw=1.2, label=method, color=colours[method])
        for b in bounds[:-1]:
            ax.axvline(b - 0.5, color="0.6", ls="--", lw=0.8)
        ax.set_yscale("symlog", linthresh=1e-5)
        ax.set_title(f"{scene['scene']}: E_warp(1) per frame pair (lower is better; dashed = cut)", fontsize=9)
        ax.set_xlabel("frame (shots in order)", fontsize=8)
        ax.tick_params(labelsize=7)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_metric_bars(results: dict, path: Path) -> Path:
    """One panel per metric: scenes on x, a bar per method (missing = not defined there)."""
    plt = _pyplot()
    titles = {k: (t, b) for k, t, b, _ in COLUMNS}
    keys = [k for k in BAR_METRICS if not k.startswith("warp_") or int(k.split("_")[1]) in _ks(results)]
    methods = ran(results) or results["methods"]
    colours = _method_colours(results["methods"])
    scenes = results["scenes"]
    ncols = 4
    nrows = math.ceil(len(keys) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows + 0.5), squeeze=False)
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(scenes))
    for ax, key in zip(axes.ravel(), keys):
        for j, method in enumerate(methods):
            vals = []
            for scene in scenes:
                res = scene["methods"].get(method)
                v = res["summary"].get(key) if res and res["status"] == "ok" else None
                vals.append(np.nan if v is None else v)
            ax.bar(x + (j - (len(methods) - 1) / 2) * width, vals, width, label=method, color=colours[method])
        title, better = titles[key]
        ax.set_title(f"{title} ({better} is better)", fontsize=9)
        ax.set_xticks(x, [s["scene"] for s in scenes], rotation=35, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.ravel()[len(keys) :]:
        ax.axis("off")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(methods), 6), fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- side by side


def _film_frames(result: dict) -> list[Path]:
    """Painted frames of a method's render, shots in order."""
    folder = Path(result["render_dir"])
    manifest = json.loads((folder / "manifest.json").read_text())
    return [folder / fr["frame"] for s in manifest["shots"] for fr in s["frames"]]


def _tile(path: Path, width: int):
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        height = max(2, int(round(width * im.height / im.width)) // 2 * 2)
        return im.resize((width, height), Image.BILINEAR)


def _label_bar(labels: list[str], tile_w: int, height: int = 18):
    from PIL import Image, ImageDraw

    bar = Image.new("RGB", (tile_w * len(labels), height), (24, 24, 28))
    draw = ImageDraw.Draw(bar)
    for i, text in enumerate(labels):
        draw.text((i * tile_w + 4, 3), text, fill=(235, 235, 235))
    return bar


def _ok_methods(scene: dict) -> list[tuple[str, dict]]:
    return [(m, r) for m, r in scene["methods"].items() if r["status"] == "ok"]


def strip_png(scene: dict, path: Path, columns: int = STRIP_COLUMNS, tile_w: int = STRIP_TILE_W) -> Path | None:
    """Rows = methods, columns = frames sampled evenly over the whole scene."""
    from PIL import Image, ImageDraw

    methods = _ok_methods(scene)
    if not methods:
        return None
    films = {m: _film_frames(r) for m, r in methods}
    n = min(len(f) for f in films.values())
    picks = np.unique(np.linspace(0, n - 1, min(columns, n)).round().astype(int))
    first = _tile(films[methods[0][0]][0], tile_w)
    label_w, pad, head = 110, 4, 16
    sheet = Image.new(
        "RGB", (label_w + len(picks) * (tile_w + pad), head + len(methods) * (first.height + pad)), (24, 24, 28)
    )
    draw = ImageDraw.Draw(sheet)
    for c, k in enumerate(picks):
        draw.text((label_w + c * (tile_w + pad), 2), f"frame {k}", fill=(200, 200, 200))
    for r, (method, _) in enumerate(methods):
        y = head + r * (first.height + pad)
        draw.text((4, y + first.height // 2 - 6), method, fill=(235, 235, 235))
        for c, k in enumerate(picks):
            sheet.paste(_tile(films[method][k], tile_w), (label_w + c * (tile_w + pad), y))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def side_by_side_video(scene: dict, path: Path, tile_w: int = VIDEO_TILE_W) -> Path | None:
    """An H.264 MP4 with the methods side by side, frame for frame, at the scene's fps."""
    import imageio_ffmpeg
    from PIL import Image

    methods = _ok_methods(scene)
    if not methods:
        return None
    films = {m: _film_frames(r) for m, r in methods}
    n = min(len(f) for f in films.values())
    first = _tile(films[methods[0][0]][0], tile_w)
    bar = _label_bar([m for m, _ in methods], tile_w)
    size = (tile_w * len(methods), bar.height + first.height)
    fps = float(scene.get("fps") or methods[0][1].get("fps") or 24)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    writer = imageio_ffmpeg.write_frames(
        str(tmp),
        size,
        fps=fps,
        codec="libx264",
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        quality=None,
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-crf", "23", "-preset", "veryfast", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"],
    )
    writer.send(None)
    canvas = Image.new("RGB", size)
    canvas.paste(bar, (0, 0))
    for k in range(n):
        for i, (method, _) in enumerate(methods):
            canvas.paste(_tile(films[method][k], tile_w), (i * tile_w, bar.height))
        writer.send(np.ascontiguousarray(np.asarray(canvas)))
    writer.close()
    tmp.replace(path)
    return path


# ---------------------------------------------------------------- HTML


def html_page(results: dict, files: dict) -> str:
    """A self-contained page (relative links only): table, plots, strips and videos."""
    cols = _columns(results)
    esc = html.escape
    m = results["machine"]
    head = (
        "<tr><th>scene</th><th>method</th>" + "".join(f"<th>{esc(_header(t, b))}</th>" for _, t, b, _ in cols) + "</tr>"
    )
    rows = []
    for scene, method, res in _rows(results, ran(results)):
        if res["status"] != "ok":
            rows.append(
                f"<tr><td>{esc(scene['scene'])}</td><td>{esc(method)}</td>"
                f"<td colspan='{len(cols)}' class='na'>{esc(res['status'])}: {esc(res['reason'])}</td></tr>"
            )
            continue
        rows.append(
            f"<tr><td>{esc(scene['scene'])}</td><td>{esc(method)}</td>"
            + "".join(f"<td>{esc(cell(res['summary'], k, f))}</td>" for k, _, _, f in cols)
            + "</tr>"
        )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>worldgen consistency benchmark</title>",
        "<style>body{font-family:sans-serif;margin:24px;background:#fafafa;color:#222}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child,td:nth-child(2),th{text-align:left}.na{color:#999;text-align:left}"
        "img,video{max-width:100%;border:1px solid #ddd;margin:6px 0}</style></head><body>",
        "<h1>worldgen consistency benchmark</h1>",
        f"<p>Machine: {esc(str(m.get('cpu')))}, {m.get('cores')} cores"
        + (f", GPU {esc(m['gpu'])}" if m.get("gpu") else ", no GPU")
        + f". Run wall time {results.get('wall_s', 0):.1f} s. Metric definitions: docs/METRICS.md; columns: "
        "docs/BENCHMARK.md. Flicker is measured on the still pixels of static-camera shots; identity drift "
        "needs two shots.</p>",
        "".join(f"<p><b>{esc(note)}</b></p>" for note in results.get("notes") or []),
        f"<table>{head}{''.join(rows)}</table>",
        "".join(f"<p class='na'>Not run: {esc(line)}</p>" for line in not_run(results)),
        f"<p>Raw numbers: <a href='{files['json']}'>{files['json']}</a>, "
        f"Markdown: <a href='{files['markdown']}'>{files['markdown']}</a>.</p>",
        "<h2>Plots</h2>",
        f"<img src='{files['warp_curves']}' alt='per-frame warping error'>",
        f"<img src='{files['metric_bars']}' alt='metrics per scene and method'>",
        "<h2>Side by side</h2>",
    ]
    for scene in results["scenes"]:
        name = scene["scene"]
        parts.append(f"<h3>{esc(name)}</h3>")
        if name in files.get("videos", {}):
            parts.append(f"<video src='{files['videos'][name]}' controls loop muted playsinline></video>")
        if name in files.get("strips", {}):
            parts.append(f"<img src='{files['strips'][name]}' alt='sampled frames of {esc(name)}, one row per method'>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------- all of it


def _write_text(path: Path, text: str) -> None:
    from worldgen.io import atomic_write_bytes

    atomic_write_bytes(path, text.encode())


def write_report(
    results: dict, out_dir: str | Path, video: bool = True, stem: str = "results", assets: str = ""
) -> dict:
    """Write `<stem>.json`, `<stem>.md`, plots, strips, videos and `index.html` (or `<stem>.html`
    when a stem is given) into out_dir; assets go under `assets` (a sub-folder name, relative).
    Returns the written files relative to out_dir and records them in results["files"]."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prefix = f"{assets.strip('/')}/" if assets else ""
    files = {
        "json": f"{stem}.json",
        "markdown": f"{stem}.md",
        "warp_curves": f"{prefix}plots/warp_curves.png",
        "metric_bars": f"{prefix}plots/metric_bars.png",
        "strips": {},
        "videos": {},
        "html": "index.html" if stem == "results" else f"{stem}.html",
    }
    if results["scenes"]:  # (a bench of film specs alone has only its continuity section)
        plot_warp_curves(results, out / files["warp_curves"])
        plot_metric_bars(results, out / files["metric_bars"])
    for scene in results["scenes"]:
        name = scene["scene"]
        if strip_png(scene, out / f"{prefix}strips/{name}.png"):
            files["strips"][name] = f"{prefix}strips/{name}.png"
        if video and side_by_side_video(scene, out / f"{prefix}videos/{name}.mp4"):
            files["videos"][name] = f"{prefix}videos/{name}.mp4"
    _write_text(out / files["markdown"], markdown(results))
    _write_text(out / files["html"], html_page(results, files))
    results["files"] = files
    write_results_json(results, out / files["json"])
    return files


def write_results_json(results: dict, path: Path) -> None:
    _write_text(path, json.dumps(clean_json(results), indent=1, allow_nan=False) + "\n")
