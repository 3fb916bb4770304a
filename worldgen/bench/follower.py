"""Evaluating a render's frames in a second process while the render runs.

Rendering is mostly one core, so while a method renders, a second Python process evaluates each
frame as soon as its files land. Renders write every file atomically and in order, in the layout
docs/MANIFEST.md documents, so a file that exists is whole. Should the second process fail to
start or stop early, the benchmark evaluates in its own process instead: the numbers are the same."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from worldgen.bench.evaluate import ShotEval, evaluate_shots


class _Aborted(Exception):
    pass


class _FileWaiter:
    """Blocks until files exist; gives up when the render failed (an `abort` file appears) or
    finished (a `done` file appears) without writing them."""

    def __init__(self, signals: Path, poll_s: float = 0.02):
        self.done, self.abort, self.poll_s = signals / "done", signals / "abort", poll_s
        self.parent = os.getppid()  # if the parent dies, this process is re-parented: stop

    def __call__(self, paths) -> None:
        while True:
            if all(os.path.exists(p) for p in paths):
                return
            if self.abort.exists() or os.getppid() != self.parent:
                raise _Aborted()
            if self.done.exists():
                missing = [p for p in paths if not os.path.exists(p)]
                if missing:
                    raise FileNotFoundError(f"{missing[0]}: not written by the render")
            time.sleep(self.poll_s)


def follow_main() -> None:
    """Entry point of the metrics process: `python -m worldgen.bench.follower SIGNAL_DIR`. Reads the
    job (plans, config) from SIGNAL_DIR/job.pkl, evaluates frames as they land and writes
    (status, payload) to SIGNAL_DIR/result.pkl."""
    import pickle

    signals = Path(sys.argv[1])
    plans, cfg = pickle.loads((signals / "job.pkl").read_bytes())
    try:
        result = ("ok", evaluate_shots(plans, cfg, _FileWaiter(signals)))
    except _Aborted:
        result = ("aborted", None)
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which decides
        result = ("error", f"{type(e).__name__}: {e}")
    tmp = signals / "result.pkl.tmp"
    tmp.write_bytes(pickle.dumps(result))
    tmp.replace(signals / "result.pkl")


class Follower:
    """Evaluates a render's frames in a second Python process while the render runs.

    A plain subprocess (not multiprocessing) on purpose: spawned multiprocessing children
    re-import the caller's main script, which breaks any script that calls run_bench without
    an `if __name__ == "__main__"` guard; fork would copy a process full of ray-casting threads.
    The two sides talk through files in a private temporary folder."""

    def __init__(self, plans, cfg):
        import pickle
        import subprocess
        import tempfile

        self.signals = Path(tempfile.mkdtemp(prefix="worldgen-bench-"))
        (self.signals / "job.pkl").write_bytes(pickle.dumps((plans, cfg)))
        # the installed worldgen, found as this interpreter finds it (no search path of our own)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worldgen.bench.follower", str(self.signals)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )

    def _finish(self, signal: str, timeout: float | None) -> None:
        (self.signals / signal).touch()
        try:
            self.process.wait(timeout=timeout)
        except Exception:  # noqa: BLE001 - a stuck helper is killed, never waited on forever
            self.process.kill()
            self.process.wait()

    def cancel(self) -> None:
        self._finish("abort", 30)
        shutil.rmtree(self.signals, ignore_errors=True)

    def result(self) -> list[ShotEval]:
        """The evaluations, once the helper has caught up with the finished render."""
        import pickle

        self._finish("done", None)
        try:
            status, payload = pickle.loads((self.signals / "result.pkl").read_bytes())
        except OSError:
            status, payload = "error", f"the metrics process stopped (exit code {self.process.returncode})"
        finally:
            shutil.rmtree(self.signals, ignore_errors=True)
        if status != "ok":
            raise RuntimeError(f"metrics while rendering: {payload}")
        return payload


if __name__ == "__main__":
    follow_main()
