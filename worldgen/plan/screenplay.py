"""Screenplay -> film spec (format 2): sets, cast, wardrobe, scenes and their shots from Fountain.

    data = plan_film(read_screenplay("scenes/blue_coat.fountain"))   # format 2 data, a dict
    text = film_yaml(data, "scenes/blue_coat.fountain", command)      # the YAML with its header

A screenplay already says most of what a film spec needs, only in a writer's words: the scene
headings name the places (one set per distinct location, INT. or EXT.) and the time of day; the
character cues name the cast; the action lines say what stands in each place, who wears what,
and what they do. This module reads those words and lays out only what a prompt cannot say
(the walls of a room, where people stand):
- a set's props come from the action lines of every scene played on it, read by the prompt
  planner (the rule reader, or the model with a backend: `planner.make_plan`) and laid out by
  its solver, so a set is planned exactly as a prompt would be;
- the cast, their outfits and their actions come from a small vocabulary read here
  (clothing nouns, a few verbs of dressing and handling, the actions the rig knows);
- the shots are the coverage planner's (`plan/coverage.py`), called per scene by `_scene_shots`.

Everything is deterministic: the same script gives the same bytes. Errors name the script's
file and line (the heading, the cue or the action line that caused them)."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import yaml

from worldgen.errors import SpecError
from worldgen.plan.categories import lookup
from worldgen.plan.fountain import Screenplay, Scene
from worldgen.plan.planner import MAX_PROMPT_CHARS, PlanningError, PlanReport, make_plan, snake
from worldgen.plan.schema import PlanShot
from worldgen.plan.solver import PlanError, solve
from worldgen.spec.film_edit import FLITE_VOICES, MOODS

# -- times of day -------------------------------------------------------------------------------
# heading word -> spec time; CONTINUOUS, LATER, SAME... were resolved by the reader already.
TIME_WORDS = {
    "DAY": "day",
    "DAYTIME": "day",
    "NOON": "day",
    "MIDDAY": "day",
    "NIGHT": "night",
    "MIDNIGHT": "night",
    "LATE NIGHT": "night",
    "MORNING": "morning",
    "EARLY MORNING": "morning",
    "AFTERNOON": "afternoon",
    "LATE AFTERNOON": "afternoon",
    "EVENING": "evening",
    "DUSK": "dusk",
    "SUNSET": "dusk",
    "TWILIGHT": "dusk",
    "DAWN": "dawn",
    "SUNRISE": "dawn",
    "FIRST LIGHT": "dawn",
}

# -- words the set planner must not turn into props ----------------------------------------------
CLOTHING = {
    "coat",
    "overcoat",
    "raincoat",
    "oilskin",
    "oilskins",
    "jacket",
    "anorak",
    "parka",
    "jumper",
    "sweater",
    "cardigan",
    "hoodie",
    "shirt",
    "blouse",
    "dress",
    "skirt",
    "trousers",
    "jeans",
    "shorts",
    "suit",
    "uniform",
    "apron",
    "cloak",
    "shawl",
    "vest",
    "waistcoat",
    "overalls",
    "gown",
    "robe",
    "tunic",
    "mac",
    "jersey",
}  # fmt: skip  (outfits; a hat or gloves put on do not change one)
# garments the character painter's region words (paint/character_look.py) do not name: the word
# added to the outfit so the painter puts its colour on the right part of the body
GARMENT_REGION = {
    "oilskin": "jacket", "anorak": "jacket", "raincoat": "coat", "overcoat": "coat", "mac": "coat",
    "cloak": "coat", "shawl": "top", "apron": "top", "jersey": "sweater", "gown": "dress",
    "waistcoat": "vest",
}  # fmt: skip
NOT_PROPS = {
    # the body
    "shoulder", "shoulders", "foot", "feet", "hand", "hands", "head", "face", "arm", "arms", "eye",
    "eyes", "back", "collar", "sleeve", "sleeves", "knee", "knees", "finger", "fingers", "lip", "lips",
    # weather, light, sound, air: the time of day and the sound carry them
    "wind", "rain", "light", "lights", "dust", "draught", "draft", "static", "voice", "sound", "noise",
    "silence", "air", "smell", "dark", "darkness", "shadow", "shadows", "sun", "moon", "sky", "fog",
    "mist", "tide", "weather", "cold",
    # groupings and places that are the set itself, not a thing in it
    "row", "line", "coil", "pair", "bit", "end", "edge", "side", "corner", "middle", "top", "bottom",
    "doorway", "window", "distance", "way", "place", "time", "moment", "while",
    # what lies beyond the set
    "water", "sea", "ocean", "river", "breakwater", "horizon", "harbour", "harbor", "town", "city",
}  # fmt: skip
# rough sizes (width, height, depth; metres) for set dressing the planner's table does not know
DRESSING = {
    "post": (0.3, 1.2, 0.3),
    "net": (1.2, 0.15, 0.9),
    "rope": (0.5, 0.15, 0.5),
    "radio": (0.4, 0.25, 0.2),
    "shelf": (1.2, 1.4, 0.35),
    "hook": (0.15, 1.8, 0.15),
    "workbench": (1.8, 0.9, 0.7),
    "coat": (0.5, 1.0, 0.15),
    "bucket": (0.3, 0.35, 0.3),
    "stool": (0.4, 0.6, 0.4),
    "cupboard": (1.0, 1.8, 0.5),
    "stove": (0.8, 0.9, 0.6),
    "sink": (0.8, 0.9, 0.5),
    "anchor": (0.8, 1.0, 0.3),
    "trunk": (0.9, 0.5, 0.5),
    "oar": (2.5, 0.1, 0.15),
    "buoy": (0.5, 0.5, 0.5),
}
# grounds by place words; the first that the location or its action lines name wins
GROUNDS = (
    (r"harbou?r|quay|dock|pier|wall|jetty|breakwater|pavement", "wet grey stone"),
    (r"street|road|car park|parking|alley", "dark asphalt"),
    (r"beach|shore|dune|desert", "pale sand"),
    (r"snow|ice|glacier", "snow"),
    (r"forest|wood|woods|field|park|garden|meadow|lawn", "green grass"),
)
INTERIOR_FLOOR = "worn wooden floorboards"
WALL_LOOK = "painted plaster wall"
WALL_HEIGHT = 3.0

# -- reading the cast -------------------------------------------------------------------------
# cue extensions of a voice heard without being seen: voice-over, off-screen, off-camera
_UNSEEN = {"V.O.", "V.O", "VO", "O.S.", "O.S", "OS", "O.C.", "O.C", "OC"}
_PRONOUN_START = re.compile(r"^(she|he|they)\b", re.IGNORECASE)
_BUILD_WORDS = (
    (r"\b(slim|thin|slight|wiry|skinny|lean)\b", "slim"),
    (r"\b(heavy|heavyset|stout|stocky|big|burly|broad|portly|large)\b", "heavy"),
    (r"\b(athletic|muscular|strong|fit)\b", "athletic"),
)
_HEIGHT_WORDS = ((r"\b(tall|towering|lanky)\b", 1.88), (r"\b(short|small|tiny|little)\b", 1.58))
_LOOK_WORDS = re.compile(
    r"\b((?:grey|gray|white|black|red|brown|blond|blonde|fair|dark|curly|bald|long|short)[- ]haired|"
    r"bearded|freckled|moustached|mustachioed|bald|pale|tanned|weathered|wrinkled|"
    r"(?:grey|gray|white|black|red|brown|blond|blonde|fair|dark|curly|long|short) hair|"
    r"(?:dark|pale|brown|black|olive|fair) skin)\b",
    re.IGNORECASE,
)
_AGE = re.compile(r"^\s*\(\s*(\d0s|\d{1,2}|[a-z]+ies|late \d0s|early \d0s|mid[- ]\d0s)\s*\)", re.IGNORECASE)
_DET = r"(?:a|an|the|his|her|their|its|one|that|this)"
_NP = rf"{_DET}\s+((?:[a-z'-]+\s*){{1,4}})"  # a determiner and up to four words (the noun among them)
_WEAR = re.compile(rf"\b(?:in|wearing)\s+{_NP}", re.IGNORECASE)
_DRESS = re.compile(
    rf"\b(?:puts? on|pulls? on|slips? (?:on|into)|changes? into|dons|shrugs? on|takes?|buttons?(?: up)?)\s+{_NP}",
    re.IGNORECASE,
)
_TAKE = re.compile(rf"\b(?:takes?|lifts?|picks? up|grabs?|unhooks?|removes?)\s+{_NP}", re.IGNORECASE)
# action verbs the rig knows: word pattern -> action
_ACTION_VERBS = (
    (r"\b(walks?|walking|heads? for|crosses|strides?|steps? (?:in|out|up))\b", "walk"),
    (r"\b(sits?|sitting|sat)\b", "sit"),
    (r"\b(waves?|waving)\b", "wave"),
    (r"\b(points?|pointing|holds? (?:it|\w+) out)\b", "point"),
    (r"\b(turns?|turning)\b", "turn"),
    (r"\b(looks?|looking|watch(?:es|ing)?|stares?|glances?|eyes)\b", "look_at"),
)
_MOOD_WORDS = {
    "calm": r"\b(quiet|quietly|still|calm|gentle|gently|slow|slowly|soft|softly|peace\w*)\b",
    "happy": r"\b(laugh\w*|smil\w*|bright|sunny|joy\w*|cheer\w*|happy)\b",
    "sad": r"\b(alone|lost|grief|griev\w*|tears?|cry|cries|crying|dead|death|funeral|cold|his)\b",
    "tense": r"\b(late|static|cough\w*|storm\w*|fear\w*|afraid|running|hurr\w*|waiting|wait|swings?)\b",
    "mysterious": r"\b(dark|black|fog|mist|shadows?|strange|unknown|whisper\w*)\b",
    "romantic": r"\b(kiss\w*|love\w*|embrace\w*|tender\w*)\b",
    "epic": r"\b(battle|army|vast|storm|mountain\w*|thunder\w*)\b",
    "playful": r"\b(jokes?|teas\w*|grin\w*|play\w*|skip\w*)\b",
}
_FEMALE = re.compile(r"\b(she|her|hers|herself)\b", re.IGNORECASE)
_MALE = re.compile(r"\b(he|him|his|himself)\b", re.IGNORECASE)

WORDS_PER_SECOND = 2.5
MIN_LINE_SHOT = 1.5
ESTABLISHING_SECONDS = 3.0
MARK_APART = 2.4  # metres between two people facing each other
WALK_IN = 2.0  # metres a person walks onto their mark, from the open front of the set
WALK_SECONDS = 2.0


_TITLES = re.compile(r"\b(Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Capt|Sgt|Lt|Col|Rev)\.", re.IGNORECASE)


def _sentences(text: str) -> list[str]:
    """Sentences of an action paragraph; 'MR. O'HARA drives.' is one sentence, not two."""
    kept = _TITLES.sub(lambda m: m.group(1) + "\u2024", text)  # a dot that does not end a sentence
    parts = re.split(r"(?<=[.!?])\s+|\n+", kept)
    return [p.replace("\u2024", ".").strip() for p in parts if p.strip()]


def _name_re(name: str) -> re.Pattern:
    return re.compile(r"(?<![A-Za-z])" + re.escape(name) + r"(?![A-Za-z])", re.IGNORECASE)


def _time(scene: Scene, previous: str | None, file: str) -> str:
    word = (scene.time_of_day or "").strip().upper()
    if not word:
        return previous or "day"
    if word in TIME_WORDS:
        return TIME_WORDS[word]
    raise SpecError(
        f"scene heading time '{scene.time_of_day}' is not a time of day "
        "(DAY, NIGHT, MORNING, AFTERNOON, EVENING, DUSK, DAWN, SUNSET, SUNRISE; or CONTINUOUS, LATER, SAME)",
        file=file,
        line=scene.heading.line,
    )


class _Cast:
    """Who is in the film: ids, bodies, outfits over the script, voices."""

    def __init__(self, play: Screenplay):
        self.play = play
        self.names = list(play.cast)  # folded cue names, in order of first cue
        self.ids: dict[str, str] = {}
        for n in self.names:  # 'BOB' and 'BOB!' are two people: bob, bob_2
            base = out = snake(n)
            k = 2
            while out in self.ids.values():
                out, k = f"{base}_{k}", k + 1
            self.ids[n] = out
        self.patterns = {n: _name_re(n) for n in self.names}
        cues = [e for s in play.scenes for e in s.elements if e.kind == "character"]
        named = {
            n
            for n in self.names
            for s in play.scenes
            for e in s.elements
            if e.kind == "action" and self.patterns[n].search(e.text)
        }
        self.voice_only = {
            n
            for n in self.names
            if n not in named and all(any(x in _UNSEEN for x in c.extensions) for c in cues if c.speaker == n)
        }
        self.intro: dict[str, str] = {}
        for s in play.scenes:
            for e in s.elements:
                if e.kind != "action":
                    continue
                for sentence in _sentences(e.text):
                    for n in self.names:
                        if n not in self.intro and self.patterns[n].search(sentence):
                            self.intro[n] = sentence

    def who(self, sentence: str, last: str | None) -> list[str]:
        """The cast a sentence is about, its subject first: those it names in order, after the
        last one named when the sentence starts with a pronoun."""
        found = sorted(
            (m.start(), n) for n in self.names if (m := self.patterns[n].search(sentence)) and n not in self.voice_only
        )
        named = [n for _, n in found]
        if last is not None and _PRONOUN_START.search(sentence):  # 'She waves at Tomas': she first
            return [last] + [n for n in named if n != last]
        return named

    def body(self, name: str) -> dict:
        """Height, build and appearance from the sentence that introduces the character."""
        words = self.intro.get(name, "")
        m = self.patterns[name].search(words)
        after = words[m.end() :] if m else ""
        out: dict = {}
        for pattern, value in _HEIGHT_WORDS:
            if re.search(pattern, after, re.IGNORECASE):
                out["height"] = value
                break
        for pattern, build in _BUILD_WORDS:
            if re.search(pattern, after, re.IGNORECASE):
                out["build"] = build
                break
        look = [x.group(0).lower() for x in _LOOK_WORDS.finditer(after)]
        age = _AGE.match(after)
        if age:
            their = {"f": "her", "m": "his"}.get(self.gender(name) or "", "their")
            look.insert(0, f"in {their} {age.group(1).lower()}" if age.group(1)[0].isdigit() else age.group(1).lower())
        out["appearance"] = ", ".join(dict.fromkeys(look))
        return out

    def gender(self, name: str) -> str | None:
        """she/he from the sentences about the character (for a voice that fits), or None."""
        f = m = 0
        for s in self.play.scenes:
            last = None
            for e in s.elements:
                if e.kind != "action":
                    continue
                for sentence in _sentences(e.text):
                    about = self.who(sentence, last)
                    if about:
                        last = about[0]
                    start = _PRONOUN_START.match(sentence)  # 'She takes...': the subject's own pronoun
                    if start and about and about[0] == name and not self.patterns[name].search(sentence):
                        f += start.group(1).lower() == "she"
                        m += start.group(1).lower() == "he"
        return "f" if f > m else "m" if m > f else None

    def voices(self) -> dict[str, str]:
        """A distinct flite voice per character: slt for a woman, the men's voices in turn."""
        female, male = ["slt"], [v for v in FLITE_VOICES if v != "slt"]
        used: list[str] = []
        out = {}
        for n in self.names:
            pool = female if self.gender(n) == "f" else male
            free = [v for v in pool + list(FLITE_VOICES) if v not in used] or list(FLITE_VOICES)
            out[n] = free[0]
            used.append(free[0])
        return out


def _clothing_phrase(words: str) -> tuple[str, str] | None:
    """('coat', 'blue wool coat') from 'blue wool coat from its hook': the first clothing noun
    among the words and the words before it; None if they name no garment."""
    ws = [w.lower() for w in re.findall(r"[a-z'-]+", words, re.IGNORECASE)]
    for i, w in enumerate(ws):
        if w in CLOTHING:
            adj = [a for a in ws[:i] if a not in ("own", "same", "his", "her", "their")]
            noun = "oilskin" if w == "oilskins" else w
            return noun, " ".join(adj + [noun] + ([GARMENT_REGION[noun]] if noun in GARMENT_REGION else []))
    return None


def _outfits(cast: _Cast) -> tuple[dict[str, dict[str, str]], dict[int, dict[str, str]]]:
    """Each character's wardrobe (outfit id -> words, the first worn from the start) and, per
    scene index, the outfit a character changes into there."""
    wardrobe: dict[str, dict[str, str]] = {n: {} for n in cast.names}
    wearing: dict[str, str | None] = {n: None for n in cast.names}
    changes: dict[int, dict[str, str]] = {}
    for k, scene in enumerate(cast.play.scenes):
        last = None
        for e in scene.elements:
            if e.kind != "action":
                continue
            for sentence in _sentences(e.text):
                about = cast.who(sentence, last)
                if about:
                    last = about[0]
                else:
                    continue
                for pattern in (_WEAR, _DRESS):
                    for m in pattern.finditer(sentence):
                        if re.search(r"\b(off|out of)\s*$", sentence[: m.start(1)]):
                            continue
                        found = _clothing_phrase(m.group(1))
                        if found is None:
                            continue
                        # the wearer: the cast member named last before the words
                        names = [n for n in about if (x := cast.patterns[n].search(sentence)) and x.start() < m.start()]
                        who = names[-1] if names else about[0]
                        outfit, words = found
                        have = wardrobe[who]
                        if outfit not in have:
                            have[outfit] = words
                        elif len(words) > len(have[outfit]):
                            have[outfit] = words  # the fullest description of the same garment
                        if wearing[who] is None:
                            wearing[who] = outfit
                            if list(have)[0] != outfit:  # first worn goes first
                                wardrobe[who] = {outfit: have[outfit], **{a: b for a, b in have.items() if a != outfit}}
                        elif wearing[who] != outfit:
                            wearing[who] = outfit
                            changes.setdefault(k, {})[who] = outfit
    for n in cast.names:
        if not wardrobe[n]:
            wardrobe[n] = {"unseen": "never seen on screen"} if n in cast.voice_only else {"own": "everyday clothes"}
    return wardrobe, changes


# -- sets -------------------------------------------------------------------------------------


def _ground_look(location: str, text: str, interior: bool) -> str:
    if interior:
        return INTERIOR_FLOOR
    for pattern, look in GROUNDS:
        if re.search(r"\b(" + pattern + r")\b", location, re.IGNORECASE):
            return look
    for pattern, look in GROUNDS:
        if re.search(r"\b(" + pattern + r")\b", text, re.IGNORECASE):
            return look
    return "grey earth"


def _set_text(scenes: list[Scene], cast: _Cast, others: list[str]) -> str:
    """The action lines of a set's scenes as a prompt for the set planner: character names,
    their ages and what they wear taken out, sentences about people's clothes dropped (their
    clothes are wardrobe, not props), 'a row of posts' read as three posts."""
    keep: list[str] = []
    for scene in scenes:
        for e in scene.elements:
            if e.kind != "action":
                continue
            for sentence in _sentences(e.text):
                s = sentence
                for n in cast.names:
                    s = re.sub(re.escape(n) + r"\s*\([^)]*\)", n, s, flags=re.IGNORECASE)
                    s = cast.patterns[n].sub("", s)
                s = _WEAR.sub(lambda m: "" if _clothing_phrase(m.group(1)) else m.group(0), s)
                s = re.sub(r"\ba (row|line|pair|couple) of\b", "three", s, flags=re.IGNORECASE)
                s = re.sub(r"\b(high|low|aloft|up|out|away|down)\b(?=[ ,.]|$)", "", s, flags=re.IGNORECASE)
                worn = cast.who(sentence, None) or _PRONOUN_START.search(sentence)
                if worn:  # a person's garment in their sentence is theirs, not the set's
                    s = re.sub(
                        rf"\b{_DET}\s+((?:[a-z'-]+\s+){{0,3}}?)({'|'.join(sorted(CLOTHING))})\b",
                        "",
                        s,
                        flags=re.IGNORECASE,
                    )
                for other in others:
                    s = re.sub(r"\b" + re.escape(other) + r"\b", "", s, flags=re.IGNORECASE)
                s = re.sub(r"\s+", " ", s).strip(" ,")
                if s:
                    keep.append(s)
    text = ""
    for s in keep:
        if len(text) + len(s) + 1 > MAX_PROMPT_CHARS:
            break
        text = f"{text} {s}".strip()
    return text


def _footprint(o: dict) -> tuple[float, float]:
    """Half width and half depth of a planned object (metres)."""
    if "size" in o and len(o["size"]) == 3:
        return o["size"][0] / 2, o["size"][2] / 2
    if "radius" in o:
        return o["radius"], o["radius"]
    return 0.6, 0.6


def plan_set(
    name: str, scenes: list[Scene], cast: _Cast, others: list[str], backend=None, seed: int = 0, file: str = ""
) -> dict:
    """One set: props from its scenes' action lines through the prompt planner, a ground, and
    for an interior three walls (back and sides; the front is open to the cameras) and a lamp."""
    first = scenes[0]
    interior = first.heading.setting == "INT"
    words = _set_text(scenes, cast, others)
    head = snake(name).split("_")[-1]
    objects: list[dict] = []
    if words:
        report = PlanReport(getattr(backend, "name", "rules"))
        try:
            plan = make_plan(words, backend, report)
        except PlanningError as e:
            if backend is not None:
                raise SpecError(f"set '{snake(name)}': {e}", file=file, line=first.heading.line) from None
            plan = None  # the rules found nothing to place: a bare set
        if plan is not None:
            drop = {
                o.name
                for o in plan.objects
                if o.category.split("_")[-1] in NOT_PROPS
                or o.category.split("_")[-1] == head
                or o.category.split("_")[0] in NOT_PROPS
            }
            keep = []
            for o in plan.objects:
                if o.name in drop:
                    continue
                cat = o.category.split("_")[-1] if lookup(o.category).size == lookup("__none__").size else o.category
                if o.size is None and cat in DRESSING:
                    o = o.model_copy(update={"size": list(DRESSING[cat])})
                keep.append(o)
            if keep:
                names = {o.name for o in keep}
                plan = plan.model_copy(
                    update={
                        "objects": keep,
                        "relations": [r for r in plan.relations if r.subject in names and r.object in names],
                        "motions": [],
                        "shots": [PlanShot()],
                    }
                )
                try:
                    data, _ = solve(plan, seed=seed)
                except PlanError as e:
                    raise SpecError(
                        f"set '{snake(name)}': the props cannot be laid out: {e}", file=file, line=first.heading.line
                    ) from None
                objects = [o for o in data["world"]["objects"] if o.get("label") != "ground" or o["id"] != "ground"]
    return _dress(snake(name), first, interior, objects, words)


def _dress(sid: str, first: Scene, interior: bool, props: list[dict], words: str) -> dict:
    """The set around its props: ground (or floor and walls), a lamp indoors."""
    roots = [o for o in props if "parent" not in o and o.get("shape") != "plane"]
    xs = [abs(o["position"][0]) + _footprint(o)[0] for o in roots] or [1.0]
    zs = [o["position"][2] - _footprint(o)[1] for o in roots] or [-1.0]
    front = max([o["position"][2] + _footprint(o)[1] for o in roots] or [0.0])
    half = max(max(xs) + 1.0, 3.5)
    back = min(min(zs) - 0.8, -1.5)
    mark_z = front + 2.0  # the open floor where people stand, in front of the props
    depth = mark_z + 2.5 - back
    ground_id = "floor" if interior else "ground"
    taken = {o["id"] for o in props}
    while ground_id in taken:
        ground_id += "_"
    look = _ground_look(first.set, words, interior)
    ground: dict = {"id": ground_id, "shape": "plane", "label": "ground", "appearance": look}
    if interior:
        ground["size"] = [round(2 * half, 3), round(depth, 3)]
        ground["position"] = [0.0, 0.0, round(back + depth / 2, 3)]
    else:
        ground["size"] = [round(max(40.0, 4 * half), 3), round(max(40.0, 4 * half), 3)]
    objects = [ground] + props
    lights: list[dict] = []
    if interior:
        zc = round(back + depth / 2, 3)
        for wid, size, pos in (
            ("wall_back", [2 * half, WALL_HEIGHT, 0.2], [0.0, WALL_HEIGHT / 2, back - 0.1]),
            ("wall_left", [0.2, WALL_HEIGHT, depth], [-half - 0.1, WALL_HEIGHT / 2, zc]),
            ("wall_right", [0.2, WALL_HEIGHT, depth], [half + 0.1, WALL_HEIGHT / 2, zc]),
        ):
            while wid in taken:
                wid += "_"
            objects.append(
                {
                    "id": wid,
                    "shape": "box",
                    "size": [round(v, 3) for v in size],
                    "position": [round(v, 3) for v in pos],
                    "appearance": WALL_LOOK,
                    "label": "wall",
                }
            )
        lights.append(
            {"type": "point", "position": [0.0, 2.6, round(mark_z - 1.0, 3)], "intensity": 4.0, "color": "#ffd9a0"}
        )
    description = ""
    for e in first.elements:
        if e.kind == "action":
            description = re.sub(r"\s+", " ", e.text)[:400]
            break
    out: dict = {"id": sid, "description": description or first.set.lower()}
    if interior:
        out["interior"] = True
    out["objects"] = objects
    if lights:
        out["lights"] = lights
    out["_mark_z"] = mark_z  # where the cast stands (taken out before the spec is written)
    return out


# -- scenes -----------------------------------------------------------------------------------


def _line_seconds(text: str) -> float:
    return round(max(MIN_LINE_SHOT, len(text.split()) / WORDS_PER_SECOND), 2)


def _marks(ids: list[str], mark_z: float) -> dict[str, tuple[list[float], float]]:
    """Feet positions and headings: one person faces the camera; two face each other across
    the open floor; more stand on a circle facing its centre. Deterministic in cast order."""
    n = len(ids)
    if n == 1:
        return {ids[0]: ([0.0, 0.0, round(mark_z, 3)], 0.0)}
    if n == 2:
        h = MARK_APART / 2
        return {ids[0]: ([-h, 0.0, round(mark_z, 3)], 90.0), ids[1]: ([h, 0.0, round(mark_z, 3)], 270.0)}
    r = max(1.4, 0.5 * n)
    out = {}
    for k, cid in enumerate(ids):
        a = math.pi + math.pi * k / (n - 1)  # a half circle opening to the camera (+Z)
        x, z = r * math.cos(a), mark_z - r * 0.5 * math.sin(a)
        facing = math.degrees(math.atan2(-x, mark_z - z)) % 360
        out[cid] = ([round(x, 3), 0.0, round(z, 3)], round(facing, 2))
    return out


def _line_shot_starts(lines: list[dict]) -> list[float]:
    """Scene time at which each line's shot starts, as coverage lays them out (an establishing
    shot, then one shot per line: lead-in, the line, a tail), so that actions written before a
    line start with that line's shot."""
    from worldgen.plan.coverage import ESTABLISH_SECONDS, LEAD_IN, TAIL, DialogueLine

    starts = [ESTABLISH_SECONDS]
    for x in lines:
        starts.append(starts[-1] + LEAD_IN + DialogueLine(x["character"], x["line"]).seconds + TAIL)
    return starts


def _scene_shots(
    scene_id: str, objects: list[dict], characters: list[dict], lines: list[dict], fps: float
) -> list[dict]:
    """The scene's shots, from the coverage planner (plan/coverage.py: establishing, two-shot,
    then a single or an over-the-shoulder per line, on the 180-degree rule). Arguments: the
    scene's id, its set's objects as laid out (spec data), the cast present with their
    blocking (`id`, `position`, `facing`), the dialogue in order (`{character, line}`), and
    the fps. Returns format 1 shot dicts with `start` in scene time; every line in exactly one
    shot.

    A voice with no body (V.O.) cannot be framed: its line is covered as if the first person
    present said it (the shot shows the listener) and is then given back to the voice. A scene
    with no one in it, or no lines, gets the establishing shot alone (as long as its lines)."""
    from worldgen.plan.coverage import ESTABLISH_SECONDS, plan_coverage

    bodies = [c["id"] for c in characters]
    world = {"objects": [{k: v for k, v in o.items() if not k.startswith("_")} for o in objects]}
    world["characters"] = [{"id": c["id"], "position": c["position"], "facing": c["facing"]} for c in characters]
    frame = lambda t: round(max(1, round(t * fps)) / fps, 4)  # noqa: E731  a whole number of frames
    if bodies and lines:
        framed = [
            {"character": x["character"] if x["character"] in bodies else bodies[0], "line": x["line"]} for x in lines
        ]
        shots = plan_coverage(world, framed, prefix=scene_id)
        spoken = iter(lines)
        for shot in shots:
            shot["duration"] = frame(shot["duration"])
            for d in shot.get("dialogue", []):
                d["character"] = next(spoken)["character"]
        t = 0.0
        for shot in shots:  # starts on whole frames, one shot after another
            shot["start"] = round(t, 4)
            t += shot["duration"]
        return shots
    seconds = ESTABLISH_SECONDS + sum(_line_seconds(x["line"]) for x in lines)
    pts = [o["position"] for o in objects if "position" in o and "parent" not in o and o.get("shape") != "plane"]
    pts += [c["position"] for c in characters]
    xs = [p[0] for p in pts] or [0.0]
    zs = [p[2] for p in pts] or [0.0]
    cx, cz = (min(xs) + max(xs)) / 2, (min(zs) + max(zs)) / 2
    half_w = max((max(xs) - min(xs)) / 2 + 1.0, 2.5)
    dist = half_w / math.tan(math.radians(34)) + 1.0  # 50 degree vertical fov at 16:9 is ~78 across
    shot = {
        "id": f"{scene_id}_establishing",
        "duration": frame(seconds),
        "start": 0.0,
        "camera": {
            "move": "static",
            "position": [round(cx, 3), round(1.8 + 0.15 * dist, 3), round(max(zs) + dist, 3)],
            "look_at": [round(cx, 3), 1.0, round(cz, 3)],
        },
    }
    if lines:
        shot["dialogue"] = [{"character": x["character"], "line": x["line"]} for x in lines]
    return [shot]


def _scene(
    k: int,
    scene: Scene,
    set_data: dict,
    cast: _Cast,
    time: str,
    wardrobe_change: dict[str, str],
    layout: dict[str, dict],
    fps: float,
) -> dict:
    """One scene: who is there, where they stand and what they do, what changes in the set,
    the dialogue and the shots."""
    sid = f"s{k + 1}_{set_data['id']}"
    present: list[str] = []
    events: list[tuple[int, str, str, str | None]] = []  # (line index, who, action, object words)
    take: list[tuple[str, int]] = []  # (prop id, line)
    lines: list[dict] = []
    last = None
    for e in scene.elements:
        if e.kind == "character" and e.speaker and e.speaker not in cast.voice_only and e.speaker not in present:
            present.append(e.speaker)
        elif e.kind == "dialogue" and e.speaker:
            lines.append({"character": cast.ids[e.speaker], "line": re.sub(r"\s+", " ", e.text).strip()})
        elif e.kind == "action":
            for sentence in _sentences(e.text):
                about = cast.who(sentence, last)
                if not about:
                    continue
                last = about[0]
                for n in about:
                    if n not in present:
                        present.append(n)
                who = about[0]
                for pattern, action in _ACTION_VERBS:
                    m = re.search(pattern, sentence, re.IGNORECASE)
                    if m and not re.search(r"\b(not|never|n't|without)\s+(\w+\s+)?$", sentence[: m.start()]):
                        events.append((len(lines), who, action, sentence[m.end() :]))
                for m in _TAKE.finditer(sentence):
                    pid = _target(m.group(1), layout)
                    if pid is not None:
                        take.append((pid, e.line))
    ids = [cast.ids[n] for n in present]
    marks = _marks(ids, set_data["_mark_z"])
    line_starts = _line_shot_starts(lines)
    blocking: dict[str, dict] = {}
    for n in present:
        cid = cast.ids[n]
        pos, facing = marks[cid]
        b: dict = {"id": cid}
        if n in wardrobe_change:
            b["wardrobe"] = wardrobe_change[n]
        b["position"], b["facing"] = pos, facing
        b["actions"] = []
        blocking[cid] = b
    others = {cid: [o for o in ids if o != cid] for cid in ids}
    for at, n, action, rest in events:
        cid = cast.ids[n]
        b = blocking[cid]
        # an action written before line k starts with line k's shot; one after the last line
        # with that line's shot (the scene ends with its last line)
        start = round(0.0 if at == 0 else line_starts[min(at, len(lines) - 1)], 2)
        target = _target(rest, layout) or (others[cid][0] if others[cid] else None)
        body = {a["action"] for a in b["actions"] if a["action"] in ("walk", "sit")}
        if action in body or (action == "walk" and body):
            continue  # one walk onto the mark, then perhaps one sit: the body layer holds one at a time
        if action == "walk":
            x, y, z = b["position"]  # walks onto the mark from the open front of the set
            b["path"] = [
                {"t": 0.0, "position": [x, y, round(z + WALK_IN, 3)]},
                {"t": WALK_SECONDS, "position": [x, y, z]},
            ]
            b["curve"] = "linear"
            b["actions"].append({"action": "walk", "start": 0.0, "end": WALK_SECONDS})
        elif action == "sit" and (start == 0.0 or body):  # sits from the start, or once walked in
            t0 = WALK_SECONDS if body else 0.0
            on = re.match(r"\s*(?:down\s+)?(?:on|in|at|upon|astride)\s+((?:\S+\s*){1,5})", rest, re.IGNORECASE)
            seat = _target(on.group(1), layout) if on else None
            if seat is not None and "parent" not in layout[seat]:
                b["actions"].append({"action": "sit", "start": t0, "target": seat})
                o = layout[seat]
                _, hd = _footprint(o)
                b["position"] = [round(o["position"][0], 3), 0.0, round(o["position"][2] + hd + 0.3, 3)]
                b["facing"] = 0.0
                if "path" in b:  # the walk ends at the seat
                    x, y, z = b["position"]
                    b["path"] = [
                        {"t": 0.0, "position": [x, y, round(z + WALK_IN, 3)]},
                        {"t": WALK_SECONDS, "position": [x, y, z]},
                    ]
            else:
                b["actions"].append({"action": "sit", "start": t0})
        elif action in ("look_at", "point", "turn", "wave") and target is not None:
            if any(a["action"] == action and a["start"] == start for a in b["actions"]):
                continue
            if action == "wave":
                b["actions"].append({"action": "wave", "start": start})
            elif target != cid:
                b["actions"].append({"action": action, "start": start, "target": target})
    for b in blocking.values():
        b["actions"] = _no_overlap(b["actions"])
        if not b["actions"]:
            del b["actions"]
    seated = [cid for cid, b in blocking.items() if any(a["action"] == "sit" for a in b.get("actions", []))]
    if seated and len(blocking) >= 2:  # the others face the seated one from its open side
        s = blocking[seated[0]]
        sx, _, sz = s["position"]
        free = [cid for cid in ids if cid != seated[0]]
        for j, cid in enumerate(free):
            b = blocking[cid]
            x = sx - 1.8 if j % 2 == 0 else sx + 1.8
            b["position"] = [round(x, 3), 0.0, round(sz + 1.2 + 0.6 * (j // 2), 3)]
            b["facing"] = round(math.degrees(math.atan2(sx - x, sz - b["position"][2])) % 360, 2)
            if "path" in b:
                p0 = [b["position"][0], 0.0, round(b["position"][2] + WALK_IN, 3)]
                b["path"] = [{"t": 0.0, "position": p0}, {"t": WALK_SECONDS, "position": b["position"]}]
        s["facing"] = round(math.degrees(math.atan2(blocking[free[0]]["position"][0] - sx, 1.2)) % 360, 2)
    for b in blocking.values():
        for a in b.get("actions", []):
            if a["action"] == "turn" and a.get("target") in blocking:
                # a heading, not the person: a turn toward someone is read when the world is
                # built, before a person listed later exists (worldgen.world, 2026-11-30)
                there = blocking[a.pop("target")]["position"]
                a["to"] = round(
                    math.degrees(math.atan2(there[0] - b["position"][0], there[2] - b["position"][2])) % 360, 2
                )
    for b in blocking.values():
        if "path" in b:
            del b["position"]
            acts = b.setdefault("actions", [])
            if not any(a["action"] in ("sit", "turn") and a["start"] <= WALK_SECONDS for a in acts):
                # a walk leaves them facing upstage: they turn to their partner on the mark
                acts.append({"action": "turn", "start": WALK_SECONDS, "to": b["facing"]})
                b["actions"] = _no_overlap(acts)
    out: dict = {"id": sid, "heading": scene.heading.text[:300], "set": set_data["id"], "time": time}
    changes = [{"id": pid, "remove": True} for pid in dict.fromkeys(p for p, _ in take) if pid in layout]
    for pid in [c["id"] for c in changes]:
        for gone in _with_children(layout, pid):
            layout.pop(gone, None)
    if changes:
        out["changes"] = changes
    chars = [
        {"id": b["id"], "position": b.get("position") or b["path"][-1]["position"], "facing": b["facing"]}
        for b in blocking.values()
    ]
    out["cast"] = list(blocking.values())
    out["shots"] = _scene_shots(sid, list(layout.values()), chars, lines, fps)
    return out


def _with_children(layout: dict[str, dict], pid: str) -> list[str]:
    out, frontier = [pid], [pid]
    while frontier:
        kids = [k for k, o in layout.items() if o.get("parent") in frontier and k not in out]
        out += kids
        frontier = kids
    return out


def _target(words: str, layout: dict[str, dict]) -> str | None:
    """The first prop of the set named in these words (by its id or its head noun)."""
    for w in re.findall(r"[a-z]+", words.lower()):
        for pid in layout:
            if pid == w or pid.split("_")[-1] == w:
                return pid
    return None


def _no_overlap(actions: list[dict]) -> list[dict]:
    """Keep one action per rig layer at a time (the spec refuses overlaps): a later one on a
    busy layer ends the earlier one where it starts."""
    layer = {"walk": "body", "sit": "body", "turn": "body", "look_at": "head", "wave": "arm", "point": "arm"}
    out: list[dict] = []
    for a in sorted(actions, key=lambda a: (a["start"], a["action"])):
        same = [x for x in out if layer[x["action"]] == layer[a["action"]]]
        if same:
            prev = same[-1]
            end = prev.get("end", math.inf if prev["action"] not in ("wave",) else prev["start"] + 2.0)
            if end > a["start"]:
                if a["start"] - prev["start"] < 1.0 or prev["action"] in ("sit", "walk"):
                    continue
                prev["end"] = a["start"]
        out.append(a)
    return out


# -- the film ---------------------------------------------------------------------------------


def _mood(play: Screenplay) -> str:
    words = " ".join(e.text for s in play.scenes for e in s.elements if e.kind in ("action", "dialogue"))
    score = Counter({m: len(re.findall(p, words, re.IGNORECASE)) for m, p in _MOOD_WORDS.items()})
    best = max(MOODS, key=lambda m: (score[m], -MOODS.index(m)))
    return best if score[best] else "calm"


def plan_film(
    play: Screenplay, backend=None, seed: int = 0, width: int = 512, height: int = 288, fps: float = 24
) -> dict:
    """A screenplay as format 2 film data (a dict that `FilmSpec` validates). `backend`: the
    prompt planner's model backend for the sets' props (None: the rule reader)."""
    file = play.file
    cast = _Cast(play)
    wardrobe, changes = _outfits(cast)
    voices = cast.voices()
    sets: dict[str, dict] = {}
    for name in play.sets:
        others = [o for o in play.sets if o != name]
        sets[name] = plan_set(name, list(play.scenes_of(name)), cast, others, backend, seed, file)
    ids = [d["id"] for d in sets.values()]
    if len(set(ids)) != len(ids):
        first = next(s for s in play.scenes if ids.count(snake(s.set)) > 1)
        raise SpecError(
            f"two locations share the set id '{snake(first.set)}'; name them apart", file=file, line=first.heading.line
        )
    layouts = {name: {o["id"]: o for o in d["objects"]} for name, d in sets.items()}
    scenes, previous = [], None
    for k, scene in enumerate(play.scenes):
        time = _time(scene, previous, file)
        previous = time
        scenes.append(_scene(k, scene, sets[scene.set], cast, time, changes.get(k, {}), layouts[scene.set], fps))
    members = []
    for n in cast.names:
        m: dict = {"id": cast.ids[n]}
        m.update({key: v for key, v in cast.body(n).items() if v})
        m["wardrobe"] = wardrobe[n]
        m["voice"] = {"name": voices[n]}
        if n in cast.voice_only:
            m["voice_only"] = True
        members.append(m)
    title_page = play.title
    title = _plain(title_page.get("title", "") if title_page else "") or Path(file).stem.replace("_", " ").title()
    author = _plain(title_page.get("author", "") or title_page.get("authors", "")) if title_page else ""
    credit = _plain(title_page.get("credit", "")) if title_page else ""
    shots = [s["id"] for sc in scenes for s in sc["shots"]]
    edit: dict = {"title": {"text": title[:200]}}
    if author:
        edit["title"]["subtitle"] = f"{credit or 'by'} {author}"[:200]
    edit["credits"] = {"extra": [f"{(credit or 'by').capitalize()} {author}"[:200]] if author else []}
    if not edit["credits"]["extra"]:
        edit["credits"] = True
    edit["subtitles"] = {"burn_in": False}
    data: dict = {
        "worldgen": 2,
        "title": title[:200],
        "seed": seed,
        "render": {"width": width, "height": height, "fps": fps},
        "cast": members,
        "sets": [{k: v for k, v in d.items() if not k.startswith("_")} for d in sets.values()],
        "scenes": scenes,
        "sound": {"music": [{"from": shots[0], "to": shots[-1], "mood": _mood(play)}]},
        "edit": edit,
    }
    return data


def _plain(text: str | None) -> str:
    """Title page text without Fountain emphasis marks, on one line."""
    return re.sub(r"\s+", " ", re.sub(r"[*_]", "", text or "")).strip()


def film_yaml(data: dict, source: str, command: str, planner: str = "rules") -> str:
    """The film data as YAML, after a comment that says what generated it."""
    head = (
        f"# Generated by worldgen from the screenplay {source}\n"
        f"#   {command}\n"
        f"# planner: {planner}. Edit the screenplay and generate again rather than this file.\n"
    )
    return head + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)


def plan_screenplay(
    path: str | Path,
    backend=None,
    seed: int = 0,
    command: str | None = None,
    width: int = 512,
    height: int = 288,
    fps: float = 24,
) -> str:
    """Read a .fountain file and return the film spec's YAML text, checked by the film loader
    (a spec it writes always validates; if one does not, that is reported, never written)."""
    from worldgen.plan.fountain import read_screenplay
    from worldgen.spec.film_loader import load_film_text
    from worldgen.world import World
    from worldgen.world_checks import check_geometry

    play = read_screenplay(path)
    data = plan_film(play, backend, seed, width, height, fps)
    command = command or f"worldgen plan --screenplay {path} -o FILM.yaml"
    text = film_yaml(data, str(path), command, getattr(backend, "name", "rules"))
    try:  # what `worldgen validate` checks, so the written film always passes it
        film = load_film_text(text, "<planned film>", base_dir=Path(path).resolve().parent)
        for scene in film.scenes:
            check_geometry(scene.spec, World(scene.spec))
    except SpecError as e:
        raise PlanningError(f"{path}: internal: the planned film does not validate: {e}") from None
    return text
