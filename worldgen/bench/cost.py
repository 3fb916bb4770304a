"""What a method's render cost: seconds per frame, UNet/ControlNet evaluations per frame and per
film second, and peak memory (the painter's own figure, else this process's sampled RSS)."""

from __future__ import annotations

import threading

from worldgen.bench.inputs import no_model


class PeakRss:
    """Samples this process's resident memory while a render runs (the peak of one method,
    which the process-wide high-water mark cannot give after an earlier method)."""

    def __init__(self, interval_s: float = 0.05):
        self.interval_s, self.peak, self._stop = interval_s, 0, threading.Event()

    def __enter__(self):
        import psutil

        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def render_cost(method: str, manifest: dict, frames_total: int, rendered: dict | None) -> dict:
    """Seconds per frame (of this run's render, when it rendered), UNet/ControlNet evaluations
    per frame and per film second (from the manifest's painter_stats; procedural paints with
    none), peak memory (the painter's own figure when it gives one, else sampled RSS)."""
    fps = float(manifest.get("fps") or 0)
    stats = manifest.get("painter_stats") or {}
    rendered = rendered or {}
    painted = rendered.get("frames_rendered") or 0
    cost = {
        "frames": frames_total,
        "frames_rendered": painted,
        "render_s": rendered.get("render_s"),
        "render_cpu_s": rendered.get("render_cpu_s"),
        "seconds_per_frame": rendered["render_s"] / painted if painted and rendered.get("render_s") else None,
        "unet_evals": stats.get("unet_evals"),
        "controlnet_evals": stats.get("controlnet_evals"),
        "painter_peak_memory_bytes": stats.get("peak_memory_bytes"),
        "peak_rss_bytes": rendered.get("peak_rss_bytes"),
        "painter_stats": stats or None,
    }
    if no_model(manifest.get("painter") or method) and cost["unet_evals"] is None:
        cost["unet_evals"], cost["controlnet_evals"] = 0, 0
    per = painted or (frames_total if rendered.get("source") == "manifest" else 0)
    for key in ("unet", "controlnet"):
        evals = cost[f"{key}_evals"]
        per_frame = evals / per if evals is not None and per else (0.0 if evals == 0 else None)
        cost[f"{key}_per_frame"] = per_frame
        cost[f"{key}_per_film_second"] = per_frame * fps if per_frame is not None and fps else None
    peak = cost["painter_peak_memory_bytes"] or cost["peak_rss_bytes"]
    cost["peak_memory_bytes"] = peak
    cost["peak_memory_source"] = (
        "painter_stats"
        if cost["painter_peak_memory_bytes"]
        else "sampled process RSS during the render"
        if peak
        else None
    )
    return cost
