"""The local executor: the planned frames of every shot computed on this machine, in this
process and, for a large render, in worker processes beside it.

Most of a frame's cost is Python and numpy work that runs on one core, so one process leaves
the other cores idle. With more than one job, the shots' frames are cut into runs of
consecutive frames (`task_runs`, as for Ray); this process and the workers take the next
untaken run until none is left. Every process runs the same `compute_frames`, and a frame's
bytes do not depend on which process painted it or what it painted before, so any number of
jobs gives the same files (tests/test_local_jobs.py).

Workers are started with the spawn method and build the world anew: a process forked from
one that has run OpenMP or Embree threads can hang. A spawned worker re-imports its caller's
main module, so the library's default is one process (`jobs=1`); the CLI asks for `jobs=0`,
as many as pay.

WORLDGEN_JOBS_PARENT_IDLE=1 (for tests) makes this process leave every run to the workers:
how the tests make sure the workers, which start later, really paint frames."""

from __future__ import annotations

import os
import queue
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from worldgen.errors import BackendError
from worldgen.render.frames import (
    LazyTools,
    compute_frames,
    shipped_options,
    task_runs,
    tools_from_spec,
    whole_runs,
)
from worldgen.render.options import RenderOptions
from worldgen.spec.models import Spec

# below this much painting (frames x pixels), starting a worker costs more than it saves: by
# default a render takes workers only above it (48 frames at 512x288)
MIN_PIXELS_FOR_WORKERS = 48 * 512 * 288
POLL_S = 0.5  # how often a waiting process checks that its workers are alive


MAX_AUTO_JOBS = 8  # by default no more processes than this: each holds a whole world


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity (which `taskset` and containers narrow),
    and no more than a cgroup CPU quota allows (`docker --cpus=2` on a large host)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return n


def worker_count(opt: RenderOptions, plans: list, spec: Spec, painter) -> int:
    """How many worker processes beside this one: `opt.jobs` - 1 (no more than there are runs
    of frames to share); with `jobs=0`, one per further usable CPU (at most MAX_AUTO_JOBS in
    all) for a render large enough to repay starting them. None for a painter that evaluates
    a neural network: one model in memory, and its threads are torch's. `painter` may be the
    painter's class (what `early_workers` knows before one is made); None: nothing is painted."""
    if painter is not None and painter.needs_model:
        return 0
    runs = len(task_runs(plans, whole_runs(painter)))
    if opt.jobs >= 1:
        return max(0, min(opt.jobs - 1, runs - 1))
    frames = sum(len(todo) for _, todo, _, _ in plans)
    if painter is None or frames * spec.render.width * spec.render.height < MIN_PIXELS_FOR_WORKERS:
        return 0
    return max(0, min(min(usable_cpus(), MAX_AUTO_JOBS) - 1, runs - 1))


@dataclass
class LocalRun:
    """What the worker processes did: how many there were, the frames they computed, and
    their painters' counters (for the manifest)."""

    workers: int = 0
    frames_by_workers: int = 0
    started_early: bool = False  # the workers were started by `early_workers`, before planning
    stats: list = field(default_factory=list)


def render_locally(
    world, tools: LazyTools, spec: Spec, plans: list, out: Path, opt: RenderOptions, people: bool, store, on_frame
) -> LocalRun:
    """Compute each shot's `todo` frames; `plans` holds (shot, todo, near_far, keys) per shot."""
    painter = tools.painter_if_made()
    extra = worker_count(opt, plans, spec, painter)
    if extra == 0:
        release_early()  # started by the CLI for a render that turned out not to want them
        for shot, todo, near_far, keys in plans:
            compute_frames(world, tools, spec, shot, todo, near_far, keys, out, opt, people, store, on_frame)
        return LocalRun()
    return _with_workers(extra, world, tools, spec, plans, out, opt, people, store, on_frame, whole_runs(painter))


class Workers:
    """Worker processes that build their world (and painter) as soon as they start, then wait
    for the runs of frames to compute: started by `early_workers` while this process is still
    building its own world and planning, or by the render itself.

    Each worker takes one message from `inbox`: (runs, people, kernel threads), or None to quit
    unused."""

    def __init__(self, count: int, setup: tuple):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.setup = setup
        self.threads = _threads_each(count + 1)  # until `give` knows how many take work
        self.next_run = ctx.Value("i", 0)  # the runs are taken in order, by whichever process is free
        self.results = ctx.Queue()
        self.inbox = ctx.Queue()
        self.processes = [
            ctx.Process(
                target=frame_worker, args=(self.next_run, self.results, self.inbox, setup, self.threads), daemon=True
            )
            for _ in range(count)
        ]
        for w in self.processes:
            w.start()
        self._told = 0

    def give(self, runs: list, people: bool, count: int) -> None:
        """Hand `runs` to `count` of the workers (whichever ask first); the rest quit. The
        compiled kernels' threads are the CPUs shared out among those and this process."""
        self.threads = _threads_each(count + 1)
        for k in range(len(self.processes)):
            self.inbox.put((runs, people, self.threads) if k < count else None)
        self._told = len(self.processes)

    def stop(self, now: bool) -> None:
        """Let the workers end (`now`: terminate them, after an error or an interrupt; every file
        they wrote is whole); a worker still waiting for its runs is told to quit."""
        for _ in range(self._told, len(self.processes)):
            self.inbox.put(None)
        self._told = len(self.processes)
        with self.next_run.get_lock():
            self.next_run.value = 1 << 30  # the workers take nothing more
        for w in self.processes:
            if now:
                w.terminate()
            w.join(timeout=10)
            if w.is_alive():
                w.kill()
        # runs nobody read (a worker that failed or was stopped first) would keep the queue's
        # feeder thread, and with it this process, waiting at exit for a reader
        self.inbox.cancel_join_thread()
        self.inbox.close()


_early = None  # the Workers started by early_workers for the render to come


@contextmanager
def early_workers(spec: Spec, opt: RenderOptions, out: Path):
    """Start the render's worker processes now, before this process builds its world and plans
    the frames, when the render will want them: a worker takes about a second to import and
    build its world, which then overlaps this process's own start instead of following it.
    The render takes them over (`_with_workers`) when it wants workers for the same spec and
    options; the render stops them as soon as it knows it will not (`release_early`: its frames
    are in the store, or it wants fewer), and the block's end stops any left. Used by the CLI: a
    library caller's render starts its workers itself (`RenderOptions.jobs`)."""
    global _early
    from worldgen.camera import frame_count
    from worldgen.paint.registry import painter_class

    count = 0
    if opt.executor == "local" and opt.frames is None and opt.jobs != 1:
        painter = painter_class(opt.painter or spec.render.painter) if opt.paint else None
        if painter is not None or not opt.paint:  # (a factory's painter: known once it is made)
            shots = [s for s in spec.shots if not opt.shots or s.id in opt.shots]
            plans = [(s, set(range(frame_count(s, spec.render.fps))), None, None) for s in shots]
            count = worker_count(opt, plans, spec, painter)
    if count:
        store_root = None
        if opt.use_store:
            from worldgen.store import FrameStore

            store_root = str(FrameStore(opt.store).root)
        _early = Workers(count, _setup(spec, opt, out, opt.backend or spec.render.backend, store_root))
    try:
        yield
    finally:
        release_early()  # not taken by the render (a bad spec, an interrupt): stopped at once


def _setup(spec: Spec, opt: RenderOptions, out: Path, backend: str, store_root: str | None) -> tuple:
    """What a worker builds its world and tools from (the same for an early start and a late one)."""
    from worldgen.spec.loader import base_dir_of

    return (
        spec.model_dump_json(),
        str(base_dir_of(spec).resolve()),
        shipped_options(opt),
        backend,
        store_root,
        str(out),
    )


def _take_early(setup: tuple, extra: int):
    """The early workers, when they were started for this very render and are enough (others
    are stopped now, not left waiting until the CLI's block ends)."""
    global _early
    workers = _early
    if workers is None:
        return None
    if workers.setup != setup or len(workers.processes) < extra:
        release_early()
        return None
    _early = None  # the render owns them now
    return workers


def release_early() -> None:
    """Stop early workers the render will not use (its frames are all done or in the store, or
    it wants none): they have written nothing, and would hold a world's memory and take CPU
    from this process until the CLI's block ends."""
    global _early
    workers, _early = _early, None
    if workers is not None:
        workers.stop(now=True)


def _with_workers(extra, world, tools, spec, plans, out, opt, people, store, on_frame, whole) -> LocalRun:
    runs = []
    for k, frames in task_runs(plans, whole):
        shot, _, near_far, keys = plans[k]
        runs.append((shot.id, frames, tuple(near_far), {i: keys[i] for i in frames}))
    setup = _setup(spec, opt, out, tools.backend, str(store.root) if store is not None else None)
    early = _take_early(setup, extra)
    workers = early or Workers(extra, setup)
    workers.give(runs, people, extra)
    next_run, results = workers.next_run, workers.results
    run, finished = LocalRun(workers=extra, started_early=early is not None), 0
    before = _set_threads(workers.threads)

    def take(block: bool) -> None:
        """Handle what the workers reported: a frame written, a worker's counters, an error."""
        nonlocal finished
        while True:
            try:
                msg = results.get(timeout=POLL_S) if block else results.get_nowait()
            except queue.Empty:
                if block:
                    # any of them: the runs go to whichever asked first (those told to quit end with 0)
                    dead = [w for w in workers.processes if w.exitcode not in (None, 0)]
                    if dead:
                        raise BackendError(
                            f"a frame worker stopped (exit code {dead[0].exitcode}); run the render again to resume"
                        ) from None
                return
            if msg[0] == "frame":
                run.frames_by_workers += 1
                on_frame()
            elif msg[0] == "stats":
                finished += 1
                if msg[1]:
                    run.stats.append(msg[1])
            elif msg[0] == "error":
                if os.environ.get("WORLDGEN_DEBUG"):
                    sys.stderr.write(msg[2])
                raise BackendError(f"a frame worker failed: {msg[1]} (set WORLDGEN_DEBUG=1 for its traceback)")
            if block:
                return

    failed = True
    try:
        by_id = {shot.id: shot for shot, *_ in plans}
        idle = os.environ.get("WORLDGEN_JOBS_PARENT_IDLE") == "1"
        while not idle and (n := _next(next_run, len(runs))) is not None:  # this process takes runs too
            shot_id, frames, near_far, keys = runs[n]
            compute_frames(
                world, tools, spec, by_id[shot_id], set(frames), near_far, keys, out, opt, people, store, on_frame
            )
            take(block=False)
        while finished < extra:
            take(block=True)
        failed = False
    finally:
        _set_threads(before)
        workers.stop(now=failed)
    return run


def _threads_each(processes: int) -> int:
    """Threads for the compiled kernels of each of `processes` processes: the CPUs shared out,
    so that processes do not take cores from each other (the kernels map pixels to pixels,
    so the thread count changes no byte)."""
    return max(1, usable_cpus() // processes)


def _set_threads(n: int) -> int:
    """Set this thread's numba kernel threads to `n` (at most numba's pool); returns the old count."""
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    return old


def _next(counter, total: int) -> int | None:
    """The index of the next run nobody has taken, or None when all are taken."""
    with counter.get_lock():
        n = counter.value
        if n >= total:
            return None
        counter.value = n + 1
        return n


def frame_worker(next_run, results, inbox, setup, threads: int) -> None:
    """A worker process: build the world and the painter from the resolved spec, wait for the
    runs of frames, then compute the next untaken run until none is left; each written frame,
    and at the end the painter's counters, go back on `results`. An error goes back as one line
    and its traceback. Ctrl-C is the parent's to handle: it stops the workers."""
    import signal
    import traceback

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    spec_json, base_dir, opt_fields, backend, store_root, out = setup
    try:
        _set_threads(threads)  # the world and painter are built beside the parent's own
        from worldgen.store import FrameStore

        spec, opt, world, lazy = tools_from_spec(spec_json, base_dir, opt_fields, backend)
        if opt.paint:
            lazy.painter()  # made while the parent plans, not after
        store = FrameStore(store_root) if store_root else None
        job = inbox.get()
        if job is None:  # not needed after all (the store held the frames, or fewer runs)
            return
        runs, people, threads = job
        _set_threads(threads)
        while (n := _next(next_run, len(runs))) is not None:
            shot_id, frames, near_far, keys = runs[n]
            compute_frames(
                world,
                lazy,
                spec,
                spec.shot(shot_id),
                set(frames),
                near_far,
                keys,
                Path(out),
                opt,
                people,
                store,
                lambda: results.put(("frame",)),
            )
        p = lazy.painter_if_made()
        results.put(("stats", p.stats() if p is not None else None))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which stops the render
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        results.put(("error", last, traceback.format_exc()))
