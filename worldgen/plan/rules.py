"""The rule-based planner: no model. It reads objects (with colours, materials, sizes and
counts, compound nouns such as "stop sign" kept whole), relations, camera moves, motions,
durations, setting and time of day; a paragraph becomes one shot per sentence. Relation,
motion and camera wordings are read as word classes (worldgen/plan/lexicon.py), not as a list
of fixed phrases.

It is the planner used with `--llm none`, and its findings hold any model's plan to the prompt
(see `ground`), so a small model cannot drop a relation the prompt states or invent one."""

from __future__ import annotations

import itertools
import re

from worldgen.paint.materials import COLOURS, MATERIALS, PATTERN_WORDS
from worldgen.plan import lexicon as lx
from worldgen.plan.categories import CATEGORIES, head, plural_to_singular, singular
from worldgen.plan.schema import Motion, Plan, PlanObject, PlanShot, Relation

NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "several": 3,
    "some": 2,
    "pair": 2,
    "couple": 2,
    "few": 3,
}
DETERMINERS = set(NUMBERS) | {"the", "this", "that", "its", "his", "her", "their", "another"}
DEFINITE = {"the", "this", "that", "its", "his", "her", "their"}
SHADES = {"dark", "light", "pale", "bright", "deep"}
TEXTURES = {
    "shiny",
    "glossy",
    "matte",
    "rusty",
    "glowing",
    "wet",
    "metallic",
    "furry",
    "fluffy",
    "dusty",
    "muddy",
    "mossy",
    "weathered",
    "neon",
    "polished",
    "transparent",
    "translucent",
}
# the only words that become an object's appearance: colours, materials, patterns, textures
APPEARANCE = set(COLOURS) | set(MATERIALS) | set(PATTERN_WORDS) | SHADES | TEXTURES
SIZE_WORDS = {
    "small": 0.6,
    "little": 0.6,
    "tiny": 0.35,
    "big": 1.6,
    "large": 1.6,
    "huge": 2.5,
    "tall": 1.4,
    "giant": 2.5,
    "miniature": 0.3,
    "short": 0.8,
}
OTHER_ADJECTIVES = {
    "old",
    "new",
    "young",
    "pretty",
    "beautiful",
    "lonely",
    "single",
    "lone",
    "quiet",
    "busy",
    "empty",
    "full",
    "ancient",
    "modern",
    "famous",
    "strange",
    "cute",
    "happy",
    "sad",
    "angry",
    "wild",
    "gentle",
    "friendly",
    "majestic",
    "abandoned",
    "cozy",
    "cosy",
    "tiny",
    "whole",
    "other",
    "same",
    "real",
    "toy",
    "fake",
    "plastic",
    "wooden",
    "front",
    "back",
    "open",
    "closed",
    "broken",
    "fresh",
}
ADJECTIVES = APPEARANCE | set(SIZE_WORDS) | OTHER_ADJECTIVES
NOT_NOUNS = {
    "left",
    "right",
    "front",
    "top",
    "back",
    "middle",
    "side",
    "center",
    "centre",
    "camera",
    "shot",
    "scene",
    "other",
    "each",
    "same",
    "way",
    "distance",
    "moment",
    "time",
    "end",
    "start",
    "sunset",
    "night",
    "dusk",
    "dawn",
    "morning",
    "evening",
    "noon",
    "day",
    "beach",
    "street",
    "field",
    "park",
    "forest",
    "room",
    "road",
    "city",
    "meadow",
    "garden",
    "desert",
    "sea",
    "ocean",
    "lake",
    "snow",
    "ground",
    "sky",
    "them",
    "it",
    "they",
    "him",
    "view",
    "frame",
    "film",
    "video",
    "kitchen",
    "office",
    "hill",
    "valley",
    "mountain",
    "town",
    "village",
    "yard",
    "plaza",
    "square",
    "alley",
    "studio",
    "hall",
    "courtyard",
    "clearing",
    "harbor",
    "harbour",
    "landscape",
    "world",
    "place",
    "area",
    "countryside",
    "background",
    "foreground",
    "photo",
    "photograph",
    "picture",
    "image",
    "render",
    "rendering",
    "lens",
    "close",
    "closeup",
    "wide",
    "angle",
    "bit",
    "lot",
    "tad",
    "touch",
    "surface",
    "bottom",
    "rear",
    "edge",
    "corner",
    "direction",
    "pace",
    "sunrise",
    "twilight",
    "midnight",
    "afternoon",
    "weather",
    "daylight",
    "moonlight",
    "sunlight",
}
NOUN_ING = {
    "building",
    "painting",
    "ring",
    "king",
    "swing",
    "wing",
    "string",
    "ceiling",
    "spring",
    "pudding",
    "dumpling",
    "earring",
    "sling",
    "bedding",
    "railing",
    "awning",
    "sapling",
    "duckling",
    "seedling",
}
TIMES = [
    ("sunset", "sunset"),
    ("sunrise", "dawn"),
    ("dawn", "dawn"),
    ("morning", "dawn"),
    ("dusk", "dusk"),
    ("evening", "dusk"),
    ("twilight", "dusk"),
    ("night", "night"),
    ("midnight", "night"),
    ("moon", "night"),
    ("noon", "noon"),
    ("midday", "noon"),
    ("overcast", "overcast"),
    ("cloudy", "overcast"),
    ("rain", "overcast"),
    ("fog", "overcast"),
]
SETTINGS = [
    ("beach", "sand"),
    ("desert", "sand"),
    ("sand", "sand"),
    ("street", "street"),
    ("road", "street"),
    ("city", "street"),
    ("parking", "street"),
    ("room", "floor"),
    ("kitchen", "floor"),
    ("office", "floor"),
    ("indoor", "floor"),
    ("inside a house", "floor"),
    ("living", "floor"),
    ("snow", "snow"),
    ("winter", "snow"),
    ("lake", "water"),
    ("sea", "water"),
    ("ocean", "water"),
    ("harbor", "water"),
    ("harbour", "water"),
    ("farm", "dirt"),
    ("dirt", "dirt"),
]
STYLE_WORDS = (
    "painterly",
    "watercolor",
    "watercolour",
    "cinematic",
    "storybook",
    "toon",
    "cartoon",
    "noir",
    "illustration",
    "dreamy",
    "moody",
    "pastel",
)

FUNCTION = {
    "and",
    "or",
    "with",
    "of",
    "to",
    "in",
    "on",
    "at",
    "by",
    "for",
    "from",
    "into",
    "onto",
    "under",
    "over",
    "is",
    "are",
    "was",
    "were",
    "be",
    "while",
    "as",
    "then",
    "near",
    "beside",
    "behind",
    "next",
    "left",
    "right",
    "front",
    "top",
    "inside",
    "underneath",
    "beneath",
    "below",
    "above",
    "between",
    "toward",
    "towards",
    "away",
    "across",
    "past",
    "around",
    "camera",
    "each",
    "that",
    "which",
    "who",
    "it",
    "them",
    "its",
    "their",
    "has",
    "have",
    "slowly",
    "quickly",
    "far",
    "close",
    "up",
    "down",
    "out",
    "back",
    "there",
    "here",
    "upon",
    "atop",
    "within",
    "alongside",
    "against",
    "beyond",
    "ahead",
    "before",
    "after",
    "off",
    "through",
    "along",
    "adjacent",
    "just",
    "slightly",
    "directly",
    "very",
    "facing",
    "where",
    "when",
    "so",
    "but",
    "than",
    "not",
    "no",
    "lens",
    "view",
    "shot",
}
# degree words before a modifier inside a noun phrase ('a very, really big car'); not 'a car very near'
DEGREE = {"very", "really", "extremely", "quite", "rather", "incredibly", "super", "so", "too", "fairly"}
CAMERA_WORDS = {
    "camera",
    "shot",
    "pedestal",
    "pan",
    "tilt",
    "zoom",
    "dolly",
    "truck",
    "crane",
    "orbit",
    "track",
    "static",
    "up",
    "down",
    "in",
    "out",
    "left",
    "right",
    "pave",
    "move",
    "moves",
    "lens",
    "view",
}
ADJ_ENDING = re.compile(r"(y|ful|ous|ish|ive|less|ed|ing|al|ic|ible|able)$")
COLOUR_AFTER = re.compile(
    r"^\s*,?\s*(?:painted|coloured|colored|in|all in|dressed in|made of|of)?\s*"
    r"((?:(?:dark|light|pale|bright|deep)\s+)?(?:[a-z]+))\b"
)


class Mention:
    def __init__(self, names, category, start, end, definite):
        self.names, self.category, self.start, self.end, self.definite = names, category, start, end, definite


def _words(text: str):
    return [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z0-9]+(?:'[a-z]+)?", text)]


class _Builder:
    def __init__(self):
        self.objects: list[PlanObject] = []
        self.by_cat: dict[str, list[str]] = {}

    def new(self, category: str, appearance: str, scale: float) -> str:
        base = re.sub(r"[^a-z0-9_]", "", category)[:24] or "thing"
        if not base[0].isalpha():
            base = "obj_" + base
        n = len(self.by_cat.get(base, [])) + 1
        name = base if n == 1 and base not in [o.name for o in self.objects] else f"{base}_{n}"
        while name in [o.name for o in self.objects]:
            n += 1
            name = f"{base}_{n}"
        size = None
        if scale != 1.0:
            from worldgen.plan.categories import lookup

            size = [round(x * scale, 3) for x in lookup(category).size]
        self.objects.append(PlanObject(name=name, category=category, appearance=appearance, size=size))
        self.by_cat.setdefault(base, []).append(name)
        return name

    def existing(self, category: str) -> list[str]:
        """Objects already read that 'the <category>' can refer to: the same category, or the
        same head noun ('the sign' after 'a stop sign')."""
        same = self.by_cat.get(category)
        if same:
            return same
        return [o.name for o in self.objects if head(o.category) == head(category)]


def _verbish(word: str, singular_det: bool, nxt: str | None) -> bool:
    """Does a word after the first of a noun phrase read as its verb ('a dragon lands', 'a man
    walking', 'a boat moored')? Then the phrase ends before it. A participle right before a
    known noun modifies it instead ('a yellow coloured bus', 'a red parked car')."""
    participle = re.search(r"(ing|ed)$", word) and len(word) > 4
    if participle and nxt and (singular(nxt) or f"{word}_{nxt}" in CATEGORIES):
        return False
    if lx.lemma(word) in lx.VERBS and not singular(word):
        return True  # 'a house standing distant from'
    if word in CATEGORIES or word in NOUN_ING:
        return False
    if participle:  # an unknown participle before another content word modifies it ('a potted fern')
        return not (
            nxt
            and nxt not in FUNCTION
            and nxt not in DETERMINERS
            and not nxt.endswith("ly")
            and lx.lemma(nxt) not in lx.VERBS
        )
    return singular_det and word.endswith("s") and not word.endswith(("ss", "us", "is")) and not singular(word)


def _noun_phrase(words, j, count):
    """The content words of the noun phrase starting at words[j]: a list of indices."""
    run = []
    while j < len(words) and len(run) < 5:
        wj = words[j][0]
        nxt = words[j + 1][0] if j + 1 < len(words) and not words[j][3] else None
        after = words[j + 1][0] if j + 1 < len(words) else None  # a comma may part 'really, really'
        if wj in DEGREE and after and (after in DEGREE or (nxt and nxt not in FUNCTION and nxt not in DETERMINERS)):
            j += 1  # 'a very big car': the degree word qualifies a modifier and is not one itself
            continue
        if wj in FUNCTION or wj in DETERMINERS or wj.isdigit():
            break
        if run and words[run[-1]][3]:  # punctuation between two words ends the phrase
            break
        if run and _verbish(wj, count == 1, nxt):
            break
        if (
            not run
            and lx.lemma(wj) != wj
            and lx.lemma(wj) in lx.VERBS
            and not singular(wj)
            and (nxt is None or nxt in FUNCTION or nxt in DETERMINERS)
        ):
            break  # 'a dog that runs to ...': a verb, not a thing (but 'a parking meter')
        run.append(j)
        j += 1
    return run


def _compound(words: list[str], k: int) -> tuple[str, list[str], list[str], float]:
    """From the phrase's words and the index of its head: (category, appearance words, size
    scale). Colour, material, pattern and texture words are the appearance; size words scale;
    other modifiers before the head are part of the name ('stop sign', 'parking meter') when
    they read as nouns, else dropped ('sleeping dog', 'old house')."""
    noun = words[k]
    look, compound, scale = [], [], 1.0
    for w in words[:k]:
        if w in SIZE_WORDS:
            scale *= SIZE_WORDS[w]
        elif w in APPEARANCE:
            look.append(w)
        elif w in OTHER_ADJECTIVES or (ADJ_ENDING.search(w) and f"{w}_{noun}" not in CATEGORIES):
            continue
        else:
            compound.append(w)
    base = singular(noun) or noun
    cat = "_".join(compound + [base])
    if compound and cat not in CATEGORIES and f"{compound[-1]}_{base}" in CATEGORIES:
        cat = f"{compound[-1]}_{base}"
    return cat, look, scale


def _mentions(sentence: str, b: _Builder) -> list[Mention]:
    """Noun phrases that name things: a determiner or a number, modifiers, then the head noun."""
    raw = _words(sentence)
    # each word, with whether punctuation follows it before the next word
    words = [
        (w, s, e, bool(re.search(r"[,;:()\"]", sentence[e : raw[i + 1][1]])) if i + 1 < len(raw) else True)
        for i, (w, s, e) in enumerate(raw)
    ]
    out = []
    i = 0
    while i < len(words):
        w, s0, _, _ = words[i]
        if not (w in DETERMINERS or w.isdigit()):
            i += 1
            continue
        count = NUMBERS.get(w, int(w) if w.isdigit() else 1)
        definite = w in DEFINITE
        j = i + 1
        if j < len(words) and words[j][0] in NUMBERS and words[j][0] not in ("a", "an"):  # 'a pair of', 'the two'
            count = NUMBERS[words[j][0]]
            j += 1
        if j < len(words) and words[j][0] == "of":
            j += 1
        run = _noun_phrase(words, j, count)
        if not run:
            i += 1
            continue
        ws = [words[k][0] for k in run]
        k = len(ws) - 1  # English noun phrases end with their head
        noun = ws[k]
        if (
            (noun in NOT_NOUNS and not singular(noun))
            or noun.isdigit()
            or len(noun) < 2
            or (k > 0 and noun in ADJECTIVES and all(x in ADJECTIVES for x in ws) and not singular(noun))
            or (noun in OTHER_ADJECTIVES | set(SIZE_WORDS) and not singular(noun))
            or (re.search(r"(ing|ed)$", noun) and noun not in NOUN_ING and not singular(noun) and len(noun) > 4)
        ):
            i = run[-1] + 1
            continue
        plural = count > 1 or (noun.endswith("s") and singular(noun) and singular(noun) != noun)
        if plural:
            ws[k] = plural_to_singular(noun)
        cat, look, scale = _compound(ws, k)
        if singular(noun) and singular(noun) != noun and count == 1 and not definite and noun.endswith("s"):
            count = 2  # 'some trees'
        after = sentence[words[run[k]][2] :]
        m = COLOUR_AFTER.match(after)  # 'a piano painted black', 'a car in red'
        if (
            m
            and not look
            and m.group(1).split()[-1] in COLOURS
            and re.match(r"^\s*,?\s*(painted|coloured|colored|in|all in)", after)
        ):
            look = m.group(1).split()
        appearance = " ".join(look)
        existing = b.existing(cat) if definite else []
        if existing:
            names = existing if plural else existing[-1:]
        else:
            names = [b.new(cat, appearance, scale) for _ in range(min(count, 8))]
        out.append(Mention(names, cat, s0, words[run[k]][2], definite))
        i = run[k] + 1
    return out


def _relation_between(text: str) -> str | None:
    """The relation stated between two mentions ('a car in a kitchen next to a bus': next_to)."""
    t = re.sub(r"\s+", " ", text.strip())
    if len(t.split()) > 9:
        return None
    found = lx.relation_in(t)
    if found is None:
        return None
    rel = found[0]
    if rel == "far_from" and any(lx.lemma(w) in lx.MOTION_VERBS for w in t.split()) and "far" not in t:
        return None  # 'walks away from': a motion, not where it stands
    return rel


def _masked(sentence: str, mentions: list[Mention]) -> str:
    """The sentence with each mention replaced by 'thing', so a noun never reads as a camera
    verb ('a truck', 'a crane')."""
    out, last = [], 0
    for m in sorted(mentions, key=lambda m: m.start):
        out.append(sentence[last : m.start])
        out.append(" thing ")
        last = m.end
    out.append(sentence[last:])
    return "".join(out)


def _motions(sentence: str, mentions: list[Mention]) -> list[Motion]:
    out = []
    spans = [(m.start, m.end) for m in mentions]
    for w, s0, e0 in _words(sentence):
        verb = lx.lemma(w)
        if verb not in lx.MOTION_VERBS or any(a <= s0 < b for a, b in spans):
            continue
        before = [x for x in mentions if x.end <= s0]
        if not before:
            continue
        if re.search(lx.CAMERA_WORDS, sentence[before[-1].end : s0]):
            continue  # the camera moves, not a thing
        who = before[-1].names[0]
        if any(m.subject == who for m in out):
            continue
        tail_raw = sentence[e0 : e0 + 48]
        tail = " " + lx.normal_form(tail_raw) + " "
        dist = 4.0
        dm = re.search(r"(\d+(?:\.\d+)?) ?(m|meters|metres)\b", tail_raw)
        if dm:
            dist = min(float(dm.group(1)), 50.0)
        after = [x for x in mentions if x.start >= e0 and x.names[0] != who]
        near = after[0] if after and after[0].start - e0 <= 40 else None
        gap = lx.normal_form(sentence[e0 : near.start]) if near else ""
        if near and (verb in lx.TOWARD_VERBS and not gap or re.search(lx.TOWARD, gap)):
            out.append(Motion(subject=who, direction="toward", target=near.names[0], distance=dist))
        elif near and (verb in lx.AWAY_VERBS and not gap or re.search(lx.AWAY, gap)):
            out.append(Motion(subject=who, direction="away", target=near.names[0], distance=dist))
        elif re.search(lx.LEFT_MOTION, tail):
            out.append(Motion(subject=who, direction="left", distance=dist))
        elif re.search(lx.RIGHT_MOTION, tail):
            out.append(Motion(subject=who, direction="right", distance=dist))
        elif re.search(lx.FORWARD, tail):
            out.append(Motion(subject=who, direction="forward", distance=dist))
        elif re.search(lx.BACKWARD, tail) or verb in lx.AWAY_VERBS:
            out.append(Motion(subject=who, direction="backward", distance=dist))
        else:
            out.append(Motion(subject=who, direction="right", distance=dist))
    return out


def _pairs(s: str, ms: list[Mention]) -> list[tuple[Mention, str, Mention]]:
    """(subject, relation, object) mentions a sentence relates: 'A rel B'; 'rel B, A' (inverted:
    'to the left of a house stands a tree'); 'A ... B rel it' ('a bench with a dog below it')."""
    out = []
    for i, (a, c) in enumerate(itertools.pairwise(ms)):
        between = s[a.end : c.start]
        rel = _relation_between(between)
        if rel is not None:
            out.append((a, rel, c))
            continue
        lead = s[: a.start] if i == 0 else ""  # the sentence opens with the relation
        if (
            lead.strip()
            and re.search(r"\b(there (is|are|stands?|sits?)|stands?|sits?|lies?|rests?|waits?|is|are)\b", between)
            or not between.strip(" ,")
        ):
            rel = _relation_between(lead)
            if rel is not None and lx.relation_in(lead) and lead.strip():
                out.append((c, rel, a))
                continue
    for i, m in enumerate(ms[1:], 1):  # 'B rel it/them' refers back to the mention before
        nxt = ms[i + 1].start if i + 1 < len(ms) else len(s)
        tail = s[m.end : nxt]
        pm = re.search(r"\b(it|them|one)\b", tail)
        if pm and not any(x is m for x, _, _ in out):
            rel = _relation_between(tail[: pm.start()])
            if rel is not None:
                out.append((m, rel, ms[i - 1]))
    return out


def _camera(sentence: str, mentions: list[Mention]) -> str | None:
    return lx.camera_move(_masked(sentence, mentions))


def plan_from_text(prompt: str, shot_seconds: float | None = None) -> Plan:
    """Read a prompt (a line or a paragraph) into a plan. Raises ValueError if it names nothing."""
    text = prompt.lower().replace("\u2019", "'")
    sentences = [s.strip() for s in re.split(r"[.!?;\n]+", text) if s.strip()]
    b = _Builder()
    relations: list[Relation] = []
    motions: list[Motion] = []
    shots: list[PlanShot] = []
    originals = [s.strip() for s in re.split(r"[.!?;\n]+", prompt) if s.strip()]
    for k, s in enumerate(sentences):
        ms = _mentions(s, b)
        for a, rel, c in _pairs(s, ms):
            for x in a.names:
                for y in c.names:
                    if x != y:
                        relations.append(Relation(subject=x, relation=rel, object=y))
        if re.search(r"\b(next to|beside|facing|face|faces|near) each other\b", s) and ms:
            group = [n for m in ms for n in m.names]
            rel = "facing" if re.search(r"\bfac(e|es|ing) each other", s) else "next_to"
            for x, y in zip(group, group[1:]):
                relations.append(Relation(subject=x, relation=rel, object=y))
                if rel == "facing":
                    relations.append(Relation(subject=y, relation=rel, object=x))
        for m in ms:  # a group of several stands side by side
            for x, y in zip(m.names, m.names[1:]):
                if not m.definite:
                    relations.append(Relation(subject=y, relation="right_of", object=x))
        motions += _motions(s, ms)
        move = _camera(s, ms)
        dur = re.search(r"(\d+(?:\.\d+)?) ?(s|sec|secs|seconds)\b", s)
        duration = float(dur.group(1)) if dur else (shot_seconds or 4.0)
        subjects = list(dict.fromkeys(n for m in ms for n in m.names))
        if move == "track" and ms:
            cue = re.search(lx.CAMERA_WORDS + r"|\b(follow|track|trail|tail|chas)\w*", s)
            after = [m for m in ms if cue and cue.start() < m.start]
            subjects = (after or ms)[0].names[:1]
        if not ms and move and shots and shots[-1].move == "static":
            shots[-1].move = move  # 'A boat. The camera pulls back.': the move belongs to that shot
            if dur:
                shots[-1].duration = min(max(duration, 0.5), 30)
            continue
        if ms or move or not shots:
            shots.append(
                PlanShot(
                    description=originals[k][:300] if k < len(originals) else s[:300],
                    move=move or "static",
                    subjects=subjects if len(sentences) > 1 or move == "track" else [],
                    duration=min(max(duration, 0.5), 30),
                )
            )
    if not b.objects:
        raise ValueError(
            "no objects found in the prompt: name things with an article or a number, e.g. 'a red car next to a tree'"
        )
    if len(shots) > 12:
        shots = shots[:12]
    time = next((t for w, t in TIMES if re.search(r"\b" + w, text)), "noon")
    setting = next((st for w, st in SETTINGS if re.search(r"\b" + w, text)), "grass")
    style = ", ".join(w for w in STYLE_WORDS if w in text)
    title = originals[0][:80] if originals else "Untitled"
    # keep only relations whose two ends are different objects, once each
    seen, rels = set(), []
    for r in relations:
        key = (r.subject, r.relation, r.object)
        if key not in seen and r.subject != r.object:
            seen.add(key)
            rels.append(r)
    objects = b.objects[:24]
    keep = {o.name for o in objects}
    rels = [r for r in rels if r.subject in keep and r.object in keep][:40]
    motions = [m for m in motions if m.subject in keep and (m.target is None or m.target in keep)][:12]
    for s in shots:
        s.subjects[:] = [n for n in s.subjects if n in keep][:8]
    return Plan(
        title=title,
        setting=setting,
        time_of_day=time,
        style=style,
        objects=objects,
        relations=rels,
        motions=motions,
        shots=shots,
    )


def _head(category: str) -> str:
    """A category's head noun in its singular: 'parking meter' -> meter, 'stop_sign' -> sign."""
    w = head(category)
    return singular(w) or plural_to_singular(w) if w else ""


SOURCES = ("model", "both", "rules")
KINDS = ("objects", "relations", "moves", "motions")


def _tidy(o: PlanObject) -> PlanObject:
    """A model's category in the reader's form: appearance words move to the appearance
    ('purple ball' is a ball that is purple), compound nouns stay whole ('stop sign' ->
    stop_sign), other modifiers go."""
    words = [w for w in re.findall(r"[a-z]+", o.category.lower()) if w not in DETERMINERS and w not in FUNCTION]
    if not words:
        return o
    k = len(words) - 1
    cat, look, _ = _compound(words, k)
    extra = " ".join(w for w in look if w not in o.appearance.split())
    appearance = (extra + " " + o.appearance).strip() if extra else o.appearance
    return o.model_copy(update={"category": cat, "appearance": appearance[:200]})


def _held_appearance(model_look: str, ruled_look: str | None, prompt_words: set, elsewhere: set) -> str:
    """An object's appearance held to the prompt: the prompt's own words for it where it gives
    some; else only those of the model's words that the prompt uses and does not give to
    another object. Nothing the prompt never says ('red' on a meter in a prompt with no colour)."""
    if ruled_look:
        return ruled_look
    keep = [
        w
        for w in re.findall(r"[a-z]+", model_look.lower())
        if w in APPEARANCE and w in prompt_words and w not in elsewhere
    ]
    return " ".join(dict.fromkeys(keep))


def ground(plan: Plan, prompt: str, provenance: dict | None = None) -> tuple[Plan, list[str]]:
    """Hold an LLM's plan to the prompt. Small models copy their few-shot examples; this keeps
    their plans about the prompt:
    - objects the prompt never names (and setting words used as objects) are dropped with
      everything that refers to them; the model's objects and the reader's are matched by head
      noun (the model's parking_meter is the reader's meter), so one thing is never planned
      twice; objects the reader finds and the plan lacks are added (an unknown noun still
      becomes an object);
    - appearance comes from the prompt's words for that object (never a colour it gives to
      another object, never one it does not say);
    - relations the prompt states are the relations; a model's relation stays where the prompt
      states that kind and the reader found none between those two objects;
    - camera moves and motions are the ones the prompt states (static, still where it states
      none); a paragraph keeps one shot per sentence;
    - time of day, setting and style are the prompt's (defaults where it says nothing).
    `provenance`, if given, is filled with, per kind (objects, relations, moves, motions), how
    many of the result's items the model alone supplied ('model'), the model supplied and the
    prompt's words confirm ('both'), and the prompt's words supplied ('rules')."""
    notes: list[str] = []
    prov = {k: dict.fromkeys(SOURCES, 0) for k in KINDS}
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    stems = words | {singular(w) or plural_to_singular(w) for w in words}
    try:
        ruled = plan_from_text(prompt)
    except ValueError:
        ruled = None
    # -- objects: the model's, if the prompt names them, matched to the reader's by head noun
    keep, seen_names = [], set()
    for o in plan.objects:
        if o.name in seen_names:
            notes.append(f"dropped a second object named '{o.name}'")
            continue
        seen_names.add(o.name)
        tokens = set(re.findall(r"[a-z]+", (o.name.replace("_", " ") + " " + o.category).lower())) - set(CAMERA_WORDS)
        grounded = any(t in stems or (singular(t) or t) in stems for t in tokens if len(t) > 2)
        o = _tidy(o)
        hd = _head(o.category)
        if grounded and hd and hd not in NOT_NOUNS and hd not in CAMERA_WORDS and hd in stems:
            keep.append(o)
        else:
            notes.append(f"dropped '{o.name}': the prompt does not name it")
    by_head: dict[str, list[int]] = {}  # a model's object under the head nouns of its category and its name
    for i, o in enumerate(keep):
        for h in dict.fromkeys((_head(o.category), _head(o.name))):
            by_head.setdefault(h, []).append(i)
    rename: dict[str, str] = {}  # the reader's name -> the plan's name for the same object
    matched: set[int] = set()
    ruled_look: dict[int, str] = {}
    if ruled is not None:
        extra = []
        for ro in ruled.objects:  # in order: the reader's next thing with this head noun is the plan's next
            h = _head(ro.category)
            have = [i for i in by_head.get(h, []) if i not in matched]
            if have:
                i = have[0]
                matched.add(i)
                o = keep[i]
                if _head(o.category) != h or ("_" in ro.category and "_" not in o.category):
                    # the prompt's name for it: parking_meter, not meter; tennis_racket, not tennis
                    keep[i] = o.model_copy(update={"category": ro.category})
                if ro.size and not o.size:
                    keep[i] = keep[i].model_copy(update={"size": ro.size})
                ruled_look[i] = ro.appearance
                rename[ro.name] = o.name
                continue
            extra.append(ro)
        names = {o.name for o in keep}
        for ro in extra:
            name = ro.name
            while name in names:
                name += "_x"
            keep.append(ro.model_copy(update={"name": name}))
            ruled_look[len(keep) - 1] = ro.appearance
            names.add(name)
            rename[ro.name] = name
            notes.append(f"added '{name}': the prompt names it")
            prov["objects"]["rules"] += 1
    for i in range(len(keep)):
        if i < len(keep) - prov["objects"]["rules"]:
            prov["objects"]["both" if i in matched else "model"] += 1
    # -- appearance: the prompt's words for each object
    given = {i: set(v.split()) for i, v in ruled_look.items() if v}
    for i, o in enumerate(keep):
        elsewhere = set().union(*[w for j, w in given.items() if j != i]) if given else set()
        look = _held_appearance(o.appearance, ruled_look.get(i), words, elsewhere)
        if look != o.appearance:
            if o.appearance and ruled is not None:
                notes.append(f"'{o.name}' looks '{look}' as the prompt says, not '{o.appearance}'")
            keep[i] = o.model_copy(update={"appearance": look})
    names = {o.name for o in keep}
    # -- relations
    ruled_rels = (
        [] if ruled is None else [(rename.get(r.subject), r.relation, rename.get(r.object)) for r in ruled.relations]
    )
    ruled_rels = [r for r in ruled_rels if r[0] and r[2] and r[0] != r[2]]
    have = set(ruled_rels)
    pairs = {frozenset((a, b)) for a, _, b in ruled_rels}
    stated = lx.stated_relations(prompt)
    from worldgen.plan.solver import INVERSE

    rels, confirmed = [], set()
    for r in plan.relations:
        if r.subject not in names or r.object not in names or r.subject == r.object:
            continue
        key, inv = (r.subject, r.relation, r.object), (r.object, INVERSE.get(r.relation, ""), r.subject)
        if key in have or inv in have:
            confirmed.add(key if key in have else inv)
        elif r.relation in stated and frozenset((r.subject, r.object)) not in pairs:
            rels.append(r)
            prov["relations"]["model"] += 1
        else:
            notes.append(f"dropped '{r.subject} {r.relation} {r.object}': the prompt says otherwise or nothing like it")
    for a, rel, b in ruled_rels:
        if (a, rel, b) in {(x.subject, x.relation, x.object) for x in rels}:
            continue
        rels.append(Relation(subject=a, relation=rel, object=b))
        if (a, rel, b) in confirmed:
            prov["relations"]["both"] += 1
        else:
            prov["relations"]["rules"] += 1
            notes.append(f"added '{a} {rel} {b}' stated in the prompt")
    # -- motions: the prompt's motion verbs; a model's motion stays where they say the same
    motions = []
    if ruled is not None:
        for m in ruled.motions:
            a = rename.get(m.subject)
            if not a or any(x.subject == a for x in motions):
                continue
            target = rename.get(m.target) if m.target else None
            same = any(x.subject == a and x.direction == m.direction for x in plan.motions)
            motions.append(m.model_copy(update={"subject": a, "target": target}))
            prov["motions"]["both" if same else "rules"] += 1
    dropped = [
        x for x in plan.motions if not any(m.subject == x.subject and m.direction == x.direction for m in motions)
    ]
    if dropped:
        notes.append("motions taken from the prompt's own words")
    # -- shots and camera moves
    shots = [sh.model_copy(update={"subjects": [n for n in sh.subjects if n in names]}) for sh in plan.shots]
    if ruled is not None:
        model_moves = [sh.move for sh in shots]
        if len(ruled.shots) > 1 or len(shots) != 1:  # the sentences give the shot structure
            shots = [
                sh.model_copy(update={"subjects": [rename[n] for n in sh.subjects if n in rename]})
                for sh in ruled.shots
            ]
        elif shots[0].move != ruled.shots[0].move:  # a move the prompt does not state is not made
            notes.append(f"camera move set to '{ruled.shots[0].move}' as the prompt says")
            shots[0] = shots[0].model_copy(update={"move": ruled.shots[0].move})
        for k, sh in enumerate(shots):
            prov["moves"]["both" if k < len(model_moves) and model_moves[k] == sh.move else "rules"] += 1
        # time of day, setting and style: the prompt's words (defaults where it says none)
        for key in ("time_of_day", "setting", "style"):
            if getattr(plan, key) != getattr(ruled, key):
                if getattr(plan, key):
                    notes.append(
                        f"{key.replace('_', ' ')} '{getattr(ruled, key) or 'none'}' as the prompt says, "
                        f"not '{getattr(plan, key)}'"
                    )
                plan = plan.model_copy(update={key: getattr(ruled, key)})
    else:
        prov["moves"]["model"] += len(shots)
        prov["motions"]["model"] += len(plan.motions)
        motions = [m for m in plan.motions if m.subject in names and (m.target is None or m.target in names)]
    if not keep:
        raise ValueError("the plan names nothing the prompt mentions")
    if provenance is not None:
        provenance.update(prov)
    return plan.model_copy(
        update={
            "objects": keep[:24],
            "relations": rels[:40],
            "motions": motions[:12],
            "shots": shots[:12] or [PlanShot()],
        }
    ), notes
