"""The filter's model options resolved into a ``ModelRunner``: a trained network (``cvsr.models.load_model``) plus
how its steps run (device, precision, sparsity, inference backend)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from .options import choices

__all__ = ["ModelRunner", "make_runner", "resolve_device"]

_DEVICES = choices("device")
_SPARSE = choices("sparse")
# precision -> dtype of the torch module; bf16 is the OpenVINO trunk's arithmetic, the module stays fp32
_PRECISIONS = {"auto": torch.float32, "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.float32,
               "int8": torch.float32}


def resolve_device(device: str) -> torch.device:
    if device not in _DEVICES:
        raise ValueError(f"device must be one of {_DEVICES}, got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda, but torch sees no CUDA device; use device=cpu or auto")
    return torch.device(device)


@dataclass
class ModelRunner:
    """A network in eval mode with the options that decide how ``step`` is called."""

    spec: str
    net: nn.Module
    device: torch.device
    dtype: torch.dtype
    sparse: bool
    backend: str = "torch"        # what runs dense steps: "torch" or "openvino"
    threads: int = 0              # CPU threads of the backend, 0 = its default
    precision: str = "fp32"       # fp32, fp16 (CUDA, torch), bf16 or int8 (CPU, OpenVINO); "auto" resolved
    runtime: object = field(default=None, repr=False)  # cvsr.runtime.openvino.OpenVINOStep when backend is openvino

    def __post_init__(self):
        if self.backend == "openvino" and self.runtime is None:
            from cvsr.runtime.openvino import OpenVINOStep

            self.runtime = OpenVINOStep(self.net, threads=self.threads,
                                        precision=self.precision if self.precision in ("bf16", "int8") else "f32")

    @property
    def scale(self) -> int:
        return int(self.net.config.scale)

    def prepare(self, h: int, w: int, warn: Callable[[str], None] | None = None) -> None:
        """Compile the backend for (h, w) frames now (the host does it before timing a new size). If the
        backend cannot convert the model, ``warn`` gets one line and this model runs on torch from then on."""
        if self.runtime is not None:
            try:
                self.runtime.prepare(h, w)
            except RuntimeError as e:
                self._fall_back(e, warn)

    def step(self, lr, flow, residual_mask, state, warn: Callable[[str], None] | None = None, output=None):
        """One recurrent step; ``flow``/``residual_mask`` None mean zero motion / dense; ``output`` as
        ``CIAF.step``'s.

        Dense steps run on the backend; sparse ones on torch. A backend failure falls back as in ``prepare``.
        """
        mask = residual_mask if self.sparse else None
        if self.runtime is not None and mask is None:
            try:
                return self.runtime.step(lr, flow, state, output=output)
            except RuntimeError as e:
                self._fall_back(e, warn)
        return self.net.step(lr, flow, mask, state, output=output)

    def _fall_back(self, error: RuntimeError, warn) -> None:
        self.runtime, self.backend = None, "torch"
        (warn or _warn)(f"{error}; running on torch instead\n")

    def describe(self) -> str:
        cfg = self.net.config
        return (f"model {self.spec} ({type(self.net).__name__}, {cfg.channels} channels, "
                f"{cfg.num_blocks} blocks, x{cfg.scale}) on {self.device} ({self.backend}), "
                f"{self.precision}, {'sparse' if self.sparse else 'dense'}")


def _warn(message: str) -> None:
    import sys

    sys.stderr.write(f"cvsr: warning: {message}")


def trained_sparse(path) -> bool | None:
    """Whether a checkpoint was trained with masks (the ``options`` metadata ``cvsr.train`` writes), None if
    it does not say."""
    import json

    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        if "options" in meta and "sparse" in json.loads(meta["options"]):
            return bool(json.loads(meta["options"])["sparse"])
    except (OSError, ValueError):
        pass
    return None


def make_runner(spec: str, device: str = "auto", sparse: str = "auto", precision: str = "auto",
               backend: str = "auto", threads: int = 0) -> ModelRunner:
    """A trained network from a registered name (packaged weights) or a checkpoint path.

    sparse: "on" runs the residual blocks only where the codec residual is
    non-zero, "off" everywhere; "auto" is dense on the CPU (sparse mode is not
    faster there than the dense backend: README, Speed) and elsewhere does what
    the checkpoint was trained for (its metadata), "on" when it does not say.
    Frames without codec info always run dense.
    precision: "fp32", "fp16" (CUDA), "bf16" (the OpenVINO backend on a CPU with bf16 instructions), "int8"
    (the OpenVINO backend, convolutions quantized with NNCF: README, Speed) or "auto": bf16 where it can run
    (held-out cost <= 0.003 dB, 1.3-1.6x faster), else fp32.
    backend: "torch", "openvino" (CPU) or "auto" (``cvsr.runtime.resolve_backend``);
    threads: the backend's CPU threads, 0 = its default.
    Raises ValueError for anything the user can fix (unknown name, missing
    weights, fp16 on CPU, ...).
    """
    from cvsr import models
    from cvsr.runtime import resolve_backend

    if sparse not in _SPARSE:
        raise ValueError(f"sparse must be one of {_SPARSE}, got {sparse!r}")
    if precision not in _PRECISIONS:
        raise ValueError(f"precision must be one of {tuple(_PRECISIONS)}, got {precision!r}")
    dev = resolve_device(device)
    dtype = _PRECISIONS[precision]
    if precision == "fp16" and dev.type != "cuda":
        raise ValueError("precision=fp16 needs a CUDA device (device=cuda, or auto on a machine with a GPU)")
    if not spec:
        raise ValueError("model must be a registered name or a checkpoint path")
    if spec not in models.MODELS and not spec.endswith(".safetensors") and "/" not in spec:
        raise ValueError(f"unknown model {spec!r}: use a registered name ({', '.join(sorted(models.MODELS))}) "
                         "or the path of a .safetensors checkpoint")
    try:
        net = models.load_model(spec, device=dev)
    except FileNotFoundError as e:
        raise ValueError(str(e)) from e
    net = net.to(dev, dtype).eval()
    backend = resolve_backend(backend, dev.type)
    if precision == "auto":
        from cvsr.runtime.openvino import bf16_supported

        precision = "bf16" if backend == "openvino" and bf16_supported() else "fp32"
    elif precision in ("bf16", "int8") and backend != "openvino":
        raise ValueError(f"precision={precision} runs on the OpenVINO backend (device=cpu, backend=auto or openvino)")
    elif precision == "bf16":
        from cvsr.runtime.openvino import bf16_supported

        if not bf16_supported():
            raise ValueError("precision=bf16 needs a CPU with bf16 instructions (AVX512-BF16 or AMX), "
                             "which this one lacks: use precision=fp32")
    if sparse == "auto":
        path = models.weights_path(spec) if spec in models.MODELS else spec
        use_sparse = dev.type != "cpu" and trained_sparse(path) is not False
    else:
        use_sparse = sparse == "on"
    return ModelRunner(spec, net, dev, dtype, use_sparse, backend, threads, precision)
