"""The layers of a `PassFrame` (worldgen.passes.derive), H x W = render height x width, apart
from the code that computes them: the manifest lists them (its `layers`) without importing the
compiled kernels, and `PassFrame` takes its layer names from here (docs/MANIFEST.md shows them
as a table)."""

LAYERS: dict[str, dict[str, str]] = {
    "depth": {
        "dtype": "float32",
        "shape": "H,W",
        "meaning": "metric z-depth along the camera's forward axis; inf where nothing is hit",
    },
    "normal": {
        "dtype": "float32",
        "shape": "H,W,3",
        "meaning": "world-space unit normal (smooth, interpolated); 0 where nothing is hit",
    },
    "instance": {
        "dtype": "uint16",
        "shape": "H,W",
        "meaning": "object value from manifest `instances` (1..N); 0 = background",
    },
    "semantic": {
        "dtype": "uint16",
        "shape": "H,W",
        "meaning": "label value from manifest `labels` (1..L); 0 = background",
    },
    "uv": {
        "dtype": "float32",
        "shape": "H,W,2",
        "meaning": "surface texture coordinate; 0 where nothing is hit",
    },
    "flow_fwd": {
        "dtype": "float32",
        "shape": "H,W,2",
        "meaning": "pixel displacement (dx, dy) of this pixel's surface point in the next frame",
    },
    "occlusion_fwd": {
        "dtype": "uint8",
        "shape": "H,W",
        "meaning": "1 where that point is hidden or outside the next frame (or background)",
    },
    "flow_bwd": {
        "dtype": "float32",
        "shape": "H,W,2",
        "meaning": "pixel displacement (dx, dy) of this pixel's surface point in the previous frame",
    },
    "occlusion_bwd": {
        "dtype": "uint8",
        "shape": "H,W",
        "meaning": "1 where that point is hidden or outside the previous frame (or background)",
    },
}
