"""A model's dense recurrent step on OpenVINO's CPU plugin.

The step ``(lr, mv_field, state) -> (hr, state)`` of a CIAF-family network is traced once per input size
(``openvino.convert_model`` on a wrapper module: the warp's sampling grid is a constant of the size), saved
as OpenVINO IR in a cache folder keyed by the weights, the size and the OpenVINO version, and compiled for
the CPU with the latency hint, fp32 inference precision and the requested thread count. A later run reads
the IR back (no torch tracing) and OpenVINO's own model cache skips most of the compilation.

Why OpenVINO: measured on the project's 2-core CPU (``../shared/FACTS.md``, ``bench/model.py``) it runs
small conv nets ~2x faster than torch eager and faster than ONNX Runtime and ``torch.compile``; FFmpeg's
``dnn_processing`` filter offers it too, so FFmpeg users know it.

What runs here: dense steps (no residual mask) of ``CIAF`` and ``Baseline`` (``hr_feedback`` or not). A reset
(state None) is the same graph fed an all-zero state and, with ``hr_feedback``, the interpolated LR frame as
the "previous output" with zero motion, so the fed-back detail is zero as in ``CIAF.step``. Sparse steps stay
on torch (the gather path has no OpenVINO form). Agreement with torch: ~1e-5 (fp32), tested.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["OpenVINOStep", "available", "cache_dir"]

_MAX_SIZES = 2  # compiled sizes kept per model (a resolution change back and forth does not recompile)


def available() -> bool:
    """Whether the ``openvino`` package can be imported."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def cache_dir() -> Path:
    """Where converted models and OpenVINO's compiled blobs are kept: ``$CVSR_CACHE_DIR/openvino``, else
    ``$XDG_CACHE_HOME/cvsr/openvino`` (``~/.cache/cvsr/openvino``)."""
    root = os.environ.get("CVSR_CACHE_DIR")
    if root:
        return Path(root) / "openvino"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cvsr" / "openvino"


class _DenseStep(nn.Module):
    """The traced graph: (lr, flow, feat[, hr_prev]) -> (hr, feat)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, lr, flow, feat, hr_prev=None):
        from cvsr.models.ciaf import CIAFState

        hr, state = self.net.step(lr, flow, None, CIAFState(feat, lr, hr_prev))
        return hr, state.feat


def _fingerprint(net: nn.Module) -> str:
    """Digest of the network's type, config and weights (the converted-model cache key)."""
    h = hashlib.sha256()
    h.update(type(net).__name__.encode())
    h.update(json.dumps(vars(net.config), sort_keys=True, default=str).encode())
    for name, t in net.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().float().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:20]


class OpenVINOStep:
    """Dense ``step`` of ``net`` on OpenVINO's CPU plugin; one instance per stream (not thread-safe).

    threads: inference threads, 0 = OpenVINO's choice (all cores). cache: folder for converted models
    (None: ``cache_dir()``; False: no disk cache). Raises ``RuntimeError`` when the model cannot be
    converted or compiled (the caller falls back to torch).
    """

    def __init__(self, net: nn.Module, threads: int = 0, cache: Path | None | bool = None):
        import openvino as ov

        self._ov = ov
        self.net = net.float().eval()
        self.threads = int(threads)
        self.cache = None if cache is False else Path(cache) if cache else cache_dir()
        self._core = ov.Core()
        if self.cache is not None:
            self.cache.mkdir(parents=True, exist_ok=True)
            self._core.set_property({"CACHE_DIR": str(self.cache / "blobs")})
        self._key = _fingerprint(self.net)
        self._compiled: OrderedDict[tuple[int, int], object] = OrderedDict()

    @property
    def feedback(self) -> bool:
        return bool(getattr(self.net.config, "hr_feedback", False))

    def _ir_path(self, h: int, w: int) -> Path | None:
        if self.cache is None:
            return None
        version = self._ov.__version__.split("-")[0]
        return self.cache / f"{type(self.net).__name__.lower()}-{self._key}-{w}x{h}-ov{version}.xml"

    def _convert(self, h: int, w: int):
        ov = self._ov
        path = self._ir_path(h, w)
        if path is not None and path.exists():
            return self._core.read_model(str(path))
        c, s = self.net.config.channels, self.net.config.scale
        example = [torch.zeros(1, 3, h, w), torch.zeros(1, h, w, 2), torch.zeros(1, c, h, w)]
        if self.feedback:
            example.append(torch.zeros(1, 3, s * h, s * w))
        import warnings
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings: the size-dependent constants are intended
            model = ov.convert_model(_DenseStep(self.net), example_input=tuple(example))
        if path is not None:
            tmp = path.with_suffix(f".{os.getpid()}.xml")
            ov.save_model(model, str(tmp), compress_to_fp16=False)
            os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))
            os.replace(tmp, path)  # the .xml last: it marks a complete pair
        return model

    def _request(self, h: int, w: int):
        key = (h, w)
        if key in self._compiled:
            self._compiled.move_to_end(key)
            return self._compiled[key]
        try:
            model = self._convert(h, w)
            config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
            if self.threads:
                config["INFERENCE_NUM_THREADS"] = self.threads
            compiled = self._core.compile_model(model, "CPU", config)
        except Exception as e:  # OpenVINO raises RuntimeError or its own types; report as one kind
            raise RuntimeError(f"OpenVINO could not convert or compile {type(self.net).__name__} for "
                               f"{w}x{h}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from e
        self._compiled[key] = compiled.create_infer_request()
        while len(self._compiled) > _MAX_SIZES:
            self._compiled.popitem(last=False)
        return self._compiled[key]

    def prepare(self, h: int, w: int) -> None:
        """Convert and compile for an (h, w) input now rather than at the first frame of that size."""
        self._request(h, w)

    def step(self, lr: torch.Tensor, mv_field: torch.Tensor | None, state):
        """Same contract as ``CIAF.step`` without a mask: lr (1, 3, h, w) fp32 CPU, mv_field (1, h, w, 2) or
        None, state ``CIAFState`` or None (reset). Returns (hr, state) as torch tensors."""
        from cvsr.models.ciaf import CIAFState

        if lr.dim() != 4 or lr.shape[:2] != (1, 3):
            raise ValueError(f"lr must be (1, 3, h, w), got shape {tuple(lr.shape)}")
        _, _, h, w = lr.shape
        s, c = self.net.config.scale, self.net.config.channels
        lr = lr.float().contiguous()
        if state is not None and self.feedback and state.hr is None:
            return self.net.step(lr, mv_field, None, state)  # features but no output yet: not this graph
        if state is None:  # reset: zero features; the interpolated frame, unmoved, as "previous output"
            feat = torch.zeros(1, c, h, w)
            flow = torch.zeros(1, h, w, 2)
            hr_prev = F.interpolate(lr, scale_factor=s, mode=self.net.config.lr_upsample, align_corners=False)
        else:
            feat = state.feat.float().contiguous()
            flow = torch.zeros(1, h, w, 2) if mv_field is None else mv_field.float().contiguous()
            hr_prev = state.hr
        inputs = [lr.numpy(), flow.numpy(), feat.numpy()]
        if self.feedback:
            inputs.append(hr_prev.float().contiguous().numpy())
        out = self._request(h, w).infer(inputs)  # outputs are copies (share_outputs=False)
        hr = torch.from_numpy(np.asarray(out[0]))
        feat = torch.from_numpy(np.asarray(out[1]))
        return hr, CIAFState(feat, lr, hr if self.feedback else None)
