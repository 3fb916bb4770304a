"""The render's progress bar, on stderr: stdout carries only results, whole lines a program can read."""

from __future__ import annotations

from worldgen.console import console


class FrameProgress:
    def __init__(self, enabled: bool, total: int, title: str):
        self.enabled, self.total, self.title = enabled, total, title

    def __enter__(self):
        if not self.enabled:
            return lambda k=1: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        # on stderr: stdout carries only results (counts, paths), whole lines a program can read
        self.p = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("frames"),
            TimeRemainingColumn(),
            transient=False,
            console=console(stderr=True),
        )
        self.p.start()
        task = self.p.add_task(self.title[:40], total=self.total)
        return lambda k=1: self.p.advance(task, k)

    def __exit__(self, *a):
        if self.enabled:
            self.p.stop()
