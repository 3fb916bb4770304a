"""The Fountain screenplay reader: the shipped short, every element kind, forced elements,
line numbers, and bad input as one located line."""

from pathlib import Path

import pytest

from worldgen.errors import SpecError
from worldgen.plan.fountain import normalise_location, parse_screenplay, read_screenplay

ROOT = Path(__file__).resolve().parents[1]
SHORT = ROOT / "scenes" / "blue_coat.fountain"


def kinds(scene):
    return [(e.kind, e.text) for e in scene.elements]


def one_scene(body: str):
    """A snippet under one heading on line 1; the snippet starts on line 3."""
    play = parse_screenplay("INT. ROOM - DAY\n\n" + body, file="snip.fountain")
    assert len(play.scenes) == 1
    return play.scenes[0]


# ---------------------------------------------------------------------------------------------
# the shipped screenplay


def test_short_scenes_sets_cast_and_times():
    play = read_screenplay(SHORT)
    assert play.title is not None and play.title.get("title") == "The Blue Coat"
    assert [s.heading.text for s in play.scenes] == [
        "EXT. HARBOUR WALL - DAY",
        "INT. BOATHOUSE - DAY",
        "INT. BOATHOUSE - NIGHT",
        "EXT. HARBOUR WALL - NIGHT",
    ]
    assert play.sets == ("HARBOUR WALL", "BOATHOUSE")
    assert [len(play.scenes_of(name)) for name in play.sets] == [2, 2]  # each set visited twice
    assert [s.time_of_day for s in play.scenes] == ["DAY", "DAY", "NIGHT", "NIGHT"]
    assert [s.heading.setting for s in play.scenes] == ["EXT", "INT", "INT", "EXT"]
    assert play.cast == ("MARA", "TOMAS", "ELI")  # ELI (V.O.) and TOMAS (CONT'D) folded


def test_short_dialogue_in_order():
    play = read_screenplay(SHORT)
    assert [len(s.dialogue) for s in play.scenes] == [4, 3, 3, 2]
    first = play.scenes[0].dialogue
    assert [(d.speaker, d.text) for d in first[:2]] == [
        ("MARA", "The boat's still out."),
        ("TOMAS", "It'll come in when the tide lets it."),
    ]
    assert first[1].parentheticals == ("(without looking up)",)
    radio = play.scenes[1].dialogue[0]
    assert (radio.speaker, radio.extensions, radio.line) == ("ELI", ("V.O.",), 39)
    # the boneyard's old TOMAS line is not spoken
    assert "You'll catch your death." not in [d.text for s in play.scenes for d in s.dialogue]


def test_short_wardrobe_change_is_in_the_action():
    play = read_screenplay(SHORT)
    actions = [e.text for s in play.scenes_of("BOATHOUSE") for e in s.elements if e.kind == "action"]
    assert any("blue wool coat" in a and "buttons it" in a for a in actions)


# ---------------------------------------------------------------------------------------------
# element kinds


def test_heading_parts():
    play = parse_screenplay(
        "INT./EXT. CAR - MOVING - NIGHT #4A#\n\nAction.\n\n"
        "int. old house - kitchen - morning\n\nAction.\n\n"
        "EXT. GARDEN\n\nAction.\n\n"
        "I/E Old   House - kitchen. - CONTINUOUS\n\nAction.\n"
    )
    car, kitchen, garden, again = play.scenes
    assert (car.heading.setting, car.heading.location, car.heading.time, car.heading.number) == (
        "INT./EXT.",
        "CAR - MOVING",
        "NIGHT",
        "4A",
    )
    assert (kitchen.heading.location, kitchen.time_of_day) == ("OLD HOUSE - KITCHEN", "MORNING")
    assert (garden.heading.location, garden.heading.time, garden.time_of_day) == ("GARDEN", None, None)
    assert again.heading.setting == "INT./EXT."
    assert again.heading.time == "CONTINUOUS" and again.time_of_day is None  # garden had none
    assert play.sets == ("CAR - MOVING", "OLD HOUSE - KITCHEN", "GARDEN")
    assert normalise_location(" old  house - kitchen. ") == "OLD HOUSE - KITCHEN"


def test_continuous_keeps_the_time_before():
    play = parse_screenplay("EXT. YARD - DUSK\n\nA.\n\nINT. SHED - CONTINUOUS\n\nB.\n\nINT. SHED - LATER\n\nC.\n")
    assert [s.time_of_day for s in play.scenes] == ["DUSK", "DUSK", "DUSK"]
    assert [s.heading.time for s in play.scenes] == ["DUSK", "CONTINUOUS", "LATER"]


def test_cue_dialogue_parenthetical_extensions():
    scene = one_scene("ANNA (O.S.) (cont'd) ^\n(softly)\nHello.\nIs anyone here?\n(beat,\nthen louder)\nHello!\n")
    cue, paren, line1, paren2, line2 = scene.elements
    assert (cue.kind, cue.text, cue.extensions, cue.contd, cue.dual) == ("character", "ANNA", ("O.S.",), True, True)
    assert (paren.kind, paren.text) == ("parenthetical", "(softly)")
    assert (line1.kind, line1.text) == ("dialogue", "Hello.\nIs anyone here?")
    assert (paren2.kind, paren2.text, paren2.line) == ("parenthetical", "(beat, then louder)", 7)
    assert [(d.speaker, d.text, d.parentheticals) for d in scene.dialogue] == [
        ("ANNA", "Hello.\nIs anyone here?", ("(softly)",)),
        ("ANNA", "Hello!", ("(beat, then louder)",)),
    ]


def test_transition_centred_action_lyric():
    scene = one_scene("He waits.\nAnd waits.\n\nDISSOLVE TO:\n\n>INTERMISSION<\n\n~La la la\n~la la\n\nFADE IN:\n")
    assert kinds(scene) == [
        ("action", "He waits.\nAnd waits."),
        ("transition", "DISSOLVE TO:"),
        ("centered", "INTERMISSION"),
        ("lyric", "La la la"),
        ("lyric", "la la"),
        ("action", "FADE IN:"),
    ]


def test_upper_case_line_alone_is_action_not_a_cue():
    scene = one_scene("BANG.\n\nSILENCE\n")
    assert kinds(scene) == [("action", "BANG."), ("action", "SILENCE")]


def test_notes_boneyard_and_outline_are_not_screen():
    scene = one_scene(
        "# Act one\n\n= she arrives\n\nShe [[check]] enters.\n\n===\n\n"
        "BOB\nHi.\n[[a note alone on its line]]\nBye.\n\n/* cut\n\nall of this\n*/\n"
        "Last.\n"
    )
    assert kinds(scene) == [
        ("action", "She  enters."),
        ("character", "BOB"),
        ("dialogue", "Hi.\nBye."),
        ("action", "Last."),
    ]


def test_two_spaces_keep_a_speech_together():
    scene = one_scene("BOB\nOne.\n  \nTwo.\n")
    assert [d.text for d in scene.dialogue] == ["One.\n\nTwo."]


def test_cast_folds_extensions_and_case_across_scenes():
    play = parse_screenplay(
        "INT. A - DAY\n\nBOB (V.O.)\nHi.\n\n@McKay\nYo.\n\nINT. B - NIGHT\n\nMCKAY (CONT'D)\nStill me.\n\nBOB\nSure.\n"
    )
    assert play.cast == ("BOB", "McKay")
    assert [s.speakers for s in play.scenes] == [("BOB", "McKay"), ("McKay", "BOB")]


def test_title_page_continuation_lines():
    play = parse_screenplay(
        "Title: Night Shift\nAuthor: A. Writer\nContact:\n    1 Long Road\n\tSmalltown\n\nINT. DINER - NIGHT\n\nRain.\n"
    )
    assert play.title is not None and play.title.line == 1
    assert play.title.fields == {"Title": "Night Shift", "Author": "A. Writer", "Contact": "1 Long Road\nSmalltown"}
    assert play.scenes[0].heading.line == 7


def test_before_the_first_heading_is_the_preamble():
    play = parse_screenplay("> FADE IN:\n\nEXT. SEA - DAY\n\nWaves.\n")
    assert [(e.kind, e.text, e.forced) for e in play.preamble] == [("transition", "FADE IN:", True)]


# ---------------------------------------------------------------------------------------------
# forced elements


def test_forced_elements():
    play = parse_screenplay(
        ".SNIPER SCOPE POV\n\n!SCREAMS\nOUTSIDE.\n\n@McCLANE\nYippee.\n\n> Smash cut.\n\n"
        "EXT. ROOF - DAY\n\nLEAVING TO:\nthe car park.\n"
    )
    pov, roof = play.scenes
    assert (pov.heading.forced, pov.heading.setting, pov.heading.location, pov.heading.time) == (
        True,
        None,
        "SNIPER SCOPE POV",
        None,
    )
    assert [(e.kind, e.text, e.forced) for e in pov.elements] == [
        ("action", "SCREAMS\nOUTSIDE.", True),
        ("character", "McCLANE", True),
        ("dialogue", "Yippee.", False),
        ("transition", "Smash cut.", True),
    ]
    # an upper-case line ending in TO: followed by more text is action, not a transition
    assert kinds(roof) == [("action", "LEAVING TO:\nthe car park.")]
    # '..' is not a forced heading
    dots = one_scene("..and so on.\n")
    assert kinds(dots) == [("action", "..and so on.")]


# ---------------------------------------------------------------------------------------------
# line numbers


def test_line_numbers_survive_notes_and_boneyard():
    text = (
        "Title: T\n\n"  # 1-2
        "EXT. PIER - DAY\n\n"  # 3-4
        "/* two\nlines */\n\n"  # 5-7
        "Gulls. [[a note\nover two lines]]\n\n"  # 8-10
        "JO\n(dry)\nFine.\n\n"  # 11-14
        "CUT TO:\n"
    )  # 15
    play = parse_screenplay(text)
    scene = play.scenes[0]
    assert scene.heading.line == 3
    assert [(e.kind, e.line) for e in scene.elements] == [
        ("action", 8),
        ("character", 11),
        ("parenthetical", 12),
        ("dialogue", 13),
        ("transition", 15),
    ]
    assert scene.elements[0].text == "Gulls."
    assert scene.dialogue[0].line == 13


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_windows_and_old_mac_line_endings_count_the_same(newline):
    play = parse_screenplay(newline.join(["INT. A - DAY", "", "JO", "Hi.", ""]))
    assert [(e.kind, e.text, e.line) for e in play.scenes[0].elements] == [
        ("character", "JO", 3),
        ("dialogue", "Hi.", 4),
    ]


# ---------------------------------------------------------------------------------------------
# bad input: one located line


@pytest.mark.parametrize(
    "text,expect",
    [
        ("INT. A - DAY\n\nNice.\n\n/* never\nclosed\n", "snip.fountain:5: this boneyard '/*' is never closed"),
        ("INT. A - DAY\n\nNice [[note\n", "snip.fountain:3: this note '[[' is never closed"),
        ("INT. A - DAY\n\nJO\nHi.\n(beat\nThere.\n", "snip.fountain:5: parenthetical '(beat' is never closed with ')'"),
        ("INT. A - DAY\n\nEXT. - NIGHT\n", "snip.fountain:3: scene heading 'EXT. - NIGHT' names no location"),
        ("Title: T\nnot a key\n\nINT. A - DAY\n", "snip.fountain:2: title page line 'not a key'"),
        ("Just some action.\n", "snip.fountain:1: no scene heading"),
    ],
)
def test_bad_input_is_one_located_line(text, expect):
    with pytest.raises(SpecError) as err:
        parse_screenplay(text, file="snip.fountain")
    message = str(err.value)
    assert message.startswith(expect) and "\n" not in message


def test_unreadable_file_is_located(tmp_path):
    bad = tmp_path / "latin.fountain"
    bad.write_bytes("INT. CAF\xe9 - DAY\n".encode("latin-1"))
    with pytest.raises(SpecError, match=r"latin\.fountain: cannot read the screenplay"):
        read_screenplay(bad)
    with pytest.raises(SpecError, match=r"missing\.fountain: cannot read the screenplay"):
        read_screenplay(tmp_path / "missing.fountain")
