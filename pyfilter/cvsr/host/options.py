"""The filter's options, described once: the ffmpeg filter (its C option table and ``-h filter=cvsr``),
``cvsr.host.Host``, ``cvsr.upscale`` and ``cvsr upscale`` take the same options with the same values and
defaults. The Python side builds its choices and defaults from ``OPTIONS``; the C table in the filter patch
(``libavfilter/vf_cvsr.c``) and the Python signatures are checked against it by tests/filter and
tests/host. To add an option: a row here, a field in ``CvsrBridgeOptions`` (native/include/cvsr/bridge.h)
passed on by the bridge, an AVOption in the filter patch, a parameter of ``Host`` and ``upscale``.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..runtime import BACKENDS

__all__ = ["Option", "OPTIONS", "choices", "default"]


@dataclass(frozen=True)
class Option:
    name: str
    default: str | int | bool | None        # None: the package decides (model: cvsr.models.DEFAULT_MODEL)
    choices: tuple[str, ...] | None         # None: free value (a name or path, an int, a bool)
    help: str


OPTIONS: tuple[Option, ...] = (
    Option("model", None, None,
           "registered model name (ciaf, ciaf-lite, baseline-lite, ...) or path to a checkpoint; "
           "default: cvsr.models.DEFAULT_MODEL"),
    Option("device", "auto", ("auto", "cpu", "cuda"), "where the model runs; auto: CUDA if available, else CPU"),
    Option("sparse", "auto", ("auto", "on", "off"),
           "run the residual blocks only where the decoder coded a residual; auto: dense on the CPU, "
           "as the model was trained on CUDA"),
    Option("precision", "auto", ("auto", "fp32", "fp16", "bf16", "int8"),
           "arithmetic precision; fp16: CUDA; bf16: the OpenVINO backend on a CPU with bf16 instructions; "
           "int8: the OpenVINO backend, convolutions quantized (needs nncf); "
           "auto: bf16 where it runs, else fp32"),
    Option("backend", "auto", BACKENDS,
           "what runs the model; auto: OpenVINO on the CPU when installed, else torch"),
    Option("threads", 0, None, "CPU threads of torch and the backend; 0: their default"),
    Option("align", True, None, "use the motion vectors and residual of the codec info when frames carry it"),
)

_BY_NAME = {o.name: o for o in OPTIONS}


def choices(name: str) -> tuple[str, ...]:
    """The values an enumerated option takes."""
    return _BY_NAME[name].choices


def default(name: str):
    return _BY_NAME[name].default
