"""Passes against analytic answers, and the two backends against each other."""

import numpy as np
import pytest
from scipy import ndimage

from worldgen.passes.sequence import Rasterizer
from worldgen.passes.snapshot import pixel_rays
from worldgen.world import World
from conftest import backends, spec_from

SCENE = """
worldgen: 1
render: {width: 160, height: 120, fps: 24}
world:
  objects:
    - {id: ground, shape: plane, size: [40, 40], appearance: "grey stone"}
    - {id: ball, shape: sphere, radius: 1, position: [0, 1, 0], appearance: "red checkered"}
    - id: cube
      shape: box
      size: [1, 1, 1]
      appearance: "blue brick"
      motion: [{t: 0, position: [-3, 0.5, 0]}, {t: 2, position: [3, 0.5, 0]}]
shots:
  - id: a
    duration: 0.25
    camera: {move: static, position: [0, 2, 6], look_at: [0, 1, 0], fov: 50}
"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    spec = spec_from(SCENE, tmp_path_factory.mktemp("s"))
    return spec, World(spec)


def frames(scene, backend):
    spec, world = scene
    return list(Rasterizer(world, backend).shot_frames(spec.shots[0], 160, 120, 24))


def interior(mask, px=2):
    """Pixels of `mask` at least `px` pixels from its silhouette."""
    return ndimage.binary_erosion(mask, iterations=px)


@pytest.mark.parametrize("backend", backends())
def test_plane_depth_is_analytic(scene, backend):
    fr = frames(scene, backend)[0]
    o, d = pixel_rays(fr.view.cam)
    t_plane = -o[1] / d[..., 1]  # ray z-parameter where y = 0
    m = interior(fr.passes.instance == 1)
    assert m.sum() > 3000
    rel = np.abs(fr.passes.depth[m] - t_plane[m]) / t_plane[m]
    assert rel.max() <= 1e-3 and np.median(rel) < 1e-5


@pytest.mark.parametrize("backend", backends())
def test_sphere_depth_is_analytic(scene, backend):
    fr = frames(scene, backend)[0]
    o, d = pixel_rays(fr.view.cam)
    oc = o - np.array([0, 1, 0])
    a = (d * d).sum(-1)
    b = 2 * (d @ oc)
    c = oc @ oc - 1
    t_sphere = (-b - np.sqrt(np.maximum(b * b - 4 * a * c, 0))) / (2 * a)
    m = interior(fr.passes.instance == 2)
    assert m.sum() > 1000
    rel = np.abs(fr.passes.depth[m] - t_sphere[m]) / t_sphere[m]
    assert rel.max() <= 1e-3
    # normals of a sphere point away from its centre
    p = o + d * fr.passes.depth[..., None]
    n_true = (p - [0, 1, 0]) / np.linalg.norm(p - [0, 1, 0], axis=-1, keepdims=True)
    assert np.einsum("ij,ij->i", fr.passes.normal[m], n_true[m]).min() > 0.999


@pytest.mark.gl
def test_backends_agree(scene):
    a_all, g_all = frames(scene, "raycast"), frames(scene, "gl")
    for a, g in zip(a_all, g_all):
        pa, pg = a.passes, g.passes
        assert (pa.instance == pg.instance).mean() > 0.998
        same = (a.view.hits.geom == g.view.hits.geom) & (a.view.hits.prim == g.view.hits.prim) & (a.view.hits.geom >= 0)
        assert same.sum() / (a.view.hits.geom >= 0).sum() > 0.99
        assert (np.abs(pa.depth - pg.depth) / pa.depth)[same].max() < 1e-5
        assert np.abs(pa.uv - pg.uv)[same].max() < 1e-3
        assert np.abs(pa.flow_fwd - pg.flow_fwd)[same].max() < 1e-3
        assert (pa.occlusion_fwd == pg.occlusion_fwd)[same].mean() > 0.995


@pytest.mark.parametrize("backend", backends())
def test_flow_of_known_motion(scene, backend):
    """The cube moves 3 m/s along +X at depth z: its front face flows fx * 3/24 / z px per frame."""
    fr = frames(scene, backend)[2]
    cam = fr.view.cam
    front = interior(fr.passes.instance == 3, 1) & (fr.passes.normal[..., 2] > 0.99)
    assert front.sum() > 20
    z = fr.passes.depth[front]
    # the camera looks slightly down: image x flow of a +X motion is fx * dx / z exactly
    expect = cam.K[0, 0] * (3.0 / 24) / z
    assert np.allclose(fr.passes.flow_fwd[front][:, 0], expect, rtol=1e-4)
    assert np.allclose(fr.passes.flow_bwd[front][:, 0], -expect, rtol=1e-4)
    static = interior(fr.passes.instance == 1)
    static &= fr.passes.occlusion_fwd == 0
    assert np.abs(fr.passes.flow_fwd[static]).max() < 1e-4  # static camera, static ground


def test_flow_of_camera_truck(tmp_path):
    spec = spec_from(
        """
    worldgen: 1
    render: {width: 128, height: 96, fps: 10}
    world:
      objects: [{id: wall, shape: box, size: [40, 20, 1], position: [0, 0, -1]}]
    shots:
      - id: t
        duration: 1
        camera: {move: truck, position: [0, 0, 10], look_at: [0, 0, 0], distance: 2, ease: linear}
    """,
        tmp_path,
    )
    fr = list(Rasterizer(World(spec)).shot_frames(spec.shots[0], 128, 96, 10))[3]
    f = fr.view.cam.K[0, 0] * (2 / 10) / 10.5  # camera moves right 0.2 m, wall front at z = 10.5
    assert np.allclose(fr.passes.flow_fwd[..., 0], -f, rtol=1e-4)
    assert np.allclose(fr.passes.flow_fwd[..., 1], 0, atol=1e-4)
    # points move left by ~1.9 px: the two leftmost columns leave the frame, the rest stay visible
    assert fr.passes.occlusion_fwd[:, 3:].max() == 0
    assert fr.passes.occlusion_fwd[:, 0].min() == 1


def bilinear(img, x, y):
    h, w = img.shape[:2]
    x0, y0 = np.clip(np.floor(x).astype(int), 0, w - 2), np.clip(np.floor(y).astype(int), 0, h - 2)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    return (
        img[y0, x0] * (1 - fx) * (1 - fy)
        + img[y0, x0 + 1] * fx * (1 - fy)
        + img[y0 + 1, x0] * (1 - fx) * fy
        + img[y0 + 1, x0 + 1] * fx * fy
    )


@pytest.mark.parametrize("backend", backends())
def test_warping_with_exact_flow_reproduces_frame(tmp_path, backend):
    """Warp painted frame t+1 back to t with the exact forward flow: on non-occluded pixels
    the result is frame t up to bilinear resampling of the texture. Shadows and ambient
    occlusion are off: the moving crate really changes them on the ground."""
    spec = spec_from(
        """
    worldgen: 1
    render: {width: 192, height: 128, fps: 24, shadows: false, look: {ao: 0}}
    world:
      objects:
        - {id: ground, shape: plane, size: [40, 40], appearance: "sand"}
        - {id: ball, shape: sphere, radius: 1, position: [0, 1, 0], appearance: "green marble"}
        - id: crate
          shape: box
          size: [1, 1, 1]
          appearance: "wooden crate"
          motion: [{t: 0, position: [-2, 0.5, 1.5]}, {t: 1, position: [2, 0.5, 1.5], rotation: [0, 90, 0]}]
    shots:
      - id: orbit
        duration: 0.5
        camera: {move: orbit, target: ball, radius: 7, height: 2.5, degrees: 20, ease: linear}
    """,
        tmp_path,
    )
    world = World(spec)
    from worldgen.paint.procedural import ProceduralPainter

    painter = ProceduralPainter(world, shadows=False)
    res = list(Rasterizer(world, backend).shot_frames(spec.shots[0], 192, 128, 24))
    for a, b in zip(res[:-1], res[1:]):
        ia = painter.shade(a.view).astype(np.float64)
        ib = painter.shade(b.view).astype(np.float64)
        h, w = ia.shape[:2]
        jj, ii = np.meshgrid(np.arange(w), np.arange(h))
        fl = a.passes.flow_fwd
        warped = bilinear(ib, jj + fl[..., 0], ii + fl[..., 1])
        valid = (a.passes.occlusion_fwd == 0) & (a.passes.instance > 0)
        valid &= interior(valid, 2)  # bilinear taps must not straddle a silhouette
        assert valid.mean() > 0.3
        err = np.abs(warped - ia)[valid].mean()
        naive = np.abs(ib - ia)[valid].mean()
        assert err < 0.01 and err < 0.2 * naive, (err, naive)


def test_occlusion_when_object_passes_behind(tmp_path):
    spec = spec_from(
        """
    worldgen: 1
    render: {width: 128, height: 96, fps: 24}
    world:
      objects:
        - {id: wall, shape: box, size: [2, 3, 0.2], position: [0, 1.5, 2]}
        - id: runner
          shape: box
          size: [1, 1, 1]
          motion: [{t: 0, position: [-1.5, 0.5, 0]}, {t: 1, position: [1.5, 0.5, 0]}]
    shots:
      - {id: s, duration: 1, camera: {move: static, position: [0, 1, 8], look_at: [0, 1, 0], fov: 40}}
    """,
        tmp_path,
    )
    res = list(Rasterizer(World(spec)).shot_frames(spec.shots[0], 128, 96, 24))
    flagged = 0
    for fr in res:
        runner = fr.passes.instance == 2
        occ = fr.passes.occlusion_fwd[runner]
        flagged += occ.sum()
        # every runner pixel whose next position lands on the wall is flagged occluded
        p = fr.passes
        h, w = p.depth.shape
        jj, ii = np.meshgrid(np.arange(w), np.arange(h))
        x2 = np.rint(jj + p.flow_fwd[..., 0]).astype(int).clip(0, w - 1)
        y2 = np.rint(ii + p.flow_fwd[..., 1]).astype(int).clip(0, h - 1)
        nxt = res[min(fr.view.index + 1, len(res) - 1)]
        if nxt is fr:
            continue
        lands_on_wall = runner & (nxt.passes.instance[y2, x2] == 1)
        assert (p.occlusion_fwd[lands_on_wall] == 1).all()
        lands_on_runner = runner & (nxt.passes.instance[y2, x2] == 2)
        if lands_on_runner.sum() > 20:
            assert p.occlusion_fwd[lands_on_runner].mean() < 0.05
    assert flagged > 50
