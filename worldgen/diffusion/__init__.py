"""Diffusion painter plumbing: devices, model loading, evaluation counting and tiny test models."""
