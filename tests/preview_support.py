"""Shared by the preview tests: a tiny scene, and Debian's chromium driven by playwright.

The browser is the system's /usr/bin/chromium (set-up installs it with apt) through
playwright's `executable_path`; `playwright install`, which downloads browsers, is never used.
WebGL runs on SwiftShader (ANGLE's CPU Vulkan), so no GPU is needed."""

from __future__ import annotations

import base64
import contextlib
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--mute-audio",
    "--disable-dev-shm-usage",
]

# small frames and a low fps keep every build, capture and comparison quick
TINY_SPEC = """\
worldgen: 1
title: Preview test
seed: 3
render: {width: 192, height: 108, fps: 6}
world:
  objects:
    - {id: ground, shape: plane, size: [30, 30], appearance: "grey concrete"}
    - {id: crate, shape: box, size: [1.4, 1.4, 1.4], position: [-2.6, 0.7, -0.4], appearance: "red box"}
    - {id: ball, shape: sphere, radius: 0.7, position: [2.0, 0.7, -0.5], appearance: "blue ball"}
    - {id: post, shape: cylinder, radius: 0.35, height: 2.6, position: [0.3, 1.3, -2.2], appearance: "white post"}
    - id: cart
      shape: box
      size: [1.2, 0.8, 0.9]
      appearance: "green cart"
      motion:
        - {t: 0, position: [-3, 0.4, 2.0]}
        - {t: 3, position: [3, 0.4, 2.0], rotation: [0, 40, 0]}
  characters:
    - id: walker
      height: 1.75
      appearance: "orange coat, dark jeans"
      path:
        - {t: 0, position: [-1.2, 0, 0.9]}
        - {t: 3, position: [1.5, 0, 0.8]}
shots:
  - id: orbit
    duration: 1.5
    camera: {move: orbit, target: post, radius: 9, height: 3, degrees: 50, fov: 55}
  - id: fixed
    duration: 1.5
    start: 1.5
    camera: {move: static, position: [0, 2.2, 8], look_at: [0, 0.9, 0], fov: 50}
"""


# the same world without its character: the live-edit tests rebuild it on every save, and a
# character's pose checks and per-frame bones are most of a rebuild's cost
STATIC_CAST_SPEC = TINY_SPEC[: TINY_SPEC.index("  characters:")] + TINY_SPEC[TINY_SPEC.index("shots:") :]


def browser_available() -> str | None:
    """None when the browser tests can run here, else why not."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).exists():
        return "chromium is not installed (scripts/setup.sh installs it: apt-get install chromium)"
    return None


@contextlib.contextmanager
def chromium():
    """A headless chromium with a fresh profile (one per test module: playwright's sync API
    runs one instance per thread); pages come from `new_page`."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="worldgen-chromium-")
    try:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 900, "height": 560},
            )
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def new_page(ctx, width: int = 900, height: int = 560):
    """A page that records its uncaught errors in `page.errors`."""
    page = ctx.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def poll(page, expression: str, timeout: float = 30.0, interval: float = 0.02):
    """Evaluate `expression` (a JS function source) until it returns something truthy; the
    value, or TimeoutError. (Polling from Python: the page's Content-Security-Policy forbids
    the string eval that playwright's wait_for_function uses.)"""
    end = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"{expression} stayed falsy for {timeout} s; page errors: {page.errors}")
        time.sleep(interval)


def open_preview(page, url: str, query: str = "") -> dict:
    page.goto(url + query)
    return poll(page, "() => window.worldgenPreview && window.worldgenPreview.state.applied")


def capture_ids(page) -> np.ndarray:
    """The page's current view drawn with flat id colours at the shot's size, as instance ids."""
    out = page.evaluate("() => window.worldgenPreview.captureIds()")
    assert out["unknown"] == 0, f"{out['unknown']} pixels of no id colour (blending or antialiasing?)"
    ids = np.frombuffer(base64.b64decode(out["ids"]), "<u2").reshape(out["height"], out["width"])
    return ids.astype(np.int64)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def scrub_to(page, seconds: float) -> None:
    """Move the timeline's scrub bar as a user drags it (an input event on the range)."""
    page.eval_on_selector("#scrub", "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", seconds)
