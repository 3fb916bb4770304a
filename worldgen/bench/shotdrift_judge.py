"""Camera-move adherence judged by `shotdrift`, an independent tool that reads only pixels.

worldgen knows each camera exactly, so judging its own moves with its own geometry would prove
nothing; shotdrift (PyPI, MIT) estimates pan, scale and roll from the painted frames alone and
says whether a declared move was HELD. It has a small vocabulary of 2D image motions, so only
the worldgen moves that correspond to one are judged; the rest are "not judged" with a reason.

Where shotdrift is not valid. shotdrift fits ONE similarity motion (pan, scale, roll) to a 4x4
grid of phase-correlated tiles per frame pair, drops the worst quarter of the tiles and sums the
per-pair estimates into a camera path; "locked off" then means every channel of that summed path
stays under a floor of 0.02 (frame widths, log scale, radians). Objects that move on their own
under a locked-off camera pull the tiles they cover (and tiles they only partly cover, which the
trimming does not drop) towards their motion: a bias of a few thousandths per pair, which the
summing turns into more than the floor over a few seconds. On the suite's crossing_occluders
(three objects crossing, up to 31 % of the picture moving) shotdrift 0.2.2 measured a scale
drift of 0.10 on the exact procedural render and called the static camera NOT HELD, a false
verdict (the camera is exactly still by construction). So a `static` expectation is judged only
where the exact passes show that at most `STATIC_MAX_MOVING_SHARE` of the picture moves between
any two frames (`moving_share`, from `metrics.still_pixels`); otherwise the shot is "not judged"
with that share as the reason. Moves with a direction (dolly, pan, ...) are judged everywhere:
their test (net motion over a floor, in the right direction, <= 25 % backtracking) is not
upset by such small biases.

Nothing here may crash a benchmark: when shotdrift is missing or fails, every shot reads
"unavailable: <reason>".
"""

from __future__ import annotations

import numpy as np

# verdicts as they appear in results and tables
HELD, NOT_HELD, NOT_MEASURABLE = "HELD", "NOT HELD", "NOT MEASURABLE"
NOT_JUDGED, UNAVAILABLE = "not judged", "unavailable"

# a static expectation is judged only when no more than this share of the picture moves between
# two frames (see the module docstring; calibrated on procedural renders, docs/BENCHMARK.md)
STATIC_MAX_MOVING_SHARE = 0.01

# shotdrift measures at most this long side (its own default is 512); frames are shrunk to it
# while they stream past, so a 30 s shot costs ~100 MB instead of a full-size stack
ANALYSIS_MAX_SIDE = 256

_NO_EQUIVALENT = {
    "orbit": "an orbit is parallax around a fixed aim; shotdrift has no orbit",
    "crane": "a crane rises and moves while keeping its aim; no single 2D move",
    "track": "a track follows its subject; the subject holds still while the set slides",
    "over_the_shoulder": "follows two heads; no fixed 2D move",
    "close_up": "follows a head; no fixed 2D move",
    "keyframes": "an explicit path; no single named move",
}


def availability() -> tuple[bool, str]:
    """(True, version) when shotdrift imports here, else (False, why not)."""
    try:
        import shotdrift
    except Exception as e:  # noqa: BLE001 - any import failure means "cannot judge here"
        return False, f"shotdrift unavailable: {type(e).__name__}: {e} (pip install shotdrift)"
    return True, getattr(shotdrift, "__version__", "unknown")


def _sign_name(value: float | None, positive: str, negative: str) -> str:
    if not value:
        return "static"
    return positive if value > 0 else negative


def expected_move(camera: dict) -> tuple[str | None, str]:
    """The shotdrift move name for a worldgen camera (a spec `camera` dict), or (None, reason).

    Signs follow shotdrift's camera-relative vocabulary: a camera panning right is `pan-right`.
    Truck and pedestal with a fixed `look_at` keep their orientation, so the picture translates
    like a pan or tilt: they are judged as that 2D equivalent. With a `target` they keep
    re-aiming and have none."""
    move = camera.get("move")
    if camera.get("keyframes"):
        keys = camera["keyframes"]
        if len(keys) == 1:
            return "static", "one keyframe: the camera holds"
        return None, _NO_EQUIVALENT["keyframes"]
    if move == "static":
        return "static", "static"
    if move == "dolly":
        return _sign_name(camera.get("distance"), "dolly-in", "dolly-out"), "dolly"
    if move == "zoom":
        from worldgen.camera import DEFAULT_FOV, lens_to_fov

        start = lens_to_fov(camera["lens_mm"]) if camera.get("lens_mm") else (camera.get("fov") or DEFAULT_FOV)
        end = lens_to_fov(camera["lens_mm_end"]) if camera.get("lens_mm_end") else camera.get("fov_end")
        if end is None:
            return None, "zoom without an end field of view"
        return _sign_name(start - end, "zoom-in", "zoom-out"), "zoom (a narrower field of view zooms in)"
    if move == "pan":
        return _sign_name(camera.get("degrees"), "pan-right", "pan-left"), "pan"
    if move == "tilt":
        return _sign_name(camera.get("degrees"), "tilt-up", "tilt-down"), "tilt"
    if move == "roll":  # worldgen: + turns the camera clockwise; shotdrift: roll-cw likewise
        return _sign_name(camera.get("degrees"), "roll-cw", "roll-ccw"), "roll"
    if move in ("truck", "pedestal"):
        if camera.get("target") is not None:
            return None, f"a {move} that keeps re-aiming at its target has no single 2D move"
        distance = camera.get("distance")
        if move == "truck":
            return _sign_name(distance, "pan-right", "pan-left"), "truck, judged as its 2D equivalent (pan)"
        return _sign_name(distance, "tilt-up", "tilt-down"), "pedestal, judged as its 2D equivalent (tilt)"
    if move in _NO_EQUIVALENT:
        return None, _NO_EQUIVALENT[move]
    return None, f"unknown move {move!r}"


def analysis_frame(frame: np.ndarray, max_side: int = ANALYSIS_MAX_SIDE) -> np.ndarray:
    """A frame shrunk (aspect kept, even sides) to what shotdrift will measure, uint8 RGB."""
    from PIL import Image

    h, w = frame.shape[:2]
    scale = min(1.0, max_side / max(w, h))
    tw, th = max(16, int(round(w * scale))), max(16, int(round(h * scale)))
    tw, th = tw - tw % 2, th - th % 2
    if (tw, th) == (w, h):
        return np.ascontiguousarray(frame[..., :3])
    return np.asarray(Image.fromarray(np.ascontiguousarray(frame[..., :3])).resize((tw, th), Image.BILINEAR))


def valid_for(expect: str | None, moving_share: float | None) -> tuple[bool, str]:
    """Whether shotdrift's verdict on `expect` can be trusted for a shot in which at most
    `moving_share` of the picture moves on its own between two frames (None: not known, which a
    static expectation cannot be judged without)."""
    if expect != "static":
        return True, ""
    if moving_share is None:
        return False, "a locked-off shot is judged only with the exact passes' moving share, which is missing"
    if moving_share > STATIC_MAX_MOVING_SHARE:
        return False, (
            f"{moving_share:.1%} of the picture moves on its own between two frames (exact flow); "
            "shotdrift reads moving subjects as camera motion, so a locked-off camera is judged only "
            f"where at most {STATIC_MAX_MOVING_SHARE:.1%} moves"
        )
    return True, ""


def judge(
    frames, camera: dict, fps: float = 0.0, max_side: int = ANALYSIS_MAX_SIDE, moving_share: float | None = None
) -> dict:
    """Judge one shot: whether the painted frames hold the move the spec asked for.

    `moving_share` is the largest share of the picture that moved between two consecutive frames
    by the exact passes (`1 - metrics.still_pixels(...).mean()`): a static expectation is judged
    only where it is small enough for shotdrift to be valid (`valid_for`).

    Returns {verdict, expect, detail, ...}: verdict is HELD / NOT HELD / NOT MEASURABLE, or
    "not judged" (no shotdrift equivalent, or outside its validity) or "unavailable" (shotdrift
    missing or failed)."""
    expect, why = expected_move(camera)
    out = {
        "move": camera.get("move") or ("keyframes" if camera.get("keyframes") else None),
        "expect": expect,
        "verdict": NOT_JUDGED,
        "detail": why,
        "findings": [],
        "moving_share": moving_share,
    }
    if expect is None:
        return out
    ok, version = availability()
    if not ok:
        return out | {"verdict": UNAVAILABLE, "detail": version}
    valid, why_not = valid_for(expect, moving_share)
    if not valid:
        return out | {"detail": why_not}
    out["shotdrift_version"] = version
    return out | measure(frames, expect, fps, max_side)


def measure(frames, expect: str, fps: float = 0.0, max_side: int = ANALYSIS_MAX_SIDE) -> dict:
    """shotdrift's own verdict on the frames for a move name, with no validity restriction (what
    `judge` calls once a shot passed `valid_for`; benchmarks/shotdrift_validity.py calls it to
    measure where the restriction must lie)."""
    if len(frames) < 2:
        return {"verdict": NOT_MEASURABLE, "detail": "fewer than two frames"}
    try:
        from shotdrift import measure_frames

        stack = np.stack([analysis_frame(np.asarray(f), max_side) for f in frames])
        # one worldgen shot is one take: shotdrift's cut detection would only add doubt
        result = measure_frames(stack, expect=expect, max_side=max_side, segment=False, fps=float(fps))
    except Exception as e:  # noqa: BLE001 - an outside tool's failure is reported, never raised
        return {"verdict": UNAVAILABLE, "detail": f"shotdrift failed: {type(e).__name__}: {e}"}
    verdict_of = {True: HELD, False: NOT_HELD}
    expectation = result.expect
    if expectation is None or not expectation.measurable:
        verdict = NOT_MEASURABLE
    else:
        verdict = verdict_of[bool(expectation.ok)]
    path = result.path
    return {
        "verdict": verdict,
        "detail": expectation.detail if expectation is not None else "no measurement",
        "findings": [f"{f.code} ({f.severity})" for f in result.findings],
        "dominant": getattr(path, "dominant", None),
        "confidence": float(path.confidence) if path is not None and np.isfinite(path.confidence) else None,
    }
