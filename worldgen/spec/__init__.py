"""The scene spec: typed models, a located YAML loader, and checks."""

from worldgen.spec.identity import spec_hash
from worldgen.spec.loader import load_spec, load_spec_text
from worldgen.spec.models import Spec

__all__ = ["Spec", "load_spec", "load_spec_text", "spec_hash"]
