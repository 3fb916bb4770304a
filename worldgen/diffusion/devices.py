"""Where the diffusion models run and in which precision, and the memory switches.

The choices are made once, up front, with one-line errors: a user who asks for a device or a
precision this machine cannot give learns it before minutes of model loading, not after.
"""

from __future__ import annotations

import importlib.util

import torch

from worldgen.errors import BackendError

DTYPE_NAMES = {
    "fp16": torch.float16,
    "float16": torch.float16,
    "half": torch.float16,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "fp32": torch.float32,
    "float32": torch.float32,
    "float": torch.float32,
}


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(requested: str | torch.device = "auto") -> torch.device:
    """`auto` prefers cuda, then mps, then cpu; a named device must exist here."""
    if isinstance(requested, torch.device):
        requested = str(requested)
    name = requested.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise BackendError(f"unknown device '{requested}' (use auto, cpu, cuda, cuda:N or mps)") from None
    check_device_available(device)
    return device


def check_device_available(device: torch.device) -> None:
    if device.type == "cpu":
        return
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = f"torch {torch.__version__}" + (" (a CPU-only build)" if torch.version.cuda is None else "")
            raise BackendError(
                f"device '{device}' requested but CUDA is not available here ({build}); "
                "use --device cpu or install a CUDA build of torch"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise BackendError(f"device '{device}' requested but this machine has {count} CUDA device(s)")
        return
    if device.type == "mps":
        if not mps_available():
            raise BackendError(f"device '{device}' requested but Apple MPS is not available here; use --device cpu")
        return
    raise BackendError(f"device '{device}' is not supported (use auto, cpu, cuda, cuda:N or mps)")


def pick_dtype(device: torch.device | str, requested: str | torch.dtype = "auto") -> torch.dtype:
    """fp16 on CUDA by default (half the memory, tensor cores), fp32 elsewhere: CPU kernels
    are slow or missing in fp16, and fp16 on MPS is opt-in because some ops lose range there."""
    device = torch.device(device)
    if isinstance(requested, torch.dtype):
        dtype = requested
    elif requested.strip().lower() == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    else:
        dtype = DTYPE_NAMES.get(requested.strip().lower())
        if dtype is None:
            raise BackendError(f"unknown precision '{requested}' (use auto, fp32, fp16 or bf16)")
    check_dtype_supported(device, dtype)
    return dtype


def check_dtype_supported(device: torch.device, dtype: torch.dtype) -> None:
    if dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise BackendError(f"precision {dtype} is not supported (use fp32, fp16 or bf16)")
    if dtype == torch.float16 and device.type == "cpu":
        raise BackendError("fp16 is not supported on the CPU (use fp32, or bf16)")
    if dtype == torch.bfloat16 and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise BackendError(f"bf16 is not supported by {torch.cuda.get_device_name(device)} (use fp16)")
    if dtype == torch.bfloat16 and device.type == "mps" and not mps_supports_bf16():
        raise BackendError("bf16 is not supported by MPS on this macOS (use fp16 or fp32)")


def mps_supports_bf16() -> bool:
    try:
        torch.ones(1, dtype=torch.bfloat16, device="mps")
        return True
    except (RuntimeError, TypeError):
        return False


def accelerate_available() -> bool:
    return importlib.util.find_spec("accelerate") is not None


def apply_memory_options(
    pipe, attention_slicing: bool = False, cpu_offload: bool = False, device: torch.device | str | None = None
) -> None:
    """Trade speed for memory. CPU offload keeps each model on the CPU until its turn on the
    GPU (diffusers does this through `accelerate`); it only makes sense with CUDA, so asking
    for it elsewhere is an error rather than a silent no-op. `device` is the CUDA device the
    models visit (default: the current one)."""
    if attention_slicing:
        pipe.enable_attention_slicing()
    if not cpu_offload:
        return
    target = torch.device(device) if device is not None else torch.device("cuda")
    check_cpu_offload_possible(target)
    pipe.enable_model_cpu_offload(device=target)


def check_cpu_offload_possible(device: torch.device) -> None:
    """Called before loading too, so a doomed run fails before minutes of loading."""
    if device.type != "cuda" or not torch.cuda.is_available():
        raise BackendError("CPU offload needs a CUDA device, and there is none here (drop --cpu-offload)")
    if not accelerate_available():
        raise BackendError("CPU offload needs the 'accelerate' package: pip install accelerate")
