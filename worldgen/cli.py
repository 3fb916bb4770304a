"""The `worldgen` command: a thin layer over the library. Every command explains itself in --help."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from worldgen import __version__
from worldgen.console import console, reflow_help
from worldgen.errors import WorldgenError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    help="worldgen makes short films world-model-first: a scene spec (YAML) becomes a persistent 3D "
    "world; every frame of every shot is a view of it, with exact passes and a painted image.\n\n"
    "Typical use:\n\n"
    "  worldgen validate scenes/lighthouse.yaml\n\n"
    "  worldgen render scenes/lighthouse.yaml -o out/lighthouse\n\n"
    "  worldgen passes scenes/lighthouse.yaml -o out/passes --shot push_in --format exr",
)
err = console(stderr=True)
out = console()


class Backend(str, Enum):
    raycast = "raycast"
    gl = "gl"


class PassFormat(str, Enum):
    npz = "npz"
    exr = "exr"


def _fail(e: WorldgenError):
    err.print(f"[bold red]error:[/] {escape(str(e))}")
    raise typer.Exit(e.exit_code)


def _load(spec_path: Path):
    """The spec and its world, checked as 'worldgen validate' does; commands go on with this
    world rather than building a second one."""
    from worldgen.spec import load_spec

    spec = load_spec(spec_path)
    return spec, _world_of(spec)


def _world_of(spec):
    """The spec's world, checked as 'worldgen validate' checks it."""
    from worldgen.world import World
    from worldgen.world_checks import check_geometry

    world = World(spec)
    check_geometry(spec, world)
    return world


def _load_film(spec_path: Path):
    """A format 2 film and its scenes' worlds, each checked as 'worldgen validate' checks a spec."""
    from worldgen.spec.film_loader import load_film
    from worldgen.world import World
    from worldgen.world_checks import check_geometry

    film = load_film(spec_path)
    worlds = []
    for scene in film.scenes:
        worlds.append(World(scene.spec))
        check_geometry(scene.spec, worlds[-1])
    return film, worlds


def _is_film(spec_path: Path) -> bool:
    from worldgen.spec.film_loader import is_film_text

    try:
        return is_film_text(spec_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False  # the loader reports it, located


def _version(v: bool):
    if v:
        out.print(f"worldgen {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
):
    pass


@app.command()
def validate(
    specs: List[Path] = typer.Argument(..., help="Spec files to check."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Also print how much of each shot shows its subject."),
):
    """Check specs without rendering: schema, references, parent cycles, cameras inside objects,
    targets that never enter the frame. Prints one line per problem; exit code 2 if any.
    A shot whose subject is hidden behind another object in more than a third of its frames
    is a warning (exit code stays 0)."""
    from worldgen.passes.visibility import describe, occlusion_warnings, spec_visibility

    bad = 0
    for p in specs:
        try:
            if _is_film(p):
                film, worlds = _load_film(p)
                out.print(
                    f"[green]ok[/] {escape(str(p))}: film '{escape(film.title)}', {len(film.spec.scenes)} scenes, "
                    f"{len(film.spec.sets)} sets, {len(film.spec.cast)} cast, {len(film.edit.shots)} shots, "
                    f"{sum(s.duration for s in film.edit.shots):g} s"
                )
                for scene, world in zip(film.scenes, worlds):
                    measured = spec_visibility(scene.spec, world)
                    for w in occlusion_warnings(scene.spec, world, measured=measured):
                        err.print(f"[bold yellow]warning:[/] {escape(str(w))}")
                    for v in measured if verbose else []:
                        out.print(
                            f"  {escape(scene.scene.id)} '{escape(v.shot)}': "
                            f"{escape(describe(v, scene.spec.render.fps))}"
                        )
                continue
            spec, world = _load(p)
            measured = spec_visibility(spec, world)
            out.print(
                f"[green]ok[/] {escape(str(p))}: '{escape(spec.title)}', {len(spec.world.objects)} objects, "
                f"{len(spec.world.characters)} characters, {len(spec.shots)} shots, "
                f"{sum(s.duration for s in spec.shots):g} s"
            )
            for w in occlusion_warnings(spec, world, measured=measured):
                err.print(f"[bold yellow]warning:[/] {escape(str(w))}")
            for v in measured if verbose else []:
                out.print(f"  shots[{v.index}] '{escape(v.shot)}': {escape(describe(v, spec.render.fps))}")
        except WorldgenError as e:
            err.print(f"[bold red]error:[/] {escape(str(e))}")
            bad += 1
    if bad:
        raise typer.Exit(2)


@app.command()
def schema(
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
    film: bool = typer.Option(False, "--film", help="The film spec (format 2: cast, sets, scenes) instead."),
):
    """Print the JSON Schema of the scene spec (for editors, validators and LLM planners)."""
    from worldgen.spec.film import FilmSpec
    from worldgen.spec.models import Spec

    text = json.dumps((FilmSpec if film else Spec).model_json_schema(), indent=1)
    if output:
        output.write_text(text + "\n")
        out.print(f"wrote {output}", markup=False)
    else:
        sys.stdout.write(text + "\n")


def _painter_options(
    base_model, controlnet, refine, steps, device, dtype, cache, lighting, motion_adapter=None
) -> dict:
    """Painter flags -> the command line's layer of painter options (None = not given: the spec's
    render.diffusion value)."""
    from worldgen.spec.painters import merge_painter_options

    o = {
        "base": base_model,
        "refine": refine,
        "steps": steps,
        "device": device,
        "dtype": dtype,
        "cache": str(cache) if cache else None,
        "lighting": lighting,
        "motion_adapter": motion_adapter,
    }
    if controlnet:
        from worldgen.diffusion.loading import ModelError, parse_control_ref  # imports torch: only when asked

        try:
            refs = [parse_control_ref(c) for c in controlnet]
        except ModelError as e:
            raise WorldgenError(f"--controlnet: {e}") from None
        o["controlnets"] = {r.kind: r.ref for r in refs}
        o["weights"] = {r.kind: r.weight for r in refs}
    return merge_painter_options(o)  # checked now; the spec's block goes under it when the painter is made


def _render_cmd(
    spec_path,
    output,
    backend,
    shot,
    fmt,
    overwrite,
    paint,
    control,
    film,
    quiet,
    painter=None,
    painter_options=None,
    force=False,
    store=None,
    no_store=False,
    executor="local",
    address=None,
    voice_model=None,
    loudness=None,
    music_model=None,
    jobs=None,
):
    from worldgen.control import WRITTEN_CONTROL_KINDS
    from worldgen.render import RenderOptions, render

    try:
        movie = _load_film(spec_path)[0] if _is_film(spec_path) else None  # format 2: a film of scenes
        if movie is None:
            from worldgen.spec import load_spec

            spec = load_spec(spec_path)
        if isinstance(control, str):  # render --passes all | control | none
            on, arrays, kinds = control != "none", control == "all", WRITTEN_CONTROL_KINDS
        else:  # the passes command: the arrays, and the control images when asked
            on, arrays, kinds = True, True, WRITTEN_CONTROL_KINDS if control else ()
        opt = RenderOptions(
            backend=backend.value if backend else None,
            shots=shot or None,
            fmt=fmt.value,
            passes=on,
            pass_arrays=arrays,
            paint=paint,
            control=kinds,
            film=film,
            overwrite=overwrite,
            progress=not quiet,
            painter=painter,
            painter_options=painter_options or {},
            force=force,
            store=str(store) if store else None,
            use_store=not no_store,
            executor=executor,
            ray_address=address,
            voice_model=str(voice_model) if voice_model else None,
            music_model=str(music_model) if music_model else None,
            loudness=loudness,
            jobs=0 if jobs is None else jobs,  # 0: as many processes as pay (worldgen.render.local)
        )
        if jobs is not None and jobs < 1:
            raise WorldgenError(f"--jobs: {jobs} is not a number of processes (1 or more)")
        if jobs is not None and executor == "ray":
            raise WorldgenError("--jobs: for the local executor; with --executor ray, Ray starts the workers")
        if loudness is not None and not -40 <= loudness <= -5:
            raise WorldgenError(f"--loudness: {loudness:g} LUFS is outside -40..-5")
        if executor not in ("local", "ray"):
            raise WorldgenError(f"--executor: '{executor}' is not local or ray")
        if movie is not None:
            from worldgen.render.film_render import render_film_spec

            res = render_film_spec(movie, output, opt)
        else:
            from worldgen.render.local import early_workers

            # the worker processes start now and build their worlds while this one builds its own
            with early_workers(spec, opt, Path(output)):
                res = render(spec, output, opt, world=_world_of(spec))
    except WorldgenError as e:
        _fail(e)
    m = res.manifest
    frames = sum(s["frames"] for s in m["scenes"]) if movie is not None else sum(s["frame_count"] for s in m["shots"])
    store = f", {res.frames_from_store} from the store" if res.frames_from_store else ""
    msg = f"{frames} frames ({res.frames_rendered} rendered, {res.frames_skipped} already there{store}) in {output}"
    if m.get("film"):
        msg += f"\nfilm: {Path(output) / m['film']}\ncontact sheet: {Path(output) / m['contact_sheet']}"
    out.print(msg, markup=False)


def _reproduce(manifest: Path, frames: Optional[List[str]], output: Path, quiet: bool):
    from worldgen.render import reproduce

    try:
        if not manifest.is_file():
            raise WorldgenError(f"{manifest}: no such manifest")
        man = json.loads(manifest.read_text())
        if isinstance(man, dict) and man.get("kind") == "film":
            raise WorldgenError(
                f"{manifest}: a film's manifest; reproduce frames from a scene's (scenes/<id>/manifest.json)"
            )
        wanted: dict = {}
        for f in frames or [f"{s_['id']}:{fr['index']}" for s_ in man["shots"] for fr in s_["frames"]]:
            shot_id, _, index = f.rpartition(":")
            ids = {s_["id"]: s_["frame_count"] for s_ in man["shots"]}
            if shot_id not in ids or not index.isdigit() or int(index) >= ids[shot_id]:
                raise WorldgenError(
                    f"--frame {f}: expected SHOT:INDEX of this render (shots: "
                    + ", ".join(f"{k} 0-{v - 1}" for k, v in ids.items())
                    + ")"
                )
            wanted.setdefault(shot_id, set()).add(int(index))
        report = reproduce(manifest, wanted, output, progress=not quiet)
    except (WorldgenError, json.JSONDecodeError, KeyError) as e:
        _fail(e if isinstance(e, WorldgenError) else WorldgenError(f"{manifest}: not a worldgen manifest ({e})"))
    same = sum(r["identical"] for r in report)
    for r in report:
        out.print(
            f"{'identical' if r['identical'] else '[red]DIFFERENT[/]'}  "
            + escape(f"{r['shot']}:{r['index']} {r['output']} -> {r['path']}")
        )
    out.print(f"{same} of {len(report)} outputs reproduced byte for byte")
    if same != len(report):
        raise typer.Exit(1)


_SHOT = typer.Option(None, "--shot", help="Only this shot (repeat for several).")
_BACKEND = typer.Option(None, "--backend", help="raycast (Open3D, CPU; default) or gl (pyrender via EGL/OSMesa).")
_OVERWRITE = typer.Option(False, "--overwrite", help="Replace a folder that holds a render of another spec.")
_QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")
_FORCE = typer.Option(False, "--force", help="Recompute every frame, ignoring finished files and the store.")
_STORE = typer.Option(
    None,
    "--store",
    help="Content-addressed frame store (default $WORLDGEN_CACHE/frames, "
    "else ~/.cache/worldgen/frames); `worldgen cache` shows and prunes it.",
)
_NO_STORE = typer.Option(False, "--no-store", help="Neither read nor fill the frame store.")
_EXECUTOR = typer.Option(
    "local", "--executor", help="local (default) or ray: frames and shots as Ray tasks (pip install 'worldgen[ray]')."
)
_JOBS = typer.Option(
    None,
    "--jobs",
    "-j",
    help="Processes painting frames on this machine (default: one per usable CPU for a render of more than "
    "48 frames at 512x288, else 1). The frames are the same bytes for any number.",
)
_RAY_ADDRESS = typer.Option(
    None,
    "--address",
    help="With --executor ray: a running cluster ('auto', 'ray://head:10001'); default starts Ray on this machine.",
)


_PAINTER = typer.Option(
    None,
    "--painter",
    help="procedural (default, no weights), diffusion (= baked), baked, "
    "baked+refine, or the baselines per-frame, fixed-seed, anchored-noise; or a "
    "plugin's painter (entry-point group worldgen.painters).",
)
_BASE = typer.Option(
    None,
    "--base-model",
    help="Diffusion: SD1.5- or SDXL-class model, a diffusers folder, a hub id "
    "in the local cache, or a .safetensors file.",
)
_CONTROLNET = typer.Option(
    None,
    "--controlnet",
    help="Diffusion: KIND=PATH_OR_ID\\[@WEIGHT], repeat per net, e.g. depth=lllyasviel/control_v11f1p_sd15_depth@0.8",
)
_REFINE = typer.Option(None, "--refine", help="Diffusion: img2img refinement strength over baked frames (e.g. 0.3).")
_STEPS = typer.Option(None, "--steps", help="Diffusion: denoising steps (default 20).")
_DEVICE = typer.Option(None, "--device", help="Diffusion: auto (default), cpu, cuda, cuda:N, mps.")
_DTYPE = typer.Option(None, "--dtype", help="Diffusion: auto (fp16 on CUDA), fp16, bf16, fp32.")
_CACHE = typer.Option(None, "--cache", help="Texture cache folder (default $WORLDGEN_CACHE or ~/.cache/worldgen).")
_LIGHTING = typer.Option(None, "--lighting", help="Baked frames: lit (by the spec's lights; default) or unlit.")
_MOTION = typer.Option(
    None,
    "--motion-adapter",
    help="Diffusion: an AnimateDiff motion adapter (folder or hub id) for --painter baked+animatediff.",
)


@app.command()
def render(
    spec: Optional[Path] = typer.Argument(None, help="Scene spec (YAML); or use --from-manifest."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder (resumes if it holds this render)."),
    backend: Optional[Backend] = _BACKEND,
    shot: Optional[List[str]] = _SHOT,
    format: PassFormat = typer.Option(PassFormat.npz, "--format", help="Passes as npz or multi-channel EXR."),
    passes: str = typer.Option(
        "all",
        "--passes",
        help="What to write beside the film: all (pass arrays and control "
        "images), control (control images only) or none (the film only, fastest).",
    ),
    no_passes: bool = typer.Option(False, "--no-passes", hidden=True, help="Same as --passes none."),
    overwrite: bool = _OVERWRITE,
    quiet: bool = _QUIET,
    painter: Optional[str] = _PAINTER,
    base_model: Optional[str] = _BASE,
    controlnet: Optional[List[str]] = _CONTROLNET,
    refine: Optional[float] = _REFINE,
    steps: Optional[int] = _STEPS,
    device: Optional[str] = _DEVICE,
    dtype: Optional[str] = _DTYPE,
    cache: Optional[Path] = _CACHE,
    lighting: Optional[str] = _LIGHTING,
    motion_adapter: Optional[str] = _MOTION,
    force: bool = _FORCE,
    store: Optional[Path] = _STORE,
    no_store: bool = _NO_STORE,
    executor: str = _EXECUTOR,
    address: Optional[str] = _RAY_ADDRESS,
    jobs: Optional[int] = _JOBS,
    from_manifest: Optional[Path] = typer.Option(
        None,
        "--from-manifest",
        help="Reproduce frames of an earlier render "
        "from its manifest.json (its resolved spec, backend, painter and options).",
    ),
    frame: Optional[List[str]] = typer.Option(
        None, "--frame", help="With --from-manifest: SHOT:INDEX, repeatable (default: every frame of the render)."
    ),
    voice_model: Optional[Path] = typer.Option(
        None,
        "--voice-model",
        help="A transformers text-to-speech folder (VITS/MMS, from_pretrained) to speak the dialogue (default: flite).",
    ),
    music_model: Optional[Path] = typer.Option(
        None,
        "--music-model",
        help="A transformers MusicGen folder (from_pretrained) to generate the composed music cues from their "
        "words (default: the MIDI score).",
    ),
    loudness: Optional[float] = typer.Option(
        None,
        "--loudness",
        metavar="LUFS",
        help="Integrated loudness of the film's mix (default: the spec's sound.loudness, else -14; -23 for EBU R128).",
    ),
):
    """Render every shot: painted frames, passes, film.mp4 (H.264, shots cut in order),
    contact_sheet.png and manifest.json. Re-running resumes: finished frames are kept.
    A spec with dialogue, sound or an edit block also gets the edit: voices, score, mix
    (AAC in film.mp4, stems/), transitions, title, credits, grade, subtitles (docs/FILM.md).

    Painting with diffusion (real weights needed for real pictures; see docs/DIFFUSION.md):

      worldgen render scene.yaml -o out --painter diffusion --base-model stable-diffusion-v1-5/stable-diffusion-v1-5
      --controlnet depth=lllyasviel/control_v11f1p_sd15_depth --refine 0.3"""
    if from_manifest is not None:
        _reproduce(from_manifest, frame, output, quiet)
        return
    if spec is None:
        _fail(WorldgenError("give a spec file, or --from-manifest MANIFEST"))
    try:
        opts = _painter_options(base_model, controlnet, refine, steps, device, dtype, cache, lighting, motion_adapter)
    except WorldgenError as e:
        _fail(e)
    if passes not in ("all", "control", "none"):
        _fail(WorldgenError(f"--passes: '{passes}' is not all, control or none"))
    _render_cmd(
        spec,
        output,
        backend,
        shot,
        format,
        overwrite,
        True,
        "none" if no_passes else passes,
        True,
        quiet,
        painter,
        opts,
        force,
        store,
        no_store,
        executor,
        address,
        voice_model,
        loudness,
        music_model,
        jobs,
    )


@app.command()
def lookdev(
    spec: Path = typer.Argument(..., help="Scene spec (YAML)."),
    base_model: Optional[str] = _BASE,
    controlnet: Optional[List[str]] = _CONTROLNET,
    steps: Optional[int] = _STEPS,
    device: Optional[str] = _DEVICE,
    dtype: Optional[str] = _DTYPE,
    cache: Optional[Path] = _CACHE,
):
    """Look development: paint every object's and character's texture atlas with
    depth/normal-conditioned diffusion, from the shots' own cameras first, into the texture
    cache (plain PNGs you may edit; reused by every render until the object's appearance,
    geometry, model or settings change)."""
    from worldgen.paint.registry import make_painter
    from worldgen.passes.sequence import Rasterizer

    try:
        s, world = _load(spec)
        opts = _painter_options(base_model, controlnet, None, steps, device, dtype, cache, None)
        p = make_painter("baked", world, Rasterizer(world, s.render.backend, with_local=False), opts)
        p.prepare(s.shots)
    except WorldgenError as e:
        _fail(e)
    info = p.stats()
    out.print(
        f"{info['lookdev']['units']} objects and characters: {info['lookdev']['painted']} painted, "
        f"{info['lookdev']['from_cache']} from the cache; {info['unet_evals']} UNet evaluations"
    )
    for t in info["textures"]:
        out.print(f"  {t}", markup=False)


@app.command()
def passes(
    spec: Path = typer.Argument(..., help="Scene spec (YAML)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder."),
    backend: Optional[Backend] = _BACKEND,
    shot: Optional[List[str]] = _SHOT,
    format: PassFormat = typer.Option(
        PassFormat.npz, "--format", help="npz (one array per layer) or exr (one channel per layer component)."
    ),
    control: bool = typer.Option(
        True, "--control/--no-control", help="Also write ControlNet images (depth, normal, canny, seg)."
    ),
    overwrite: bool = _OVERWRITE,
    quiet: bool = _QUIET,
    force: bool = _FORCE,
    store: Optional[Path] = _STORE,
    no_store: bool = _NO_STORE,
    executor: str = _EXECUTOR,
    address: Optional[str] = _RAY_ADDRESS,
):
    """Write the exact passes of each frame (depth, normal, instance, semantic, uv, forward and
    backward flow with occlusion) and manifest.json with cameras (K, world_to_camera) and ids.
    docs/MANIFEST.md describes every field."""
    _render_cmd(
        spec,
        output,
        backend,
        shot,
        format,
        overwrite,
        False,
        control,
        False,
        quiet,
        None,
        None,
        force,
        store,
        no_store,
        executor,
        address,
    )


class LLM(str, Enum):
    embedded = "embedded"
    none = "none"


@app.command()
def plan(
    prompt: Optional[str] = typer.Argument(
        None, help="The idea: one line, or a short story paragraph (one shot per sentence)."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Spec file to write (YAML)."),
    screenplay: Optional[Path] = typer.Option(
        None,
        "--screenplay",
        help="A Fountain screenplay (.fountain) instead of a prompt: writes a film spec (format 2).",
    ),
    llm: Optional[LLM] = typer.Option(
        None,
        "--llm",
        help="embedded: Gemma 3 270M through llama.cpp; none: rule-based "
        "(default: embedded for a prompt, none for a screenplay).",
    ),
    llm_model: Optional[Path] = typer.Option(
        None, "--llm-model", help="Any GGUF model file instead of the embedded one."
    ),
    llm_url: Optional[str] = typer.Option(
        None, "--llm-url", help="An OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1"
    ),
    seed: int = typer.Option(0, "--seed", help="Seeds decoding and the spec; same prompt + seed -> same spec."),
    no_grounding: bool = typer.Option(
        False,
        "--no-grounding",
        help="Take the model's plan as it wrote it, without "
        "holding it to the prompt's own words (to see what the model does alone).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
):
    """Turn an idea into a scene spec that renders as is. The model (or the rules) writes what
    is in the scene, how things relate and the shots; a deterministic solver writes every
    coordinate, so objects rest on supports, never interpenetrate and stay in frame.

    Example: worldgen plan "a red bicycle to the left of a blue car, the camera orbits them at sunset" -o scenes/bike.yaml
    A screenplay: worldgen plan --screenplay scenes/blue_coat.fountain -o scenes/blue_coat.yaml"""
    from worldgen.plan.planner import plan_spec

    if output.exists() and not overwrite:
        _fail(WorldgenError(f"{output}: exists; use --overwrite to replace it"))
    if (prompt is None) == (screenplay is None):
        _fail(WorldgenError("give a prompt or --screenplay SCRIPT.fountain (one of the two)"))
    if screenplay is not None:
        return _plan_screenplay(screenplay, output, llm, llm_model, llm_url, seed)
    try:
        text, report = plan_spec(
            prompt,
            llm=(llm or LLM.embedded).value,
            model=str(llm_model) if llm_model else None,
            url=llm_url,
            seed=seed,
            grounding=not no_grounding,
        )
    except WorldgenError as e:
        _fail(e)
    output.parent.mkdir(parents=True, exist_ok=True)
    from worldgen.io import atomic_write_bytes

    atomic_write_bytes(output, text.encode())
    p = report.plan
    out.print(
        f"wrote {output}: {len(p['objects'])} objects, {len(p['relations'])} relations, {len(p['shots'])} shots "
        f"({report.backend}{', ' + report.model if report.model else ''}; {report.attempts} attempt(s), "
        f"{report.seconds:.1f} s)",
        markup=False,
    )
    if report.provenance:
        out.print(
            "  supplied by the model alone / the model and the prompt's words / the prompt's words alone: "
            + ", ".join(f"{k} {v['model']}/{v['both']}/{v['rules']}" for k, v in report.provenance.items()),
            markup=False,
        )
    for n in report.notes:
        out.print(f"  note: {n}", markup=False)


def _plan_screenplay(script: Path, output: Path, llm, llm_model, llm_url, seed: int) -> None:
    """`plan --screenplay`: the film spec of a Fountain script (worldgen/plan/screenplay.py)."""
    from worldgen.plan.planner import make_backend
    from worldgen.plan.screenplay import plan_screenplay

    command = f"worldgen plan --screenplay {script} -o {output}"
    for flag, value in (("--llm", llm.value if llm else None), ("--llm-model", llm_model), ("--llm-url", llm_url)):
        if value:
            command += f" {flag} {value}"
    if seed:
        command += f" --seed {seed}"
    try:  # the rule reader unless a model is asked for
        backend = None
        if llm_model or llm_url or (llm is not None and llm.value != "none"):
            backend = make_backend((llm or LLM.embedded).value, str(llm_model) if llm_model else None, llm_url, seed)
        text = plan_screenplay(script, backend=backend, seed=seed, command=command)
    except WorldgenError as e:
        _fail(e)
    output.parent.mkdir(parents=True, exist_ok=True)
    from worldgen.io import atomic_write_bytes

    atomic_write_bytes(output, text.encode())
    out.print(f"wrote {output}: the film of {script}", markup=False)


from worldgen.export.cli import export as _export  # noqa: E402  (the command lives with its library)

app.command("export")(_export)
from worldgen.bench.cli import bench as _bench  # noqa: E402

app.command("bench")(_bench)
from worldgen.preview.cli import preview as _preview  # noqa: E402

app.command("preview")(_preview)


@app.command()
def cache(
    prune: bool = typer.Option(
        False, "--prune", help="Remove stored entries (all, or those unused for --older-than days)."
    ),
    older_than: Optional[float] = typer.Option(
        None, "--older-than", help="With --prune: only entries unused this many days."
    ),
    store: Optional[Path] = _STORE,
):
    """Show (or prune) the content-addressed store of finished frames, passes and films, and the
    texture cache of look development. Renders link finished work from the store instead of
    recomputing it; pruning only costs recomputation later (output folders keep their copies)."""
    from worldgen.diffusion.cache import TextureCache
    from worldgen.store import FrameStore

    fs = FrameStore(store)
    if prune:
        n, b = fs.prune(older_than)
        out.print(f"removed {n} entries ({b / 2**20:.1f} MB) from {fs.root}", markup=False)
        return
    info = fs.summary()
    out.print(f"frame store {info['root']}: {info['files']} files, {info['bytes'] / 2**20:.1f} MB", markup=False)
    for kind, v in info["by_kind"].items():
        out.print(f"  {kind}: {v['files']} ({v['bytes'] / 2**20:.1f} MB)")
    tc = TextureCache()
    tex = tc.entries()
    out.print(f"textures {tc.dir}: {len(tex)} files, {sum(p.stat().st_size for p in tex) / 2**20:.1f} MB", markup=False)


@app.command()
def continuity(
    film_spec: Path = typer.Argument(..., help="A film spec (format 2)."),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output", help="Folder to write continuity.md and continuity.json into."
    ),
    painter: Optional[str] = _PAINTER,
    pixels: bool = typer.Option(
        False,
        "--pixels",
        help="Also measure the painted frames reprojected into texture space (always on for a "
        "painter that paints pixels: the per-frame baselines).",
    ),
    base_model: Optional[str] = _BASE,
    controlnet: Optional[List[str]] = _CONTROLNET,
    steps: Optional[int] = _STEPS,
    device: Optional[str] = _DEVICE,
    dtype: Optional[str] = _DTYPE,
    cache: Optional[Path] = _CACHE,
):
    """Measure continuity across a film's scenes (docs/FILM.md, "Continuity"): layout drift of
    every set piece, appearance drift per character and body region in texture space (the
    painter's albedo, or its painted frames reprojected by the part and uv passes), and the
    wardrobe-by-scene table. Exits 1 when a change shows that no scene declared."""
    from worldgen.bench.continuity import continuity as measure
    from worldgen.bench.continuity import markdown

    try:
        if not _is_film(film_spec):
            raise WorldgenError(f"{film_spec}: not a film spec (worldgen: 2); continuity compares a film's scenes")
        opts = _painter_options(base_model, controlnet, None, steps, device, dtype, cache, None)
        report = measure(_load_film(film_spec)[0], painter, opts, pixels=pixels or None)
    except WorldgenError as e:
        _fail(e)
    text = markdown(report)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "continuity.md").write_text(text)
        (output / "continuity.json").write_text(json.dumps(report.as_dict(), indent=1))
    sys.stdout.write(text)
    if report.flags:
        err.print(f"{len(report.flags)} change(s) no scene declared", markup=False)
        raise typer.Exit(1)


@app.command()
def doctor(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Say what this machine can do: rasterizer backends, GL platforms, torch devices,
    controlnet-aux, video encoder, models, the frame store's free disk; and how to fix what
    is missing."""
    from worldgen.doctor import run_checks

    checks = run_checks()
    if as_json:
        sys.stdout.write(json.dumps(checks, indent=1) + "\n")
        return
    for c in checks:
        mark = "[green]ok[/]  " if c["ok"] else "[yellow]--[/]  "
        fix = "" if c["ok"] or not c.get("fix") else f"\n      fix: {c['fix']}"
        out.print(mark + escape(f"{c['name']}: {c['detail']}{fix}"))


reflow_help(app)  # after every command is registered: help text wraps once, at the terminal's width


def main():
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; finished frames are kept and a re-run resumes")
        sys.exit(130)
    except WorldgenError as e:
        err.print(f"error: {e}", markup=False)
        sys.exit(e.exit_code)
    except Exception as e:  # noqa: BLE001 - a bug: say so in one line unless debugging
        if os.environ.get("WORLDGEN_DEBUG"):
            raise
        err.print(f"internal error: {type(e).__name__}: {e} (set WORLDGEN_DEBUG=1 for the traceback)", markup=False)
        sys.exit(1)
