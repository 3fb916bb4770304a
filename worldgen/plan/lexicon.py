"""The rule reader's vocabulary, as word classes rather than phrase lists.

A prompt says "just left of", "at the left-hand side of", "slightly to the left of": one
relation in many wordings. Instead of listing each phrase, the reader works on a normal form
of the text: hyphens become spaces, verbs are reduced to their lemma ("gazing" -> gaze,
"dashes" -> dash), degree words that do not change the relation ("just", "slightly",
"directly", "a little") are dropped, and each relation, motion direction and camera move is a
class of lemmas combined by a small grammar (preposition, direction word, frame word: "to the
left hand side of" = [to] [the] LEFT [hand] [side] of)."""

from __future__ import annotations

import re
from functools import lru_cache

# degree words and hedges: they qualify a relation but never change which one it is
MODIFIERS = {
    "just",
    "slightly",
    "directly",
    "immediately",
    "somewhat",
    "very",
    "squarely",
    "partly",
    "partially",
    "exactly",
    "nearly",
    "almost",
    "roughly",
    "about",
    "approximately",
    "neatly",
    "comfortably",
    "still",
}
MODIFIER_PHRASES = r"\b(a little|a bit|a little bit|a tad|a touch|a few (metres|meters|feet|steps))\b"

# verbs the reader knows, by lemma (the base form); other words pass through unchanged
MOTION_VERBS = {
    "drive",
    "roll",
    "walk",
    "run",
    "move",
    "sail",
    "fly",
    "go",
    "ride",
    "slide",
    "travel",
    "cross",
    "race",
    "drift",
    "hop",
    "wander",
    "dash",
    "gallop",
    "trot",
    "jog",
    "stroll",
    "march",
    "stride",
    "amble",
    "saunter",
    "hurry",
    "rush",
    "speed",
    "glide",
    "swim",
    "crawl",
    "creep",
    "scurry",
    "scamper",
    "waddle",
    "skate",
    "cycle",
    "pedal",
    "bounce",
    "head",
    "advance",
    "approach",
    "retreat",
    "charge",
    "sprint",
    "swoop",
    "paddle",
    "cruise",
    "coast",
    "tumble",
    "slither",
    "prowl",
    "plod",
    "trudge",
    "flutter",
    "jump",
    "leap",
    "skip",
    "zip",
    "bolt",
    "scuttle",
    "lumber",
    "shuffle",
    "tiptoe",
    "steer",
    "taxi",
    "flee",
    "return",
    "hobble",
    "limp",
    "meander",
    "roam",
    "rove",
    "step",
    "chase",
    "come",
}
POSTURE_VERBS = {
    "sit",
    "stand",
    "lie",
    "rest",
    "wait",
    "sleep",
    "lean",
    "hang",
    "perch",
    "nap",
    "graze",
    "rise",
    "park",
    "place",
    "set",
    "stack",
    "tuck",
    "keep",
    "pitch",
    "hide",
    "stay",
    "lay",
    "put",
    "loom",
    "tower",
    "crouch",
    "kneel",
    "huddle",
    "settle",
    "land",
    "balance",
    "float",
    "hover",
    "curl",
    "play",
    "watch",
    "look",
    "gaze",
    "stare",
    "peer",
    "glance",
    "face",
    "point",
    "turn",
    "eye",
    "observe",
    "orient",
    "paint",
    "colour",
    "color",
    "shine",
    "glow",
    "stop",
    "pause",
    "appear",
    "nestle",
    "poke",
}
CAMERA_VERBS = {
    "orbit",
    "circle",
    "revolve",
    "rotate",
    "wheel",
    "arc",
    "swing",
    "sweep",
    "spin",
    "loop",
    "curve",
    "push",
    "pull",
    "dolly",
    "edge",
    "inch",
    "close",
    "withdraw",
    "recede",
    "draw",
    "back",
    "truck",
    "strafe",
    "sidestep",
    "shift",
    "slip",
    "crab",
    "scoot",
    "pan",
    "swivel",
    "whip",
    "yaw",
    "tilt",
    "angle",
    "aim",
    "tip",
    "pitch",
    "crane",
    "boom",
    "jib",
    "lift",
    "ascend",
    "climb",
    "raise",
    "elevate",
    "levitate",
    "pedestal",
    "lower",
    "descend",
    "drop",
    "sink",
    "fall",
    "dip",
    "zoom",
    "punch",
    "tighten",
    "magnify",
    "widen",
    "follow",
    "track",
    "trail",
    "tail",
    "shadow",
    "accompany",
    "pursue",
    "hold",
    "lock",
    "ease",
    "fly",
    "soar",
    "frame",
    "film",
    "show",
    "reveal",
    "capture",
}
VERBS = MOTION_VERBS | POSTURE_VERBS | CAMERA_VERBS
IRREGULAR = {
    "ran": "run",
    "went": "go",
    "gone": "go",
    "flew": "fly",
    "flown": "fly",
    "rode": "ride",
    "ridden": "ride",
    "drove": "drive",
    "driven": "drive",
    "sat": "sit",
    "stood": "stand",
    "lay": "lie",
    "lain": "lie",
    "lying": "lie",
    "lies": "lie",
    "swam": "swim",
    "swum": "swim",
    "came": "come",
    "rose": "rise",
    "risen": "rise",
    "fell": "fall",
    "fallen": "fall",
    "hid": "hide",
    "hidden": "hide",
    "slid": "slide",
    "strode": "stride",
    "sped": "speed",
    "fled": "flee",
    "leapt": "leap",
    "kept": "keep",
    "held": "hold",
    "drew": "draw",
    "drawn": "draw",
    "swung": "swing",
    "swept": "sweep",
    "spun": "spin",
    "sank": "sink",
    "sunk": "sink",
    "shone": "shine",
    "made": "make",
    "goes": "go",
    "does": "do",
    "dollies": "dolly",
    "trucks": "truck",
    "faces": "face",
    "built": "build",
    "crept": "creep",
    "set": "set",
    "put": "put",
}


@lru_cache(maxsize=4096)
def lemma(word: str) -> str:
    """The base form of a verb the reader knows ('gazing' -> gaze, 'dashes' -> dash,
    'running' -> run, 'flies' -> fly); any other word unchanged."""
    w = word.lower()
    if w in IRREGULAR:
        return IRREGULAR[w]
    if w in VERBS:
        return w
    cands = []
    if w.endswith("ies"):
        cands.append(w[:-3] + "y")
    if w.endswith("ied"):
        cands.append(w[:-3] + "y")
    if w.endswith("es"):
        cands += [w[:-2], w[:-1]]
    if w.endswith("s"):
        cands.append(w[:-1])
    for suf in ("ing", "ed"):
        if w.endswith(suf) and len(w) > len(suf) + 2:
            stem = w[: -len(suf)]
            cands += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:  # running -> run, dropped -> drop
                cands.append(stem[:-1])
    return next((c for c in cands if c in VERBS), w)


def normal_form(text: str) -> str:
    """Lower case, hyphens as spaces, verbs as lemmas, degree words dropped, single spaces."""
    t = text.lower().replace("-", " ").replace("\u2019", "'")
    t = re.sub(MODIFIER_PHRASES, " ", t)
    words = [lemma(w) for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", t)]
    out = []
    for i, w in enumerate(words):
        if w in MODIFIERS:
            continue
        # 'right behind', 'right next to': 'right' as a degree word, not a side
        if (
            w == "right"
            and i + 1 < len(words)
            and words[i + 1] in RIGHT_AS_DEGREE
            and (i == 0 or words[i - 1] != "the")
        ):
            continue
        out.append(w)
    return " ".join(out)


RIGHT_AS_DEGREE = {
    "behind",
    "beside",
    "next",
    "in",
    "on",
    "under",
    "underneath",
    "beneath",
    "below",
    "above",
    "by",
    "against",
    "near",
    "inside",
    "atop",
    "alongside",
    "at",
    "up",
    "over",
    "there",
    "here",
    "before",
}

# ---- relations: a grammar of side words, frame words and prepositions -------------------------------
_SIDE = r"(?:(?:to|on|at|toward|towards|by|over) )?(?:the |its |their )?{d}(?: hand)?(?: side)?(?: of)"
LEFT_WORDS, RIGHT_WORDS = r"(?:left|leftward|leftwards)", r"(?:right|rightward|rightwards)"
_FRONT = r"(?:in|at|to|out) (?:the )?(?:front|foreground|fore) of"
_BACK = r"(?:in|at|to|on) (?:the )?(?:back|rear|far side|other side|background) of"
_LOOK = r"(?:look|gaze|stare|peer|glance|point|turn|orient|watch|eye|face)"
RELATIONS = [  # (relation, pattern on the normal form); the phrase nearest the second object wins
    ("left_of", _SIDE.format(d=LEFT_WORDS) + r"|left of|leftward of"),
    ("right_of", _SIDE.format(d=RIGHT_WORDS) + r"|right of|rightward of"),
    ("in_front_of", _FRONT + r"|in front of|ahead of|before"),
    ("behind", _BACK + r"|behind|in back of|back of|beyond"),
    ("on_top_of", r"on (?:the )?top of|on to|onto|on|upon|atop|above|up on|on the surface of"),
    ("under", r"underneath|beneath|below|under"),
    ("inside", r"inside of|inside|within|into|in"),
    (
        "next_to",
        r"next to|beside|besides|near to|near|nearby|close to|close by|by|alongside of|alongside|adjacent to"
        r"|(?:at|by|to) (?:the )?side of|against|neighbou?ring|flank",
    ),
    ("facing", _LOOK + r" (?:at|toward|towards|to face|on)|to face|face|facing|watch|eye|observe|regard"),
    (
        "far_from",
        r"far away from|far from|a long way from|long way from|distant from|well away from|away from"
        r"|(?:at )?a distance from|miles? from|remote from",
    ),
]
_REL_RE = [(rel, re.compile(r"(?<![a-z])(?:" + pat + r")(?![a-z])")) for rel, pat in RELATIONS]


def relation_in(text: str, last: bool = True) -> tuple[str, int, int] | None:
    """The relation a stretch of words states, as (relation, start, end) in its normal form:
    the phrase that ends last (nearest what follows), the longest of those; or None."""
    t = " " + normal_form(text) + " "
    best = None
    for rel, rx in _REL_RE:
        for m in rx.finditer(t):
            if rel == "inside" and t[m.start() :].startswith(("in front of", "in back of")):
                continue
            if rel == "on_top_of" and re.match(r"on (?:the )?(?:left|right|far side|other side|side)", t[m.start() :]):
                continue
            key = (m.end() if last else -m.start(), m.end() - m.start(), rel, m.start(), m.end())
            if best is None or key[:2] > best[:2]:
                best = key
    return (best[2], best[3], best[4]) if best else None


def stated_relations(text: str) -> set[str]:
    """Every relation kind a text states somewhere."""
    t = " " + normal_form(text) + " "
    return {rel for rel, rx in _REL_RE if rx.search(t)}


# ---- motions -----------------------------------------------------------------------------------------
# a preposition right before the target: 'dashes toward a tree', 'strolls over to a statue'
TOWARD = r"\b(?:toward|towards|to|at|into|in the direction of)\s*$"
AWAY = r"\bfrom\s*$"
LEFT_MOTION = r"\b(?:left|leftward|leftwards|westward)\b"
RIGHT_MOTION = r"\b(?:right|rightward|rightwards|eastward|across|past|by)\b"
FORWARD = r"\b(?:forward|forwards|closer|nearer|toward the camera|towards the camera|at the camera|to the camera)\b"
BACKWARD = r"\b(?:away|back|backward|backwards|into the distance|off)\b"
TOWARD_VERBS = {"approach", "chase", "charge"}
AWAY_VERBS = {"retreat", "flee"}

# ---- camera moves ------------------------------------------------------------------------------------
CAMERA_WORDS = r"\b(?:camera|cameras|lens|view|we|shot|frame|viewpoint|cinematographer)\b"
_D = r"(?: to the| toward the| towards the)? "
# anywhere in a sentence: film terms that only name a camera move
TERMS = [
    (r"\b(?:orbit|360)\b", "orbit"),
    (r"\bdolly (?:in|forward)\b|\bpush in\b", "dolly_in"),
    (r"\bdolly (?:out|back)\b|\bpull (?:out|back)\b", "dolly_out"),
    (r"\bpedestal up\b", "pedestal_up"),
    (r"\bpedestal down\b", "pedestal_down"),
    (r"\bpan" + _D + r"left\b", "pan_left"),
    (r"\bpan" + _D + r"right\b|\bpan across\b", "pan_right"),
    (r"\btilt (?:up|upward|upwards)\b", "tilt_up"),
    (r"\btilt (?:down|downward|downwards)\b", "tilt_down"),
    (r"\bzoom (?:in|into|closer)\b", "zoom_in"),
    (r"\bzoom out\b", "zoom_out"),
    (r"\bcrane(?: up)?\b|\brise above\b|\bsoar\b", "crane_up"),
    (r"\b(?:follow|tracking shot)\b|\btrack\b(?! (?:to the )?(?:left|right))", "track"),
    (r"\b(?:static|locked off|locked down|lock off|lock down|tripod|stationary)\b", "static"),
    (r"\bpan\b", "pan_right"),
]
# after the camera is named ("the camera glides closer"): verb classes with a direction
_V = r"(?: \w+)?"  # one free word between verb and direction ('pulls slowly back')
CLAUSE = [
    (r"\bzoom (?:in|into|closer)\b|\bpunch\b|\btighten\b|\bmagnify\b", "zoom_in"),
    (r"\bzoom out\b|\bwiden\b|\bpull wide\b|\bgo wide\b", "zoom_out"),
    (r"\b(?:pan|swivel|turn|rotate|swing|whip|sweep|yaw)" + _V + _D + r"(?:left|leftward)\b", "pan_left"),
    (
        r"\b(?:pan|swivel|turn|rotate|swing|whip|sweep|yaw)" + _V + _D + r"(?:right|rightward)\b|\bpan across\b",
        "pan_right",
    ),
    (r"\b(?:tilt|look|angle|point|aim|glance|gaze|tip|pitch)" + _V + r" (?:up|upward|upwards|skyward)\b", "tilt_up"),
    (r"\b(?:tilt|look|angle|point|aim|glance|gaze|tip|pitch)" + _V + r" (?:down|downward|downwards)\b", "tilt_down"),
    (
        r"\b(?:circle|revolve|orbit)\b|\b(?:rotate|wheel|arc|swing|sweep|go|move|travel|glide|fly|drift|pan|loop|spin"
        r"|turn|walk|track|dolly|curve|pivot)" + _V + r" (?:around|round)\b",
        "orbit",
    ),
    (
        r"\b(?:follow|trail|tail|chase|shadow|accompany|pursue)\b|\bkeep (?:pace|up) with\b"
        r"|\b(?:stay|move|travel|ride|run|go) (?:along )?with\b|\btrack\b(?! (?:to the )?(?:left|right))",
        "track",
    ),
    (
        r"\b(?:truck|slide|strafe|sidestep|shift|glide|move|track|slip|crab|drift|travel|step|dolly|roll|scoot|edge"
        r"|slide)" + _V + _D + r"(?:left|leftward|leftwards)\b",
        "truck_left",
    ),
    (
        r"\b(?:truck|slide|strafe|sidestep|shift|glide|move|track|slip|crab|drift|travel|step|dolly|roll|scoot|edge"
        r"|slide)" + _V + _D + r"(?:right|rightward|rightwards)\b",
        "truck_right",
    ),
    (r"\b(?:crane|boom|jib)\b|\brise above\b|\bsoar\b", "crane_up"),
    (
        r"\b(?:rise|lift|ascend|climb|raise|elevate|levitate)\b|\b(?:float|go|move|fly|drift|pedestal)"
        + _V
        + r" (?:up|upward|upwards|higher)\b",
        "pedestal_up",
    ),
    (
        r"\b(?:lower|descend|drop|sink|fall|dip)\b|\b(?:go|move|come|float|drift|pedestal)"
        + _V
        + r" (?:down|downward|downwards|lower)\b",
        "pedestal_down",
    ),
    (
        r"\b(?:push|move|glide|creep|drift|dolly|travel|edge|inch|roll|come|fly|advance|step|lean|slide|float|ease"
        r"|crawl|drive|close)" + _V + r" (?:in|closer|forward|nearer|toward|towards)\b|\bapproach\b|\bclose in\b",
        "dolly_in",
    ),
    (
        r"\b(?:pull|move|glide|drift|dolly|back|retreat|withdraw|recede|draw|step|fly|ease|creep|travel|slide|float"
        r"|roll|drive|crawl)" + _V + r" (?:back|out|away|backward|backwards)\b|\b(?:retreat|withdraw|recede)\b",
        "dolly_out",
    ),
    (r"\b(?:still|static|fixed|hold|steady|stationary|unmoving|motionless|stay put|not move|lock|locked)\b", "static"),
]
_TERMS = [(re.compile(p), m) for p, m in TERMS]
_CLAUSE = [(re.compile(p), m) for p, m in CLAUSE]


def camera_move(text: str) -> str | None:
    """The camera move a sentence states, or None. Object mentions should already be masked
    out of `text` (a truck, a crane are things, not moves)."""
    t = normal_form(text)
    cam = re.search(CAMERA_WORDS, t)
    if cam:  # the verbs right after the camera is named
        clause = t[cam.end() :]
        words = clause.split()[:8]
        clause = " " + " ".join(words) + " "
        for rx, move in _CLAUSE:
            m = rx.search(clause)
            if m:
                return move
    for rx, move in _TERMS:
        if rx.search(t):
            return move
    return None
