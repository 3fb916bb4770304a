"""The AnimateDiff refine backend over a whole shot: full-length overlapping windows whose
shared frames are blended at every step, its own AnimateDiff scheduler, the shot's style in
the prompt, and the base's CPU offload respected."""

import copy
import dataclasses

import numpy as np
import pytest

from worldgen.spec import load_spec_text

torch = pytest.importorskip("torch")

SCENE = """
worldgen: 1
seed: 5
style: "film photo"
render: {width: 64, height: 48, fps: 8}
world:
  objects:
    - {id: ground, shape: plane, size: [10, 10], appearance: "green grass"}
    - {id: crate, shape: box, size: [1, 1, 1], position: [0, 0.5, 0], appearance: "wooden crate"}
shots:
  - {id: a, duration: 0.75, style: "charcoal sketch", camera: {move: orbit, target: crate, radius: 4, height: 1.5, degrees: 40}}
"""


def test_window_plan_covers_the_shot_with_full_overlapping_windows():
    from worldgen.diffusion.video_refine import window_plan

    for n, size, overlap in ((40, 16, 4), (29, 16, 4), (20, 16, 4), (16, 16, 4), (6, 4, 2), (100, 16, 0)):
        plan = window_plan(n, size, overlap)
        assert plan[0].start == 0 and plan[-1].stop == n
        assert all(w.stop - w.start == size and w.pad == 0 for w in plan)  # never a short window
        for a, b in zip(plan, plan[1:]):
            shared = a.stop - b.start
            assert shared >= overlap and len(b.blend) == shared
            assert b.blend == tuple((shared - m) / (shared + 1) for m in range(shared))  # 1 -> 0 across the seam
    assert [(w.start, w.stop) for w in window_plan(40, 16, 4)] == [(0, 16), (12, 28), (24, 40)]
    short = window_plan(5, 16, 4)
    assert [(w.start, w.stop, w.size, w.pad) for w in short] == [(0, 5, 16, 11)]  # padded to full length
    with pytest.raises(Exception, match="overlap"):
        window_plan(10, 4, 4)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from worldgen.compat import torchvision_importable

    torchvision_importable()
    from support.tiny import build_tiny_motion_adapter, build_tiny_sd15

    d = tmp_path_factory.mktemp("tinyvid")
    build_tiny_sd15(d / "m", controlnets=("depth",))
    build_tiny_motion_adapter(d / "motion")
    return d


def options(d, **kw):
    o = {
        "base": str(d / "m"),
        "controlnets": {"depth": str(d / "m" / "controlnet-depth")},
        "steps": 4,
        "views": 1,
        "view_size": 64,
        "texture_size": 32,
        "cache": str(d / "cache"),
        "motion_adapter": str(d / "motion"),
        "refine": 0.5,
        "chunk": 4,
        "overlap": 2,
        "device": "cpu",
    }
    o.update(kw)
    return o


def test_windows_overlap_and_blend_at_every_step(tiny, tmp_path, monkeypatch):
    """A 6-frame shot in windows of 4 sharing 2 frames: every call holds 4 frames, the second
    starts on the first's last two, and after each step its latents on those two are
    w * (the first window's at that step) + (1 - w) * its own, w = 2/3 then 1/3. The video
    pipeline has AnimateDiff's scheduler (the base keeps its own); the prompt has the shot's style."""
    import diffusers

    from worldgen.render import RenderOptions, render

    cls = diffusers.AnimateDiffVideoToVideoControlNetPipeline
    real_call = cls.__call__
    calls = []

    def spy(self, *a, **kw):
        n = kw["latents"].shape[2] if kw.get("latents") is not None else len(kw["video"])
        rec = {
            "frames": n,
            "prompt": kw["prompt"],
            "scheduler": dict(self.scheduler.config),
            "scheduler_obj": self.scheduler,
            "cond": [np.asarray(c) for c in kw["conditioning_frames"]],
            "steps": [],
        }
        inner = kw.get("callback_on_step_end")

        def cb(p, i, t, ckw):
            before = ckw["latents"].clone()
            out = inner(p, i, t, ckw) if inner is not None else {"latents": ckw["latents"]}
            rec["steps"].append((before, out["latents"].clone()))
            return out

        kw["callback_on_step_end"] = cb
        kw.setdefault("callback_on_step_end_tensor_inputs", ["latents"])
        calls.append(rec)
        return real_call(self, *a, **kw)

    monkeypatch.setattr(cls, "__call__", spy)
    res = render(
        load_spec_text(SCENE, check=False),
        tmp_path / "v",
        RenderOptions(painter="baked+animatediff", painter_options=options(tiny), progress=False, film=False),
    )
    assert len(res.manifest["shots"][0]["frames"]) == 6 and res.frames_rendered == 6
    assert [c["frames"] for c in calls] == [4, 4]
    first, second = calls
    for k in range(2):  # the second window starts on the first one's last two frames
        assert np.array_equal(second["cond"][k], first["cond"][2 + k])
    assert not np.array_equal(second["cond"][2], first["cond"][3])
    assert len(first["steps"]) == len(second["steps"]) == 2
    w = torch.tensor([2 / 3, 1 / 3]).view(1, 1, 2, 1, 1)
    for (_, after1), (before2, after2) in zip(first["steps"], second["steps"]):
        want = w * after1[:, :, 2:4] + (1 - w) * before2[:, :, :2]
        assert torch.allclose(after2[:, :, :2], want, atol=1e-6)
        assert torch.equal(after2[:, :, 2:], before2[:, :, 2:])
    sc = first["scheduler"]
    assert type(first["scheduler_obj"]).__name__ == "DDIMScheduler"
    assert (sc["beta_schedule"], sc["clip_sample"], sc["timestep_spacing"], sc["steps_offset"]) == (
        "linear",
        False,
        "linspace",
        1,
    )
    from worldgen.diffusion.baked import models_for

    base = models_for(options(tiny)).loaded.pipe.scheduler
    assert base is not first["scheduler_obj"] and base.config.beta_schedule == "scaled_linear"
    assert "charcoal sketch" in first["prompt"] and "film photo" not in first["prompt"]
    assert res.manifest["painter_stats"]["windows"] == 2


def test_video_pipe_respects_cpu_offload(tiny, monkeypatch):
    """With cpu_offload the video pipeline is offloaded like the base (diffusers' model
    offload), not moved to the device whole (which would undo the offload)."""
    import diffusers

    from worldgen.diffusion import devices
    from worldgen.diffusion.baked import models_for
    from worldgen.paint.registry import make_painter
    from worldgen.passes.sequence import Rasterizer
    from worldgen.world import World

    world = World(load_spec_text(SCENE, check=False))
    painter = make_painter("baked+animatediff", world, Rasterizer(world), options(tiny))
    models = copy.copy(models_for(options(tiny)))
    models.settings = dataclasses.replace(models.settings, cpu_offload=True)
    painter.models = models
    moved, offloaded = [], []
    monkeypatch.setattr(
        diffusers.AnimateDiffVideoToVideoControlNetPipeline,
        "to",
        lambda self, *a, **kw: moved.append((a, kw)) or self,
        raising=False,
    )
    monkeypatch.setattr(
        devices,
        "apply_memory_options",
        lambda pipe, slicing=False, offload=False, device=None: offloaded.append((type(pipe).__name__, offload)),
    )
    painter._pipe()
    assert ("AnimateDiffVideoToVideoControlNetPipeline", True) in offloaded
    assert not [m for m in moved if m[0] or "device" in m[1]], moved


def test_too_few_steps_for_the_strength_is_one_clear_refusal(tiny, tmp_path):
    """2 steps at strength 0.3: diffusers would denoise int(0.6) = 0 steps and fail deep inside
    with a tensor size error; worldgen refuses before any model loads, naming the fix."""
    from worldgen.errors import WorldgenError
    from worldgen.render import RenderOptions, render

    with pytest.raises(WorldgenError, match=r"2 steps at refine strength 0.3 leave no denoising step; give at least 4"):
        render(
            load_spec_text(SCENE, check=False),
            tmp_path / "v",
            RenderOptions(
                painter="baked+animatediff",
                painter_options=options(tiny, steps=2, refine=0.3),
                progress=False,
                film=False,
            ),
        )
