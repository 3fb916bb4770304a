"""The Ray executor: frames and shots as tasks on a local Ray instance or a cluster.

The driver plans (which frames are missing, their content keys, each shot's depth range) and
does look development, so textures exist before any frame task starts. Frame tasks then run
the same `compute_frames` as a local render, on runs of consecutive frames (a whole shot for
painters whose frames depend on the previous one). Each task writes its frames atomically to
the output folder and the frame store, so a worker that dies loses nothing: Ray retries the
task, and the retry recomputes only the frames that are not there yet. Tasks that paint with a
diffusion model on CUDA ask Ray for a GPU.

On a cluster the output folder and the store must be on storage every node sees (the usual
render-farm arrangement); `--ray-address` points at the cluster."""

from __future__ import annotations

import os
from pathlib import Path

from worldgen.render.frames import (
    FRAMES_PER_TASK,
    compute_frames,
    frame_paths,
    shipped_options,
    task_runs,
    tools_from_spec,
    whole_runs,
)

RETRIES = 3


def render_frames_task(
    spec_json: str,
    base_dir: str,
    shot_id: str,
    frames: list,
    near_far,
    keys: dict,
    out: str,
    opt_fields: dict,
    backend: str,
    people: bool,
    store_root: str | None,
) -> dict:
    """One Ray task: rebuild the world from the resolved spec and compute these frames.
    With WORLDGEN_TASK_PIDS set to a folder, the task notes its worker's PID there first (how
    operations tooling, and the worker-kill test, find the workers)."""
    note = os.environ.get("WORLDGEN_TASK_PIDS")
    if note:
        Path(note).mkdir(parents=True, exist_ok=True)
        (Path(note) / f"{os.getpid()}-{shot_id}-{frames[0]}").write_text(str(os.getpid()))
    from worldgen.store import FrameStore

    spec, opt, world, lazy = tools_from_spec(spec_json, base_dir, opt_fields, backend)
    shot = spec.shot(shot_id)
    store = FrameStore(store_root) if store_root else None
    out_dir = Path(out)
    todo = {i for i in frames if not all((out_dir / p).exists() for p in frame_paths(shot.id, i, opt, people).values())}
    if todo and opt.paint and lazy.painter().sequential:
        todo = set(frames)  # a retried sequential shot repaints its chain
    done = []
    if todo:
        keys = {int(i): {name: tuple(v) for name, v in kv.items()} for i, kv in keys.items()}
        compute_frames(
            world, lazy, spec, shot, todo, tuple(near_far), keys, out_dir, opt, people, store, lambda: done.append(1)
        )
    p = lazy.painter_if_made()
    return {"frames": len(done), "pid": os.getpid(), "stats": p.stats() if p is not None else None}


def _gpu_per_task(opt, painter) -> float:
    """One GPU for a task whose painter evaluates a model on CUDA (asked for, or "auto" where
    there is one); none otherwise."""
    device = str((opt.painter_options or {}).get("device", "auto"))
    if painter is None or not painter.needs_model:
        return 0.0
    try:
        import torch

        return 1.0 if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()) else 0.0
    except ImportError:
        return 0.0


def start_ray(opt) -> bool:
    """Ray started here (a local instance, or a connection to `opt.ray_address`) unless it is
    already; True when this call started it (and so should shut it down)."""
    import ray

    if ray.is_initialized():
        return False
    kw = {"address": opt.ray_address} if opt.ray_address else {"num_cpus": opt.ray_workers or os.cpu_count()}
    ray.init(
        include_dashboard=False,
        log_to_driver=False,
        ignore_reinit_error=True,
        runtime_env={"env_vars": {k: v for k, v in os.environ.items() if k.startswith(("WORLDGEN_", "HF_"))}},
        **kw,
    )
    return True


def render_on_ray(
    spec, plans, out: Path, opt, backend: str, people: bool, store, advance, result, painter=None
) -> list[dict]:
    """Run the planned frames as Ray tasks; returns the painters' counters of every task.
    `painter`: the driver's (made, and its look development done, while planning); what it
    declares decides how shots split into tasks and whether tasks ask for a GPU."""
    try:
        import ray
    except ImportError:
        from worldgen.errors import BackendError

        raise BackendError("--executor ray needs Ray: pip install 'worldgen[ray]' (or pip install ray)") from None
    from worldgen.spec.loader import base_dir_of

    started = start_ray(opt)
    opt_fields = shipped_options(opt)
    sequential = whole_runs(painter)
    task = ray.remote(num_gpus=_gpu_per_task(opt, painter), max_retries=RETRIES, retry_exceptions=False)(
        render_frames_task
    )
    spec_json = spec.model_dump_json()
    base = str(base_dir_of(spec).resolve())
    refs = {}
    for k, frames in task_runs(plans, sequential, FRAMES_PER_TASK):
        shot, _, near_far, keys = plans[k]
        sub = {str(i): {name: list(v) for name, v in keys[i].items()} for i in frames}
        ref = task.remote(
            spec_json,
            base,
            shot.id,
            frames,
            list(near_far),
            sub,
            str(out),
            opt_fields,
            backend,
            people,
            str(store.root) if store is not None else None,
        )
        refs[ref] = len(frames)
    stats = []
    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                res = ray.get(ref)
                result.frames_rendered += refs[ref]
                advance(refs[ref])
                if res.get("stats"):
                    stats.append(res["stats"])
    finally:
        if started and not opt.ray_address:
            ray.shutdown()
    return stats
