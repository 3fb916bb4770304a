"""The painter names a spec may ask for (`render.painter`).

Declared here, below `worldgen.paint`, so that checking a spec never imports the painters
themselves (the diffusion ones pull in torch and diffusers). `worldgen.paint.registry` gives
each name its implementation; a spec naming another painter is refused before any compute."""
from __future__ import annotations

BUILT_IN = ("procedural", "diffusion", "baked", "baked+refine", "baked+animatediff", "per-frame", "fixed-seed",
            "anchored-noise")
