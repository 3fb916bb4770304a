"""Characters: keypoints against the rasterised body, visibility against occlusion, feet that
do not slide, flow that follows the limbs, the OpenPose image, camera moves, spec errors."""

import hashlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from worldgen.camera import ShotCamera
from worldgen.character.pose_pass import keypoint_radii, openpose_image, people_in_frame
from worldgen.character.rig import KEYPOINTS
from worldgen.passes.sequence import Rasterizer
from worldgen.passes.snapshot import pixel_rays
from worldgen.world import World
from conftest import backends, spec_from

OPENPOSE_ORDER = [
    "nose",
    "neck",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "r_hip",
    "r_knee",
    "r_ankle",
    "l_hip",
    "l_knee",
    "l_ankle",
    "r_eye",
    "l_eye",
    "r_ear",
    "l_ear",
]

SCENE = """
worldgen: 1
seed: 2
render: {width: 256, height: 192, fps: 24}
world:
  objects:
    - {id: ground, shape: plane, size: [40, 40], appearance: "grass"}
    - {id: wall, shape: box, size: [1.2, 0.9, 0.2], position: [3, 0.45, 1.5], appearance: "grey stone"}
  characters:
    - id: walker
      appearance: "red coat, blue jeans"
      path:
        - {t: 0, position: [-3, 0, 0]}
        - {t: 3, position: [1, 0, 0]}
      curve: linear
      actions:
        - {action: wave, start: 0.5, end: 2.5, hand: right, blend: 0.3}
    - id: stander
      appearance: "green sweater, grey trousers"
      position: [3, 0, 0]
      facing: 0
shots:
  - id: front
    duration: 1
    camera: {move: static, position: [-1, 1.4, 5.5], look_at: [-1, 1.0, 0], fov: 45}
  - id: behind_wall
    duration: 0.25
    camera: {move: static, position: [3, 0.8, 5], look_at: [3, 0.9, 0], fov: 40}
  - id: back
    duration: 0.25
    camera: {move: static, position: [3, 1.3, -4], look_at: [3, 1.1, 0], fov: 40}
"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    spec = spec_from(SCENE, tmp_path_factory.mktemp("chars"))
    return spec, World(spec)


def shot_frames(scene, sid, only=None):
    spec, world = scene
    shot = spec.shot(sid)
    return list(Rasterizer(world).shot_frames(shot, 256, 192, 24, only=only))


def people(scene, fr):
    _, world = scene
    return {p["id"]: p for p in people_in_frame(world, fr.view.time, fr.view.cam, fr.passes.depth, fr.passes.instance)}


def test_keypoint_order_is_openpose_18():
    assert list(KEYPOINTS) == OPENPOSE_ORDER


def test_visible_keypoints_lie_on_the_body_at_the_pass_depth(scene):
    _, world = scene
    checked = 0
    for fr in shot_frames(scene, "front", only={0, 12, 23}):
        for cid, person in people(scene, fr).items():
            inst = world.character_instance[cid]
            tol = 1.6 * keypoint_radii(world.characters[cid]) + 0.02
            vis = [k for k, row in enumerate(person["keypoints"]) if row[3]]
            if cid == "walker":  # in frame, side-on to the camera: most keypoints show
                assert len(vis) >= 10, (cid, fr.view.index)
            for k in vis:
                x, y, z, _ = person["keypoints"][k]
                i, j = int(np.floor(y + 0.5)), int(np.floor(x + 0.5))
                assert fr.passes.instance[i, j] == inst
                assert -0.01 <= z - fr.passes.depth[i, j] <= tol[k]
                checked += 1
    assert checked > 25


def pinhole(points, eye, aim, fov_deg, width, height):
    """The textbook pinhole camera, written out here from the shot's numbers (not the
    library's camera): OpenCV axes (x right, y down, z forward), world +Y up, vertical field
    of view, square pixels, pixel centres at integer coordinates."""
    eye, aim = np.asarray(eye, float), np.asarray(aim, float)
    z_axis = (aim - eye) / np.linalg.norm(aim - eye)
    x_axis = np.cross(z_axis, [0.0, 1.0, 0.0])
    x_axis /= np.linalg.norm(x_axis)
    y_axis = np.cross(z_axis, x_axis)  # image down: world -Y for a level camera
    rel = np.asarray(points, float) - eye
    x, y, z = rel @ x_axis, rel @ y_axis, rel @ z_axis
    f = (height / 2) / math.tan(math.radians(fov_deg) / 2)
    return np.stack([f * x / z + (width - 1) / 2, f * y / z + (height - 1) / 2], 1), z


def _visible_rows_point_by_point(uv, z, tol, depth, instance, inst) -> list:
    """The keypoint visibility test one point at a time, as the pose pass made it before it
    tested whole arrays: the reference the array form must equal."""
    h, w = depth.shape
    rows = []
    for k in range(len(z)):
        x, y = float(uv[k, 0]), float(uv[k, 1])
        vis = False
        if z[k] > 0 and np.isfinite(x) and np.isfinite(y):
            j, i = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
            if 0 <= i < h and 0 <= j < w and instance[i, j] == inst:
                vis = bool(z[k] - depth[i, j] <= tol[k])
        rows.append([round(x, 3), round(y, 3), round(float(z[k]), 4), int(vis)])
    return rows


def test_keypoint_visibility_on_arrays_equals_the_point_by_point_test():
    from worldgen.character.pose_pass import _visible_rows

    rng = np.random.default_rng(3)
    h, w, n = 40, 60, 4000
    depth = rng.uniform(1, 5, (h, w)).astype(np.float32)
    depth[::7] = np.inf
    instance = rng.integers(0, 3, (h, w)).astype(np.uint16)
    uv = np.stack([rng.uniform(-5, w + 5, n), rng.uniform(-5, h + 5, n)], 1)
    uv[::31] = np.nan  # a point projected from the camera's plane
    uv[::37, 0] = np.inf
    uv[::41] = np.round(uv[::41]) - 0.5  # on a pixel's edge: which pixel it rounds to
    z = rng.uniform(-1, 6, n)  # some behind the camera
    at = np.clip(np.nan_to_num(np.floor(uv[::43] + 0.5)), 0, [w - 1, h - 1]).astype(int)
    z[::43] = depth[at[:, 1], at[:, 0]]  # at the surface: 0 behind the depth pass
    tol = rng.uniform(0, 0.5, n)
    tol[::43] = 0.0  # exactly at the limit
    z[::47] = 0.0  # on the camera's plane
    z[::53] = -0.0
    uv[::59] = [1e300, -9.3e18]  # far beyond any integer pixel
    depth[3, ::5] = np.nan
    got = _visible_rows(uv, z, tol, depth, instance, 1)
    want = _visible_rows_point_by_point(uv, z, tol, depth, instance, 1)
    assert repr(got) == repr(want)  # (repr: nan == nan)
    uv32, z32 = uv.astype(np.float32), z.astype(np.float32)  # a float32 projection
    assert repr(_visible_rows(uv32, z32, tol, depth, instance, 1)) == repr(
        _visible_rows_point_by_point(uv32, z32, tol, depth, instance, 1)
    )
    assert 0 < sum(r[3] for r in want) < n  # both answers were there


def test_pinhole_reference_with_known_numbers():
    """The reference itself, on numbers worked by hand: 45 degrees vertical over 192 rows puts
    f = 96 / tan(22.5 deg) = 231.76 px; a point 1 m right and 0.5 m up at 5 m depth lands at
    (127.5 + 231.76 / 5, 95.5 - 231.76 / 10)."""
    uv, z = pinhole([[1.0, 0.5, -5.0]], eye=[0, 0, 0], aim=[0, 0, -1], fov_deg=45, width=256, height=192)
    assert z[0] == pytest.approx(5.0)
    assert uv[0] == pytest.approx([127.5 + 231.7645 / 5, 95.5 - 231.7645 / 10], abs=1e-3)


def test_keypoints_are_the_rig_projected(scene):
    """The pose pass's pixel coordinates and depths are the rig's keypoints seen through the
    shot's camera (position [-1, 1.4, 5.5], aimed at [-1, 1, 0], 45 degrees, 256x192), as
    the textbook pinhole computes them from those numbers."""
    _, world = scene
    fr = shot_frames(scene, "front", only={6})[0]
    person = people(scene, fr)["walker"]
    pts = world.characters["walker"].pose(fr.view.time).keypoints
    uv, z = pinhole(pts, eye=[-1, 1.4, 5.5], aim=[-1, 1.0, 0], fov_deg=45, width=256, height=192)
    got = np.array([r[:3] for r in person["keypoints"]])
    assert ((uv >= 0) & (uv < [256, 192])).all(1).sum() >= 10 and z.min() > 1  # in front, in the frame
    assert np.allclose(got[:, :2], uv, atol=2e-3) and np.allclose(got[:, 2], z, atol=2e-4)


def test_visibility_follows_occlusion_by_another_object(scene):
    fr = shot_frames(scene, "behind_wall")[0]
    vis = dict(zip(KEYPOINTS, (r[3] for r in people(scene, fr)["stander"]["keypoints"])))
    for hidden in ("r_ankle", "l_ankle", "r_knee", "l_knee"):  # behind the 0.9 m wall
        assert not vis[hidden], hidden
    for shown in ("nose", "neck", "r_shoulder", "l_shoulder", "r_eye", "l_eye"):
        assert vis[shown], shown


def test_visibility_follows_self_occlusion(scene):
    fr = shot_frames(scene, "back")[0]
    vis = dict(zip(KEYPOINTS, (r[3] for r in people(scene, fr)["stander"]["keypoints"])))
    assert not vis["nose"] and not vis["r_eye"] and not vis["l_eye"]  # the face is on the far side
    assert vis["neck"] and vis["r_shoulder"] and vis["l_shoulder"] and vis["r_ankle"]


def test_feet_do_not_slide_while_walking(scene):
    """Each stance phase: the posed ankle (after IK) stays put within 2 cm."""
    _, world = scene
    rig = world.characters["walker"]
    ts = np.arange(0, 3.5, 1 / 240)
    poses = [rig.pose(t) for t in ts]
    ankles = {
        0: np.array([p.keypoints[KEYPOINTS.index("r_ankle")] for p in poses]),
        1: np.array([p.keypoints[KEYPOINTS.index("l_ankle")] for p in poses]),
    }
    steps, worst = 0, 0.0
    for k in (0, 1):
        down = np.array([p.feet_down[k] for p in poses])
        edges = np.flatnonzero(np.diff(down.astype(int)) != 0) + 1
        for seg in np.split(np.arange(len(ts)), edges):
            if down[seg[0]] and len(seg) > 1:
                drift = np.linalg.norm(ankles[k][seg] - ankles[k][seg[0]], axis=1).max()
                worst = max(worst, drift)
                steps += 1
    assert steps >= 8  # 4 m at 0.63 m a step, both feet
    assert worst <= 0.02, worst
    # the swing really lifts the foot and moves it forward a step
    assert ankles[0][:, 1].max() > 0.07 and np.ptp(ankles[0][:, 0]) > 3.5


def test_stride_matches_speed(scene):
    """Cadence follows speed: over a constant-speed path the number of steps is distance / step."""
    _, world = scene
    rig = world.characters["walker"]
    regular = [f for f in rig.footsteps if not f.terminal]
    step = rig.body.height * 0.36
    assert abs(len(regular) - rig.arc.length / step) <= 2
    assert np.allclose(np.diff([f.centre for f in regular]), step)


def test_flow_follows_the_swinging_arm(scene):
    """Flow on the waving forearm equals the rig's finite difference: the surface point carried
    by the forearm bone from this frame to the next, projected by the next camera."""
    spec, world = scene
    shot = spec.shot("front")
    frs = shot_frames(scene, "front", only={10})
    fr = frs[0]
    rig = world.characters["walker"]
    ids = list(world.nodes)
    g = ids.index("walker/forearm_r")
    mask = fr.view.hits.geom == g
    assert mask.sum() > 20
    o, d = pixel_rays(fr.view.cam)
    p = o + d[mask] * fr.passes.depth[mask][:, None]
    t0, t1 = fr.view.time, fr.view.time + 1 / 24
    local = (p - rig.bone_matrix("forearm_r", t0)[:3, 3]) @ rig.bone_matrix("forearm_r", t0)[:3, :3]
    m1 = rig.bone_matrix("forearm_r", t1)
    p1 = local @ m1[:3, :3].T + m1[:3, 3]
    cam1 = ShotCamera(shot, world, 256, 192).at(11 / 24)
    uv1, _ = cam1.project(p1)
    ii, jj = np.nonzero(mask)
    expected = uv1 - np.stack([jj, ii], 1)
    got = fr.passes.flow_fwd[mask]
    assert np.abs(expected).max() > 1.0  # the arm really moves
    assert np.abs(got - expected).max() < 1e-2 and np.median(np.abs(got - expected)) < 1e-3


def test_openpose_image_conformance():
    """18 points in OpenPose order, the standard limb colours at 60% and joint colours in full."""
    colors = [
        (255, 0, 0),
        (255, 85, 0),
        (255, 170, 0),
        (255, 255, 0),
        (170, 255, 0),
        (85, 255, 0),
        (0, 255, 0),
        (0, 255, 85),
        (0, 255, 170),
        (0, 255, 255),
        (0, 170, 255),
        (0, 85, 255),
        (0, 0, 255),
        (85, 0, 255),
        (170, 0, 255),
        (255, 0, 255),
        (255, 0, 170),
        (255, 0, 85),
    ]
    limbs = [
        (1, 2),
        (1, 5),
        (2, 3),
        (3, 4),
        (5, 6),
        (6, 7),
        (1, 8),
        (8, 9),
        (9, 10),
        (1, 11),
        (11, 12),
        (12, 13),
        (1, 0),
        (0, 14),
        (14, 16),
        (0, 15),
        (15, 17),
    ]
    pts = {
        "nose": (200, 70),
        "neck": (200, 130),
        "r_shoulder": (140, 130),
        "r_elbow": (100, 200),
        "r_wrist": (80, 270),
        "l_shoulder": (260, 130),
        "l_elbow": (300, 200),
        "l_wrist": (320, 270),
        "r_hip": (170, 260),
        "r_knee": (165, 340),
        "r_ankle": (160, 420),
        "l_hip": (230, 260),
        "l_knee": (235, 340),
        "l_ankle": (240, 420),
        "r_eye": (185, 55),
        "l_eye": (215, 55),
        "r_ear": (165, 60),
        "l_ear": (235, 60),
    }
    kp = [[*pts[n], 5.0, 1] for n in OPENPOSE_ORDER]
    kp[OPENPOSE_ORDER.index("l_wrist")][3] = 0  # hidden: no joint, no forearm
    img = openpose_image([{"keypoints": kp}], 400, 460)
    assert img.shape == (460, 400, 3) and img.dtype == np.uint8
    for k, n in enumerate(OPENPOSE_ORDER):
        x, y = pts[n]
        if n == "l_wrist":
            assert tuple(img[y, x]) == (0, 0, 0)
        else:
            assert tuple(img[y, x]) == colors[k], n
    for li, (a, b) in enumerate(limbs):
        if b == OPENPOSE_ORDER.index("l_wrist"):
            continue
        (xa, ya), (xb, yb) = pts[OPENPOSE_ORDER[a]], pts[OPENPOSE_ORDER[b]]
        if math.hypot(xb - xa, yb - ya) < 30:
            continue  # face limbs are short: the joint circles cover their middles
        mid = img[(ya + yb) // 2, (xa + xb) // 2]
        assert tuple(mid) == tuple(int(c * 0.6) for c in colors[li]), (li, tuple(mid))
    l_forearm_mid = img[(200 + 270) // 2, (300 + 320) // 2]
    assert tuple(l_forearm_mid) == (0, 0, 0)


def test_pose_pass_in_a_render_is_written_and_deterministic(tmp_path):
    text = SCENE.replace("duration: 1\n", "duration: 0.25\n")
    spec = tmp_path / "c.yaml"
    spec.write_text(text)

    def render(out, *flags):
        r = subprocess.run(
            [sys.executable, "-m", "worldgen", "render", spec, "-o", out, "--quiet", "--shot", "front", *flags],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
        if "--no-store" in flags:  # computed again, not linked from the first render's files
            assert "6 frames (6 rendered, 0 already there)" in r.stdout, r.stdout
        return {
            p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "manifest.json"
        }

    a, b = render(tmp_path / "a"), render(tmp_path / "b", "--no-store")
    assert a == b
    pose_files = [k for k in a if "/pose/" in k]
    assert len(pose_files) == 6 and len([k for k in a if "/control/openpose/" in k]) == 6
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["characters"]["walker"]["instance"] == 3 and man["keypoint_names"] == OPENPOSE_ORDER
    frame0 = man["shots"][0]["frames"][0]
    pose = json.loads((tmp_path / "a" / frame0["pose"]).read_text())
    assert [p["id"] for p in pose["people"]] == ["walker", "stander"]
    assert len(pose["people"][0]["pose_keypoints_2d"]) == 54
    img = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(tmp_path / "a" / frame0["control_openpose"]))
    assert (img.sum(-1) > 0).mean() > 0.005  # figures drawn


def test_character_parts_share_one_instance_and_label(scene):
    _, world = scene
    fr = shot_frames(scene, "front", only={0})[0]
    inst = world.character_instance["walker"]
    on = fr.passes.instance == inst
    parts = {list(world.nodes)[g] for g in np.unique(fr.view.hits.geom[on])}
    assert len(parts) >= 8 and all(p.startswith("walker/") for p in parts)
    assert set(np.unique(fr.passes.semantic[on])) == {world.semantic_map()["person"]}


def test_a_character_keeps_its_look(scene):
    """Both arms (and both legs) share a material; the look is keyed by the character, so it is
    the same whatever else is in the world or which shot renders it."""
    from worldgen.paint.procedural import ProceduralPainter

    spec, world = scene
    p = ProceduralPainter(world)
    ids = list(world.nodes)
    mat = {oid: p.materials[ids.index(oid)] for oid in ids}
    assert mat["walker/upper_arm_r"] is mat["walker/upper_arm_l"] and mat["walker/thigh_r"] is mat["walker/shin_l"]
    assert np.allclose(mat["walker/torso"].base, mat["walker/upper_arm_r"].base)
    red = mat["walker/torso"].base
    assert red[0] > 2 * red[1]  # 'red coat'
    assert not np.allclose(mat["walker/torso"].base, mat["stander/torso"].base)
    other = World(
        spec_from(
            SCENE.replace(
                "    - {id: wall",
                "    - {id: crate, shape: box, size: [1, 1, 1], position: [-8, 0.5, -8]}\n    - {id: wall",
            ),
            __import__("pathlib").Path(__import__("tempfile").mkdtemp()),
        )
    )
    p2 = ProceduralPainter(other)
    ids2 = list(other.nodes)
    assert np.allclose(p2.materials[ids2.index("walker/torso")].base, red)


def test_close_up_keeps_the_head_in_frame(tmp_path):
    spec = spec_from(
        SCENE.replace(
            """  - id: front
    duration: 1
    camera: {move: static, position: [-1, 1.4, 5.5], look_at: [-1, 1.0, 0], fov: 45}""",
            """  - id: front
    duration: 3
    camera: {move: close_up, target: walker, start_angle: 60}""",
        ),
        tmp_path,
    )
    world = World(spec)
    rig = ShotCamera(spec.shots[0], world, 256, 192)
    walker = world.characters["walker"]
    for s in np.linspace(0, 3, 13):
        cam = rig.at(s)
        uv, z = cam.project(walker.head(s)[None])
        assert z[0] > 0.5 and abs(uv[0, 0] - 127.5) < 10 and abs(uv[0, 1] - 95.5) < 10


def test_over_the_shoulder_frames_both(tmp_path):
    spec = spec_from(
        SCENE.replace(
            """    camera: {move: static, position: [-1, 1.4, 5.5], look_at: [-1, 1.0, 0], fov: 45}""",
            """    camera: {move: over_the_shoulder, over: stander, target: walker}""",
        ),
        tmp_path,
    )
    world = World(spec)
    fr = list(Rasterizer(world).shot_frames(spec.shots[0], 256, 192, 24, only={20}))[0]
    seen = {p["id"]: p for p in people_in_frame(world, fr.view.time, fr.view.cam, fr.passes.depth, fr.passes.instance)}
    assert seen["walker"]["keypoints"][0][3] == 1  # the far character's face shows
    near = fr.passes.instance == world.character_instance["stander"]
    assert 0.03 < near.mean() < 0.6  # the near one is a shoulder in the foreground
    cols = np.nonzero(near)[1]
    assert cols.mean() < 128  # camera right of its head: the near character is on the left of the frame


@pytest.mark.parametrize(
    "snippet,expect",
    [
        ("      actions: [{action: dance, start: 1}]", "actions[0].action: must be 'idle'"),
        (
            "      actions: [{action: look_at, start: 1, target: nobody}]",
            "actions[0].target: no object or character 'nobody'",
        ),
        ("      actions: [{action: sit, start: 1, target: stander}]", "actions[0].target: no object 'stander'"),
        ("      actions: [{action: walk, start: 5, end: 6}]", "path does not move"),
        (
            "      actions: [{action: wave, start: 1, end: 3}, {action: point, start: 2, at: [0, 0, 0]}]",
            "overlaps action 0",
        ),
        ("      actions: [{action: point, start: 1}]", "point: give 'target'"),
    ],
)
def test_action_errors_name_the_field(snippet, expect, write_spec):
    text = SCENE.replace(
        "      actions:\n        - {action: wave, start: 0.5, end: 2.5, hand: right, blend: 0.3}\n", snippet + "\n"
    )
    p = write_spec(text)
    r = subprocess.run([sys.executable, "-m", "worldgen", "validate", p], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert f"{p}:" in line and "world.characters[0]" in line and expect in line, line


@pytest.mark.parametrize(
    "edit,expect",
    [
        (("{t: 3, position: [1, 0, 0]}", "{t: 3, position: [5, 0, 1.9]}"), "path passes through 'wall'"),
        (("{t: 0, position: [-3, 0, 0]}", "{t: 0, position: [-3, -0.4, 0]}"), "feet below the ground 'ground'"),
        (("      position: [3, 0, 0]\n", "      position: [3, 0, 1.5]\n"), "inside 'wall'"),
        (
            (
                "  - id: front\n    duration: 1\n    camera: {move: static, position: [-1, 1.4, 5.5], look_at: [-1, 1.0, 0], fov: 45}",
                "  - id: front\n    duration: 1\n    camera: {move: close_up, target: wall}",
            ),
            "shots[0].camera.target: no character 'wall'",
        ),
        (("    - id: stander", "    - id: wall"), "duplicate id 'wall'"),
    ],
)
def test_world_errors_name_the_field(edit, expect, write_spec):
    p = write_spec(SCENE.replace(*edit))
    r = subprocess.run([sys.executable, "-m", "worldgen", "validate", p], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert expect in r.stderr and f"{p}:" in r.stderr, r.stderr


@pytest.mark.parametrize("backend", backends())
def test_backends_agree_on_characters(scene, backend):
    """The moving-geometry path (raycast: direct triangle visits; gl: the visibility buffer)
    gives the same surfaces."""
    ref = shot_frames(scene, "front", only={8})[0]
    spec, world = scene
    fr = list(Rasterizer(world, backend).shot_frames(spec.shot("front"), 256, 192, 24, only={8}))[0]
    same = ref.view.hits.geom == fr.view.hits.geom
    assert same.mean() > 0.995
    both = same & (ref.view.hits.geom >= 0)
    assert np.abs(ref.passes.depth[both] - fr.passes.depth[both]).max() < 1e-4
    assert np.abs(ref.passes.flow_fwd[both] - fr.passes.flow_fwd[both]).max() < 1e-2


def test_a_turn_toward_a_character_listed_later_faces_it(tmp_path):
    """The heading table is built once every character exists: a turn toward one written
    after the turner used to fail while the world was still being built (KeyError)."""
    spec = spec_from(
        """
worldgen: 1
render: {width: 32, height: 18, fps: 4}
world:
  objects: [{id: ground, shape: plane, size: [10, 10]}]
  characters:
    - {id: a, position: [0, 0, 0], actions: [{action: turn, start: 0, end: 1, target: b}]}
    - {id: b, position: [2, 0, 2]}
shots:
  - {id: s, duration: 1, camera: {move: static, position: [0, 2, 6], look_at: [0, 1, 0]}}
""",
        tmp_path,
    )
    rig = World(spec).characters["a"]
    assert math.degrees(rig.heading(2.0)) == pytest.approx(45.0, abs=1e-6)  # atan2(2, 2): b is at 45 degrees


def _unit_by_numpy(v):
    n = np.linalg.norm(v)
    return v / n if n > 1e-12 else v


def _rigid_frame_by_numpy(origin, y, ref):
    """The bone frame in numpy's words, as the rig computed it before its helpers moved to
    floats: +Y along y, +Z the part of ref across it, X = Y x Z."""
    y = _unit_by_numpy(np.asarray(y, float))
    z = ref - np.dot(ref, y) * y
    if np.linalg.norm(z) < 1e-6:
        alt = np.array([1.0, 0.0, 0.0]) if abs(y[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
        z = alt - np.dot(alt, y) * y
    z = _unit_by_numpy(z)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = np.cross(y, z), y, z, origin
    return m


def _two_bone_by_numpy(root, target, l1, l2, pole):
    d_vec = target - root
    d = np.linalg.norm(d_vec)
    d_c = min(max(d, abs(l1 - l2) + 1e-6), l1 + l2 - 1e-9)
    u = d_vec / d if d > 1e-12 else np.array([0.0, -1.0, 0.0])
    x = (l1 * l1 - l2 * l2 + d_c * d_c) / (2 * d_c)
    h = np.sqrt(max(l1 * l1 - x * x, 0.0))
    perp = pole - np.dot(pole, u) * u
    perp = _unit_by_numpy(perp) if np.linalg.norm(perp) > 1e-9 else np.array([0.0, 0.0, 1.0])
    mid = root + u * x + perp * h
    return mid, mid + _unit_by_numpy(root + u * d_c - mid) * l2


def test_bone_frames_and_two_bone_chains_on_floats():
    """The pose's helpers, which work on Python floats, against the numpy forms they replaced
    (to 1e-12) on random and degenerate cases, and against what they mean: a bone frame is a
    rotation; a two-bone chain keeps its bone lengths, reaches a target within reach, stretches
    toward one out of it, and bends toward its pole."""
    from worldgen.character.rig import _frame, _two_bone, _unit

    rng = np.random.default_rng(5)
    zero, tiny = np.zeros(3), np.array([3e-13, 0.0, 0.0])
    frames = [(rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)) for _ in range(200)]
    frames += [
        (zero, np.array([0.0, 2.0, 0.0]), np.array([0.0, 1.0, 0.0])),  # ref along the bone
        (np.ones(3), np.array([1.0, 0.0, 0.0]), np.array([3.0, 0.0, 0.0])),  # ... along x too
        (zero, tiny, np.array([0.0, 0.0, 1.0])),  # a bone too short to have a direction
    ]
    for origin, y, ref in frames:
        assert np.allclose(_frame(origin, y, ref), _rigid_frame_by_numpy(origin, y, ref), atol=1e-12)
    up = np.array([0.0, 0.0, 1.0])
    assert np.array_equal(_frame(zero, tiny, up), _rigid_frame_by_numpy(zero, tiny, up))  # kept as it is, not unit
    for origin, y, ref in frames[:-1]:
        m = _frame(origin, y, ref)
        assert np.allclose(m[:3, :3].T @ m[:3, :3], np.eye(3), atol=1e-12) and np.linalg.det(m[:3, :3]) > 0
    for v in (tiny, zero, rng.normal(size=3)):
        assert np.array_equal(_unit(v), _unit_by_numpy(v))
    root = np.array([0.0, 1.0, 0.0])
    chains = [(rng.normal(size=3), rng.uniform(0.1, 1), rng.uniform(0.1, 1), rng.normal(size=3)) for _ in range(200)]
    chains += [
        (root, 0.45, 0.42, up),  # the target at the root
        (root + [0.0, -0.5, 0.0], 0.45, 0.42, np.array([0.0, -1.0, 0.0])),  # the pole along the chain
        (root + [0.0, -0.01, 0.0], 0.45, 0.42, up),  # closer than |l1 - l2|: folded
        (root + [0.0, -3.0, 0.0], 0.45, 0.42, up),  # out of reach: stretched
    ]
    for target, l1, l2, pole in chains:
        got, want = _two_bone(root, target, l1, l2, pole), _two_bone_by_numpy(root, target, l1, l2, pole)
        assert np.allclose(got, want, atol=1e-12)
        mid, end = got
        assert np.linalg.norm(mid - root) == pytest.approx(l1) and np.linalg.norm(end - mid) == pytest.approx(l2)
    mid, end = _two_bone(root, np.array([0.2, 0.3, 0.1]), 0.45, 0.42, up)
    assert np.allclose(end, [0.2, 0.3, 0.1], atol=1e-9)  # within reach: reached
    assert np.dot(mid - (root + [0.2, 0.3, 0.1]) / 2, up) > 0  # the knee bends toward the pole
