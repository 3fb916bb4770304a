"""A spec's identity: the digest of its resolved form, which output folders, manifests and
timelines record to say which spec they were made from."""

from __future__ import annotations

import hashlib

from worldgen.spec.models import Spec


def spec_hash(spec: Spec) -> str:
    """sha256 of the spec's canonical JSON (every default filled in, so two spellings of one
    spec hash alike)."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()
