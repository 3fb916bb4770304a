"""The layers of a `PassFrame` (worldgen.passes.derive), apart from the code that computes
them: the manifest lists them without importing the compiled kernels.

Layers of a `PassFrame` (H x W = render height x width):

| name | dtype | shape | meaning |
|---|---|---|---|
| depth | float32 | H,W | metric z-depth along the camera's forward axis; inf where nothing is hit |
| normal | float32 | H,W,3 | world-space unit normal (smooth, interpolated); 0 where nothing is hit |
| instance | uint16 | H,W | object value from manifest `instances` (1..N); 0 = background |
| semantic | uint16 | H,W | label value from manifest `labels` (1..L); 0 = background |
| uv | float32 | H,W,2 | surface texture coordinate; 0 where nothing is hit |
| flow_fwd | float32 | H,W,2 | pixel displacement (dx, dy) of this pixel's surface point in the next frame |
| occlusion_fwd | uint8 | H,W | 1 where that point is hidden or outside the next frame (or background) |
| flow_bwd | float32 | H,W,2 | pixel displacement (dx, dy) of this pixel's surface point in the previous frame |
| occlusion_bwd | uint8 | H,W | 1 where that point is hidden or outside the previous frame (or background) |
"""
