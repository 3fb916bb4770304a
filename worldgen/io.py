"""Files worldgen writes: atomic (temp + rename) and byte-deterministic (no timestamps)."""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes owner-only files; outputs are ordinary files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj: object) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=False) + "\n").encode())


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz that np.load reads, with fixed timestamps so equal arrays give equal bytes.
    Integer layers (ids, masks) are deflated, which shrinks them ~20x for little time; float
    layers are stored, since deflate gains little on them and costs most of a frame's time."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=FIXED_ZIP_TIME)
            method = zipfile.ZIP_STORED if arr.dtype.kind == "f" else zipfile.ZIP_DEFLATED
            info.compress_type = method
            if method == zipfile.ZIP_DEFLATED:
                info._compresslevel = 1  # type: ignore[attr-defined]  # public only from Python 3.13
            b = io.BytesIO()
            np.lib.format.write_array(b, np.ascontiguousarray(arr), allow_pickle=False)
            z.writestr(info, b.getvalue())
    return buf.getvalue()


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write_bytes(path, npz_bytes(arrays))


def png_bytes(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_png(path: Path, img: np.ndarray) -> None:
    atomic_write_bytes(path, png_bytes(img))


EXR_CHANNELS = {  # layer -> channel names in the EXR (multi-channel, one file per frame)
    "depth": ["Z"],
    "normal": ["N.X", "N.Y", "N.Z"],
    "uv": ["uv.U", "uv.V"],
    "flow_fwd": ["flow_fwd.X", "flow_fwd.Y"],
    "flow_bwd": ["flow_bwd.X", "flow_bwd.Y"],
    "instance": ["instance"],
    "semantic": ["semantic"],
    "occlusion_fwd": ["occlusion_fwd"],
    "occlusion_bwd": ["occlusion_bwd"],
}


def write_exr(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Float layers as FLOAT channels, integer layers as UINT channels, ZIP-compressed."""
    import OpenEXR

    channels = {}
    for layer, names in EXR_CHANNELS.items():
        a = arrays[layer]
        a = a[..., None] if a.ndim == 2 else a
        for k, name in enumerate(names):
            c = a[..., k]
            channels[name] = np.ascontiguousarray(c.astype(np.uint32) if c.dtype.kind in "ub" else c.astype(np.float32))
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.exr")
    with OpenEXR.File(header, channels) as f:
        f.write(str(tmp))
    os.replace(tmp, path)


def read_exr(path: Path) -> dict[str, np.ndarray]:
    import OpenEXR

    with OpenEXR.File(str(path)) as f:
        ch = {k: v.pixels for k, v in f.channels().items()}
    out = {}
    for layer, names in EXR_CHANNELS.items():
        if all(n in ch for n in names):
            arr = np.stack([ch[n] for n in names], -1)
            out[layer] = arr[..., 0] if len(names) == 1 else arr
    return out


def read_passes(path: Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if path.suffix == ".exr":
        return read_exr(path)
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
