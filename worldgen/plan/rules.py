"""The rule-based planner: no model, plain phrase rules. It reads objects (with colours,
materials and counts), the spatial relation phrases, camera-move phrases, motion verbs,
durations, setting and time of day; a paragraph becomes one shot per sentence.

It is the planner used with `--llm none`, and its explicit findings are also merged into any
LLM plan (see `ground`), so a small model cannot drop a relation the prompt states."""
from __future__ import annotations

import re

from worldgen.paint.materials import COLOURS, MATERIALS, PATTERN_WORDS
from worldgen.plan.categories import singular
from worldgen.plan.schema import Motion, Plan, PlanObject, PlanShot, Relation

NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "several": 3, "some": 2, "pair": 2}
DETERMINERS = set(NUMBERS) | {"the", "this", "that", "its", "his", "her", "their", "another"}
ADJECTIVES = set(COLOURS) | set(MATERIALS) | set(PATTERN_WORDS) | {
    "dark", "light", "pale", "bright", "small", "little", "big", "large", "tall", "short", "old", "new", "wooden",
    "shiny", "glowing", "rusty", "huge", "tiny", "striped", "wet", "stone", "metal", "brick", "glass", "red"}
SIZE_WORDS = {"small": 0.6, "little": 0.6, "tiny": 0.35, "big": 1.6, "large": 1.6, "huge": 2.5, "tall": 1.4}
NOT_NOUNS = {"left", "right", "front", "top", "back", "middle", "side", "center", "centre", "camera", "shot", "scene",
             "other", "each", "same", "way", "distance", "moment", "time", "end", "start", "sunset", "night",
             "dusk", "dawn", "morning", "evening", "noon", "day", "beach", "street", "field", "park", "forest",
             "room", "road", "city", "meadow", "garden", "desert", "sea", "ocean", "lake", "snow", "ground", "sky",
             "them", "it", "they", "him", "view", "frame", "film", "video", "kitchen", "office", "hill", "valley",
             "mountain", "town", "village", "yard", "plaza", "square", "alley", "studio", "hall", "courtyard",
             "clearing", "harbor", "harbour", "landscape", "world", "place", "area", "countryside", "background"}

REL_PATTERNS = [  # order matters: longer phrases first
    (r"to the left of|on the left of|left of", "left_of"),
    (r"to the right of|on the right of|right of", "right_of"),
    (r"in front of", "in_front_of"),
    (r"behind|in back of", "behind"),
    (r"on top of|on|upon|atop", "on_top_of"),
    (r"underneath|beneath|below|under", "under"),
    (r"inside of|inside|within|in", "inside"),
    (r"next to|beside|besides|near|by|alongside|close to", "next_to"),
    (r"facing|faces|looking at|looks at|turned toward|turned towards", "facing"),
    (r"far away from|far from|away from", "far_from"),
]
CAMERA_PATTERNS = [
    (r"\b(orbit|orbits|orbiting|circles|circling|goes around|moves around|360)\b", "orbit"),
    (r"\b(dolly|dollies) (in|forward)|push(es)? in|pushes toward|moves (closer|in)|approaches", "dolly_in"),
    (r"\b(dolly|dollies) (out|back)|pulls? (out|back|away)|moves (back|away) from", "dolly_out"),
    (r"\btrucks? left|slides? (to the )?left|strafes? left", "truck_left"),
    (r"\btrucks? right|slides? (to the )?right|strafes? right", "truck_right"),
    (r"\bcranes?( up)?\b|rises above|soars", "crane_up"),
    (r"\bpedestals? up|camera (rises|lifts|goes up)", "pedestal_up"),
    (r"\bpedestals? down|camera (lowers|descends|goes down|sinks)", "pedestal_down"),
    (r"\bpans? (to the )?left", "pan_left"),
    (r"\bpans? (to the )?right|pans? across|pans?\b", "pan_right"),
    (r"\btilts? (up|upward)", "tilt_up"),
    (r"\btilts? (down|downward)", "tilt_down"),
    (r"\bzooms? (in|into)|zooming in", "zoom_in"),
    (r"\bzooms? out|zooming out", "zoom_out"),
    (r"\b(follows|following|tracks|tracking|follow)\b", "track"),
    (r"\b(static|still|locked off|locked|fixed|holds)\b", "static"),
]
MOTION_VERBS = r"(drives|drive|rolls|roll|walks|walk|runs|run|moves|move|sails|sail|flies|fly|goes|go|rides|ride|" \
               r"slides|slide|travels|travel|crosses|cross|races|race|drifts|drift|hops|hop|wanders|wander)"
TIMES = [("sunset", "sunset"), ("sunrise", "dawn"), ("dawn", "dawn"), ("morning", "dawn"), ("dusk", "dusk"),
         ("evening", "dusk"), ("twilight", "dusk"), ("night", "night"), ("midnight", "night"), ("moon", "night"),
         ("noon", "noon"), ("midday", "noon"), ("overcast", "overcast"), ("cloudy", "overcast"), ("rain", "overcast"),
         ("fog", "overcast")]
SETTINGS = [("beach", "sand"), ("desert", "sand"), ("sand", "sand"), ("street", "street"), ("road", "street"),
            ("city", "street"), ("parking", "street"), ("room", "floor"), ("kitchen", "floor"), ("office", "floor"),
            ("indoor", "floor"), ("inside a house", "floor"), ("living", "floor"), ("snow", "snow"),
            ("winter", "snow"), ("lake", "water"), ("sea", "water"), ("ocean", "water"), ("harbor", "water"),
            ("harbour", "water"), ("farm", "dirt"), ("dirt", "dirt")]
STYLE_WORDS = ("painterly", "watercolor", "watercolour", "cinematic", "storybook", "toon", "cartoon", "noir",
               "illustration", "dreamy", "moody", "bright", "pastel")


FUNCTION = {"and", "or", "with", "of", "to", "in", "on", "at", "by", "for", "from", "into", "onto", "under", "over",
            "is", "are", "was", "were", "be", "sits", "sit", "stands", "stand", "lies", "lie", "rests", "waits",
            "sleeps", "parked", "placed", "stood", "looks", "look", "faces", "face", "facing", "watches", "plays",
            "jumps", "while", "as", "then", "near", "beside", "behind", "next", "left", "right", "front", "top",
            "inside", "underneath", "beneath", "below", "above", "between", "toward", "towards", "away", "across",
            "past", "around", "camera", "each", "that", "which", "who", "it", "them", "its", "their", "has", "have",
            "slowly", "quickly", "far", "close", "up", "down", "out", "back", "there", "here"}
VERBS = re.compile(r"^" + MOTION_VERBS + r"$")
ADJ_ENDING = re.compile(r"(y|ful|ous|ish|ive|less|ed|ing)$")


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


def _mentions(sentence: str, b: _Builder) -> list[Mention]:
    words = _words(sentence)
    out = []
    i = 0
    while i < len(words):
        w, s0, _ = words[i]
        if w in DETERMINERS or w.isdigit():
            count = NUMBERS.get(w, int(w) if w.isdigit() else 1)
            definite = w in ("the", "this", "that", "its", "his", "her", "their")
            j = i + 1
            run = []  # content words after the determiner: adjectives ..., then the noun
            while j < len(words) and len(run) < 4:
                wj = words[j][0]
                if wj in FUNCTION or wj in DETERMINERS or VERBS.match(wj) or wj.isdigit():
                    break
                run.append(j)
                j += 1
            if not run:
                i += 1
                continue
            # the noun: the last known category in the run; else the first word that does not read
            # as an adjective ('a snowy field' -> field, 'a dragon lands' -> dragon)
            known = [k for k in run if singular(words[k][0])]
            plain = [k for k in run if words[k][0] not in ADJECTIVES and not ADJ_ENDING.search(words[k][0])]
            k_noun = known[-1] if known else (plain[0] if plain else run[-1])
            adjs = [words[k][0] for k in run if k < k_noun]
            j = k_noun
            if j < len(words):
                noun = words[j][0]
                cat = singular(noun) or (noun if noun not in NOT_NOUNS and noun not in ADJECTIVES
                                         and len(noun) > 2 and not noun.isdigit() else None)
                if cat and noun not in NOT_NOUNS:
                    if noun.endswith("s") and singular(noun) and singular(noun) != noun and count == 1 and not definite:
                        count = 2  # 'some trees'
                    appearance = " ".join(a for a in adjs if a not in SIZE_WORDS)
                    scale = 1.0
                    for a in adjs:
                        scale *= SIZE_WORDS.get(a, 1.0)
                    existing = b.by_cat.get(cat, [])
                    if definite and existing:
                        names = existing[-max(1, count):] if noun != cat else existing[-1:]
                        if noun != cat:  # 'the trees' -> all of them
                            names = existing
                    else:
                        names = [b.new(cat, appearance, scale) for _ in range(min(count, 8))]
                    out.append(Mention(names, cat, s0, words[j][2], definite))
                    i = j + 1
                    continue
        i += 1
    return out


def _relation_between(text: str) -> str | None:
    """The relation phrase nearest the second object ('a car in a kitchen next to a bus': next_to)."""
    t = " " + re.sub(r"\s+", " ", text.strip()) + " "
    if len(t.split()) > 8:
        return None
    best = None  # (end, length, relation)
    for pat, rel in REL_PATTERNS:
        for m in re.finditer(r"(?<![a-z])(" + pat + r")(?![a-z])", t):
            if rel == "inside" and re.match(r"in front of", t[m.start():]):
                continue
            key = (m.end(), m.end() - m.start(), rel)
            if best is None or key[:2] > best[:2]:
                best = key
    return best[2] if best else None


def _camera(sentence: str) -> str | None:
    for pat, move in CAMERA_PATTERNS:
        if re.search(pat, sentence):
            return move
    return None


def _motions(sentence: str, mentions: list[Mention], b: _Builder) -> list[Motion]:
    out = []
    for m in re.finditer(r"\b" + MOTION_VERBS + r"\b(.{0,40})", sentence):
        before = [x for x in mentions if x.end <= m.start()]
        if not before:
            continue
        who = before[-1].names[0]
        tail = m.group(2)
        dist = 4.0
        dm = re.search(r"(\d+(?:\.\d+)?) ?(m|meters|metres)\b", tail)
        if dm:
            dist = min(float(dm.group(1)), 50.0)
        after = [x for x in mentions if x.start >= m.start()]
        if re.search(r"\btowards?\b|\bup to\b|\bto the\b", tail) and after and after[0].names[0] != who and not re.search(
                r"to the (left|right)", tail):
            out.append(Motion(subject=who, direction="toward", target=after[0].names[0], distance=dist))
        elif re.search(r"\baway from\b", tail) and after:
            out.append(Motion(subject=who, direction="away", target=after[0].names[0], distance=dist))
        elif re.search(r"\bleft\b", tail):
            out.append(Motion(subject=who, direction="left", distance=dist))
        elif re.search(r"\bright\b|\bacross\b|\bpast\b|\bby\b", tail):
            out.append(Motion(subject=who, direction="right", distance=dist))
        elif re.search(r"\b(forward|toward the camera|towards the camera|closer)\b", tail):
            out.append(Motion(subject=who, direction="forward", distance=dist))
        elif re.search(r"\b(away|back|backward)\b", tail):
            out.append(Motion(subject=who, direction="backward", distance=dist))
        else:
            out.append(Motion(subject=who, direction="right", distance=dist))
    return out


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
        for a, c in zip(ms, ms[1:]):
            rel = _relation_between(s[a.end:c.start])
            if rel is None:
                continue
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
        motions += _motions(s, ms, b)
        move = _camera(s)
        dur = re.search(r"(\d+(?:\.\d+)?) ?(s|sec|secs|seconds)\b", s)
        duration = float(dur.group(1)) if dur else (shot_seconds or 4.0)
        subjects = list(dict.fromkeys(n for m in ms for n in m.names))
        if move == "track" and ms:
            after = [m for m in ms if s.find("follow") < m.start or s.find("track") < m.start]
            subjects = (after or ms)[0].names[:1]
        if not ms and move and shots and shots[-1].move == "static":
            shots[-1].move = move  # 'A boat. The camera pulls back.': the move belongs to that shot
            if dur:
                shots[-1].duration = min(max(duration, 0.5), 30)
            continue
        if ms or move or not shots:
            shots.append(PlanShot(description=originals[k][:300] if k < len(originals) else s[:300],
                                  move=move or "static", subjects=subjects if len(sentences) > 1 or move == "track" else [],
                                  duration=min(max(duration, 0.5), 30)))
    if not b.objects:
        raise ValueError("no objects found in the prompt: name things with an article or a number, "
                         "e.g. 'a red car next to a tree'")
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
    return Plan(title=title, setting=setting, time_of_day=time, style=style, objects=objects, relations=rels,
                motions=motions, shots=shots)


def _cat(word: str) -> str:
    w = word.lower().split()[-1] if word.strip() else ""
    return singular(w) or w


CAMERA_WORDS = {"camera", "shot", "pedestal", "pan", "tilt", "zoom", "dolly", "truck", "crane", "orbit", "track",
                "static", "up", "down", "in", "out", "left", "right", "pave", "move", "moves"}


def _tidy(o: PlanObject) -> PlanObject:
    """'purple ball' as a category is a ball that is purple: the noun is the category."""
    words = re.findall(r"[a-z]+", o.category.lower())
    noun = next((singular(w) for w in reversed(words) if singular(w)), None)
    if noun is None or noun == o.category:
        return o
    extra = " ".join(w for w in words if singular(w) != noun)
    appearance = o.appearance if extra in o.appearance else (extra + " " + o.appearance).strip()
    return o.model_copy(update={"category": noun, "appearance": appearance[:200]})


def ground(plan: Plan, prompt: str) -> tuple[Plan, list[str]]:
    """Hold an LLM's plan to the prompt. Objects the prompt never names (and setting words used
    as objects) are dropped with everything that refers to them, and so are relations of a kind
    the prompt never states; objects the rules read in the prompt and the plan lacks are added;
    relations the prompt states are added; camera moves are the ones the prompt states (static
    where it states none); a paragraph keeps one shot per sentence. Small models copy their
    few-shot examples, and this is what keeps their plans about the prompt."""
    notes: list[str] = []
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    stems = words | {singular(w) or w for w in words}
    try:
        ruled = plan_from_text(prompt)
    except ValueError:
        ruled = None
    keep, seen_names = [], set()
    for o in plan.objects:
        if o.name in seen_names:
            notes.append(f"dropped a second object named '{o.name}'")
            continue
        seen_names.add(o.name)
        tokens = set(re.findall(r"[a-z]+", (o.name + " " + o.category).lower())) - CAMERA_WORDS
        grounded = any(t in stems or (singular(t) or t) in stems for t in tokens if len(t) > 2)
        if grounded and _cat(o.category) not in NOT_NOUNS and _cat(o.category) not in CAMERA_WORDS:
            keep.append(_tidy(o))
        else:
            notes.append(f"dropped '{o.name}': the prompt does not name it")
    names = {o.name for o in keep}
    by_cat: dict[str, list[str]] = {}
    for o in keep:
        by_cat.setdefault(_cat(o.category), []).append(o.name)
    rename = {}  # rules' name -> the plan's name for the same object
    if ruled is not None:
        for ro in ruled.objects:  # the k-th <category> the rules read is the plan's k-th <category>
            c = _cat(ro.category)
            k = [x.name for x in ruled.objects if _cat(x.category) == c].index(ro.name)
            have = by_cat.setdefault(c, [])
            if k < len(have):
                rename[ro.name] = have[k]
                continue
            name = ro.name
            while name in names:
                name += "_x"
            keep.append(ro.model_copy(update={"name": name}))
            names.add(name)
            have.append(name)
            rename[ro.name] = name
            notes.append(f"added '{name}': the prompt names it")
    stated = {rel for pat, rel in REL_PATTERNS if re.search(r"(?<![a-z])(" + pat + r")(?![a-z])", prompt.lower())}
    rels = []
    if ruled is not None and ruled.relations:  # the prompt's own relations were read: they are the relations
        stated = set()
        if plan.relations:
            notes.append("relations taken from the prompt's own words")
    for r in plan.relations:
        if r.subject in names and r.object in names and r.subject != r.object:
            if r.relation in stated:
                rels.append(r)
            else:
                notes.append(f"dropped '{r.subject} {r.relation} {r.object}': the prompt says nothing like it")
    motions = []  # motions come from the prompt's motion verbs (below), not from the model
    shots = [sh.model_copy(update={"subjects": [n for n in sh.subjects if n in names]}) for sh in plan.shots]
    if ruled is not None:
        have = {(r.subject, r.relation, r.object) for r in rels}
        for r in ruled.relations:
            a, b = rename.get(r.subject), rename.get(r.object)
            if a and b and a != b and (a, r.relation, b) not in have:
                rels.append(Relation(subject=a, relation=r.relation, object=b))
                have.add((a, r.relation, b))
                notes.append(f"added '{a} {r.relation} {b}' stated in the prompt")
        for m in ruled.motions:
            a = rename.get(m.subject)
            if a and not any(x.subject == a for x in motions):
                motions.append(m.model_copy(update={"subject": a, "target": rename.get(m.target) if m.target else None}))
        if plan.motions:
            notes.append("motions taken from the prompt's own words")
        if len(ruled.shots) > 1 or len(shots) != 1:  # the sentences give the shot structure
            shots = [sh.model_copy(update={"subjects": [rename[n] for n in sh.subjects if n in rename]})
                     for sh in ruled.shots]
        elif shots[0].move != ruled.shots[0].move:  # a move the prompt does not state is not made
            shots[0] = shots[0].model_copy(update={"move": ruled.shots[0].move})
            notes.append(f"camera move set to '{ruled.shots[0].move}' as the prompt says")
        if ruled.time_of_day != "noon":
            plan = plan.model_copy(update={"time_of_day": ruled.time_of_day})
        if ruled.setting != "grass":
            plan = plan.model_copy(update={"setting": ruled.setting})
    if not keep:
        raise ValueError("the plan names nothing the prompt mentions")
    return plan.model_copy(update={"objects": keep[:24], "relations": rels[:40], "motions": motions[:12],
                                   "shots": shots[:12] or [PlanShot()]}), notes
