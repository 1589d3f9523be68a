"""Inference backends for a model's recurrent step: ``torch`` (the module itself, CPU and CUDA, dense and
sparse) and ``openvino`` (dense steps on the CPU, ``cvsr.runtime.openvino``).

``resolve_backend`` turns the user's ``backend`` option into the one that runs.
"""
from __future__ import annotations

__all__ = ["BACKENDS", "resolve_backend"]

BACKENDS = ("auto", "torch", "openvino")


def resolve_backend(backend: str, device_type: str) -> str:
    """"auto": OpenVINO on the CPU when it is installed, else torch; torch on CUDA.
    Raises ValueError for an unknown name, OpenVINO on CUDA, or OpenVINO asked for but not installed."""
    from . import openvino

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        return "openvino" if device_type == "cpu" and openvino.available() else "torch"
    if backend == "openvino":
        if device_type != "cpu":
            raise ValueError("backend=openvino runs on the CPU; use device=cpu, or backend=torch on CUDA")
        if not openvino.available():
            raise ValueError("backend=openvino needs the openvino package (pip install openvino)")
    return backend
