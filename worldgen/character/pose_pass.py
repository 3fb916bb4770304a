"""The pose pass: each character's OpenPose-18 keypoints per frame, projected with the frame's
camera, with visibility from the depth test against the rasterised passes, and the stick image
OpenPose ControlNets are trained on.

A keypoint is visible when it lies in the image, in front of the camera, on its own
character's pixels in the instance pass, and no deeper than its body part's thickness behind
the depth pass there: hidden by another object -> wrong instance; hidden by its own body (the far
shoulder seen from the side) -> too deep."""

from __future__ import annotations

import numpy as np

from worldgen.character.rig import KEYPOINTS

DEPTH_MARGIN = 0.02  # m added to a body part's thickness in the depth test
MOUTH_DEPTH_TOL = 0.03  # m: mouth points lie on the skin; the far side of the head is ~0.2 m deeper


def keypoint_radii(rig) -> np.ndarray:
    """How far inside the body surface each keypoint lies at most (m), OpenPose-18 order."""
    b, H = rig.body, rig.body.height
    face = 0.35 * b.head_radius
    limb = b.limb_radius
    by_name = {
        "nose": face,
        "r_eye": face,
        "l_eye": face,
        "r_ear": face,
        "l_ear": face,
        "neck": 0.07 * H,
        "r_shoulder": 0.06 * H,
        "l_shoulder": 0.06 * H,
        "r_elbow": 1.2 * limb,
        "l_elbow": 1.2 * limb,
        "r_wrist": 1.1 * limb,
        "l_wrist": 1.1 * limb,
        "r_hip": 0.075 * H * b.width,
        "l_hip": 0.075 * H * b.width,
        "r_knee": 1.6 * limb,
        "l_knee": 1.6 * limb,
        "r_ankle": 1.3 * limb,
        "l_ankle": 1.3 * limb,
    }
    return np.array([by_name[n] for n in KEYPOINTS])


def people_in_frame(world, t: float, cam, depth: np.ndarray, instance: np.ndarray) -> list[dict]:
    """Keypoints of every character at world time t as seen by `cam`: per keypoint
    [x, y, z, visible] with (x, y) in pixels (centres at integers) and z the camera depth."""
    out = []
    for cid, rig in world.characters.items():
        inst = world.character_instance[cid]
        pts = rig.pose(t).keypoints
        uv, z = cam.project(pts)
        tol = 1.6 * keypoint_radii(rig) + DEPTH_MARGIN
        rows = _visible_rows(uv, z, tol, depth, instance, inst)
        person = {
            "id": cid,
            "instance": inst,
            "keypoints": rows,
            "pose_keypoints_2d": [v for r in rows for v in (r[0], r[1], float(r[3]))],
        }
        if getattr(rig, "speech", None) is not None:  # speaking in this shot: its mouth too
            muv, mz = cam.project(rig.mouth_keypoints(t))
            mouth = _visible_rows(muv, mz, np.full(len(mz), MOUTH_DEPTH_TOL), depth, instance, inst)
            face = (
                [[0.0, 0.0, 0.0]] * FACE_MOUTH[0]
                + [[r[0], r[1], float(r[3])] if r[3] else [0.0, 0.0, 0.0] for r in mouth]
                + [[0.0, 0.0, 0.0]] * (FACE_POINTS - FACE_MOUTH[1])
            )
            opening, width = rig.mouth(t)
            person.update(
                {
                    "mouth": {"opening": opening, "width": width, "keypoints": mouth},
                    "face_keypoints_2d": [v for r in face for v in r],
                }
            )
        out.append(person)
    return out


FACE_POINTS = 70  # OpenPose face: 68 points and two pupils
FACE_MOUTH = (48, 68)  # its mouth: outer lip 48-59, inner lip 60-67


def _visible_rows(uv, z, tol, depth, instance, inst) -> list:
    """[x, y, depth, visible] per point: in the image, in front, on the character's pixels and
    at most `tol` behind the depth pass there. The tests are made on whole arrays (44 us a
    person of 18 points against 57 us one point at a time, measured by hand); the rows are
    built from the same float64 values."""
    h, w = depth.shape
    x, y = np.asarray(uv[:, 0], float), np.asarray(uv[:, 1], float)
    z, tol = np.asarray(z), np.asarray(tol)  # in their own dtypes, as a point at a time used them
    with np.errstate(invalid="ignore"):
        j = np.floor(x + 0.5)
        i = np.floor(y + 0.5)
        seen = (z > 0) & np.isfinite(x) & np.isfinite(y) & (i >= 0) & (i < h) & (j >= 0) & (j < w)
    vis = np.zeros(len(z), bool)
    k = np.flatnonzero(seen)
    ii, jj = i[k].astype(np.int64), j[k].astype(np.int64)
    on = instance[ii, jj] == inst
    k, ii, jj = k[on], ii[on], jj[on]
    vis[k] = z[k] - depth[ii, jj] <= tol[k]
    return [
        [round(a, 3), round(b, 3), round(c, 4), int(v)]
        for a, b, c, v in zip(x.tolist(), y.tolist(), z.tolist(), vis.tolist())
    ]


def pose_json(people: list[dict], width: int, height: int, index: int, time: float) -> dict:
    return {
        "frame": index,
        "time": round(time, 9),
        "width": width,
        "height": height,
        "keypoint_names": list(KEYPOINTS),
        "format": "OpenPose-18 (COCO body without mid-hip); "
        "keypoints [x, y, depth, visible], pixel centres at integers",
        "people": people,
    }


def openpose_image(people: list[dict], width: int, height: int) -> np.ndarray:
    """The OpenPose stick figure ControlNets expect (black background, the standard limb and
    joint colours), drawn by controlnet-aux; hidden keypoints and their limbs are left out."""
    from worldgen.compat import import_controlnet_aux

    import_controlnet_aux()
    from controlnet_aux.open_pose.body import Keypoint
    from controlnet_aux.open_pose.util import draw_bodypose, draw_facepose

    canvas = np.zeros((height, width, 3), np.uint8)
    for person in people:
        kps = [
            Keypoint((x + 0.5) / width, (y + 0.5) / height) if vis else None for x, y, _z, vis in person["keypoints"]
        ]
        if any(k is not None for k in kps):
            canvas = draw_bodypose(canvas, kps)
    for person in people:  # face points after every body, as OpenPose draws them: white dots
        mouth = [
            Keypoint((x + 0.5) / width, (y + 0.5) / height)
            for x, y, _z, vis in person.get("mouth", {}).get("keypoints", ())
            if vis
        ]
        if mouth:
            canvas = draw_facepose(canvas, mouth)
    return canvas
