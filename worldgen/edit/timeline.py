"""Where every film frame comes from: a title card, one shot's frame, two shots' frames in a
dissolve or wipe, a fade through black, or the credits.

Transitions follow a film editor's rules with the frames a shot has: a dissolve or wipe of d
seconds overlaps the end of one shot and the start of the next by round(d x fps) frames (the
film gets shorter by as much); a fade goes through black without overlap, half out and half in;
on the first shot a fade comes up from black."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FilmFrame:
    a: tuple | None = None  # (shot index, frame index) shown
    b: tuple | None = None  # the incoming shot's frame in a dissolve or wipe
    w: float = 0.0  # weight (dissolve) or revealed width (wipe) of b
    kind: str = "shot"  # shot | dissolve | wipe | title | credits
    black: float = 0.0  # 0 = as is, 1 = black
    card: int = 0  # frame index within a title or credits card


@dataclass
class Timeline:
    fps: float
    frames: list = field(default_factory=list)
    shot_start: list = field(default_factory=list)  # film frame of each shot's first frame
    shot_end: list = field(default_factory=list)  # film frame after each shot's last frame
    title_frames: int = 0
    credit_frames: int = 0

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps

    def seconds(self, frame: int) -> float:
        return frame / self.fps


def _card_info(block, default_duration: float):
    if block is None or block is False:
        return None
    return default_duration if block is True else block.duration


def build_timeline(spec, frame_counts: list[int]) -> Timeline:
    fps = spec.render.fps
    edit = spec.edit
    title_s = _card_info(edit.title, 3.0) if edit else None
    credits_s = _card_info(edit.credits, 4.0) if edit else None
    tl = Timeline(fps)
    tl.title_frames = max(1, round(title_s * fps)) if title_s else 0
    tl.credit_frames = max(1, round(credits_s * fps)) if credits_s else 0
    frames = [FilmFrame(kind="title", card=j) for j in range(tl.title_frames)]
    for i, (shot, n) in enumerate(zip(spec.shots, frame_counts)):
        t = shot.transition
        k = 0
        if t is not None and t.type in ("dissolve", "wipe") and i > 0:
            k = min(round(t.duration * fps), n, frame_counts[i - 1])
        start = len(frames) - k
        tl.shot_start.append(start)
        for j in range(n):
            f = start + j
            if j < k:  # the overlap: the outgoing shot's frame is already there
                fr = frames[f]
                fr.b, fr.w, fr.kind = (i, j), (j + 1) / (k + 1), t.type
            else:
                frames.append(FilmFrame(a=(i, j)))
        tl.shot_end.append(len(frames))
        if t is not None and t.type == "fade":
            h_in = round(t.duration * fps) if i == 0 else round(t.duration * fps / 2)
            for j in range(min(h_in, n)):  # up from black
                frames[start + j].black = max(frames[start + j].black, 1 - (j + 1) / (h_in + 1))
            if i > 0:
                h_out = min(round(t.duration * fps / 2), frame_counts[i - 1])
                end = tl.shot_end[i - 1]
                for j in range(h_out):  # the shot before goes down to black
                    frames[end - 1 - j].black = max(frames[end - 1 - j].black, 1 - (j + 1) / (h_out + 1))
    if edit is not None and edit.fade_out:
        h = min(round(edit.fade_out * fps), len(frames) - tl.title_frames)
        for j in range(h):
            f = len(frames) - 1 - j
            frames[f].black = max(frames[f].black, 1 - j / h)
    frames += [FilmFrame(kind="credits", card=j) for j in range(tl.credit_frames)]
    tl.frames = frames
    return tl
