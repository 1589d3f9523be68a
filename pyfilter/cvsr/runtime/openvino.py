"""The convolutions of a model's dense recurrent step on OpenVINO's CPU plugin.

``CIAF.step`` keeps the alignment (MV warps of the features and the fed-back output), the interpolation and
the depth-to-space around its convolution trunk (``CIAF.trunk``: head, residual blocks, tail); this backend
runs the trunk. The trunk is converted once per network (``openvino.convert_model``, dynamic height and
width, through ``torch.export``), saved as OpenVINO IR in a cache folder keyed by the weights and the OpenVINO version, and compiled
for the CPU per input size (static shapes run faster; the last ``_MAX_SIZES`` sizes stay compiled) with the
latency hint and the requested thread count. A later run reads the IR back (no torch tracing) and
OpenVINO's own blob cache (``CACHE_DIR``) skips most of the compilation.

Precision: "f32" (agreement with torch ~1e-5, tested) or "bf16" (the CPU's bf16 instructions, where it has
them: ``bf16_supported``). Only the trunk runs in bf16: the sampling positions of the warps, at HR up to
1280 pixels wide, need fp32 (a bf16 graph of the whole step misplaced them by pixels), and the trunk's
output is a residual added to the interpolated frame in fp32, so its rounding stays small.
"int8": the trunk's convolutions quantized after training with OpenVINO's own tool (NNCF, an optional
dependency: ``pip install nncf``), calibrated on trunk inputs the model itself produces over a synthetic
moving sequence (``calibration_inputs``: no data needed at run time); the other operations in bf16 where
the CPU has it, else fp32. The quantized IR is cached next to the f32 one.

Why OpenVINO: measured on the project's 2-core CPU (``../shared/FACTS.md``; ``bench/model.py``) it runs
small conv nets faster than torch eager, ONNX Runtime and ``torch.compile``, and FFmpeg's ``dnn_processing``
filter offers it too, so FFmpeg users know it. Sparse steps stay on torch (the gather path has no OpenVINO
form).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["OpenVINOStep", "available", "bf16_supported", "cache_dir", "calibration_inputs", "PRECISIONS"]

PRECISIONS = ("f32", "bf16", "int8")
_CALIBRATION = "synth1"  # calibration recipe: part of the int8 cache key

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


_GRAPH = "parts1"  # what the converted graph takes and gives (part of the cache key): see _Trunk


class _Trunk(nn.Module):
    """The converted graph: ``net.trunk`` (head, residual blocks, tail) on the concatenation of the step's
    trunk inputs, (LR frame, aligned features[, fed-back detail]) -> (features, output residual). The
    concatenation is in the graph, where OpenVINO does it in place of a separate copy."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, *parts):
        return self.net.trunk(torch.cat(parts, dim=1))


def _trunk_parts(net: nn.Module) -> list[int]:
    """Channels of each trunk input: the LR frame, the features[, the fed-back detail]."""
    cfg = net.config
    return [3, cfg.channels] + ([3 * cfg.scale * cfg.scale] if cfg.hr_feedback else [])


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
    """Dense ``step`` of ``net`` with its trunk on OpenVINO's CPU plugin; one instance per stream.

    threads: inference threads, 0 = OpenVINO's choice (all cores). precision: "f32", "bf16" or "int8".
    cache: folder for converted models (None: ``cache_dir()``; False: no disk cache). Raises
    ``RuntimeError`` when the model cannot be converted or compiled (the caller falls back to torch).
    """

    def __init__(self, net: nn.Module, threads: int = 0, precision: str = "f32",
                 cache: Path | None | bool = None):
        import openvino as ov

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if precision == "int8":
            try:
                import nncf  # noqa: F401
            except ImportError:
                raise ValueError("precision=int8 needs NNCF, OpenVINO's quantization tool: pip install nncf") from None
        self._ov = ov
        self.net = net.float().eval()
        self.threads = int(threads)
        self.precision = precision
        self.cache = None if cache is False else Path(cache) if cache else cache_dir()
        self._core = ov.Core()
        if self.cache is not None:
            self.cache.mkdir(parents=True, exist_ok=True)
            self._core.set_property({"CACHE_DIR": str(self.cache / "blobs")})
        self._model = None
        self._compiled: OrderedDict[tuple[int, int], object] = OrderedDict()

    def _ir_path(self, int8: bool = False) -> Path | None:
        if self.cache is None:
            return None
        version = self._ov.__version__.split("-")[0]
        kind = f"-int8{_CALIBRATION}" if int8 else ""
        return self.cache / (f"{type(self.net).__name__.lower()}-trunk-{_fingerprint(self.net)}{kind}-{_GRAPH}"
                             f"-ov{version}.xml")

    def _save(self, model, path: Path | None) -> None:
        if path is not None:
            tmp = path.with_suffix(f".{os.getpid()}.xml")
            self._ov.save_model(model, str(tmp), compress_to_fp16=False)
            os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))
            os.replace(tmp, path)  # the .xml last: it marks a complete pair

    def _convert(self):
        if self.precision != "int8":
            return self._convert_f32()
        path = self._ir_path(int8=True)
        if path is not None and path.exists():
            return self._core.read_model(str(path))
        import contextlib
        import io
        import logging

        import nncf

        inputs = calibration_inputs(self.net)
        nncf.set_log_level(logging.ERROR)
        # NNCF draws progress bars on stdout: inside ffmpeg that may be the output stream (-f nut -)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            model = nncf.quantize(self._convert_f32(), nncf.Dataset(inputs), subset_size=len(inputs),
                                  preset=nncf.QuantizationPreset.MIXED)
        self._save(model, path)
        return model

    def _convert_f32(self):
        ov = self._ov
        path = self._ir_path()
        if path is not None and path.exists():
            return self._core.read_model(str(path))
        parts = _trunk_parts(self.net)
        h, w = torch.export.Dim("h", min=1, max=16384), torch.export.Dim("w", min=1, max=16384)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.export's own pytree deprecations
            program = torch.export.export(_Trunk(self.net), tuple(torch.zeros(1, c, 16, 16) for c in parts),
                                          dynamic_shapes=(tuple({2: h, 3: w} for _ in parts),))  # *parts
            model = ov.convert_model(program)
        self._save(model, path)
        return model

    def _request(self, h: int, w: int):
        key = (h, w)
        if key in self._compiled:
            self._compiled.move_to_end(key)
            return self._compiled[key]
        try:
            if self._model is None:
                self._model = self._convert()
            model = self._model.clone()
            model.reshape({i: [1, c, h, w] for i, c in enumerate(_trunk_parts(self.net))})
            hint = self.precision if self.precision != "int8" else "bf16" if bf16_supported() else "f32"
            config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": hint}
            if self.threads:
                config["INFERENCE_NUM_THREADS"] = self.threads
            compiled = self._core.compile_model(model, "CPU", config)
        except Exception as e:  # OpenVINO raises RuntimeError or its own types; report as one kind
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RuntimeError(f"OpenVINO could not convert or compile {type(self.net).__name__} for "
                               f"{w}x{h}: {first}") from e
        self._compiled[key] = compiled.create_infer_request()
        while len(self._compiled) > _MAX_SIZES:
            self._compiled.popitem(last=False)
        return self._compiled[key]

    def prepare(self, h: int, w: int) -> None:
        """Convert and compile for an (h, w) input now rather than at the first frame of that size."""
        self._request(h, w)

    def trunk(self, parts: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``CIAF.trunk`` on OpenVINO: the trunk inputs (1, c_i, h, w) fp32 -> (features, output residual)."""
        arrays = [p.float().contiguous().numpy() for p in parts]
        # The inputs are read in place (nothing changes them during the call). The outputs are the request's
        # own memory, which the next call overwrites: the features (the recurrent state, kept by the caller)
        # are copied; the residual is a view, consumed by the step before the next call (saves an 11 MB
        # copy a frame at 320x180).
        out = self._request(*arrays[0].shape[2:]).infer(arrays, share_inputs=True, share_outputs=True)
        return torch.from_numpy(np.array(out[0])), torch.from_numpy(np.asarray(out[1]))

    def step(self, lr: torch.Tensor, mv_field: torch.Tensor | None, state, output=None):
        """``CIAF.step`` without a mask, its trunk on OpenVINO. lr (1, 3, h, w) fp32 CPU; ``output`` as
        ``CIAF.step``'s."""
        if lr.dim() != 4 or lr.shape[0] != 1:
            raise ValueError(f"lr must be (1, 3, h, w), got shape {tuple(lr.shape)}")
        with torch.no_grad():
            return self.net.step(lr.float(), mv_field, None, state, trunk=self.trunk, output=output)


def calibration_inputs(net: nn.Module, frames: int = 24, size: tuple[int, int] = (96, 160),
                       seed: int = 0) -> list[list[np.ndarray]]:
    """Trunk inputs for int8 calibration, made by ``net`` itself (torch, fp32) stepping through a synthetic
    sequence: a textured scene (smooth noise at several scales, hard-edged shapes, a gradient) panning by a
    constant sub-pixel motion, with that motion as the motion field, the recurrent state carried, as in a
    coded stream (``frames`` inputs of ``size``). Deterministic (``seed``)."""
    h, w = size
    rng = np.random.default_rng(seed)
    big_h, big_w = h + frames * 2 + 8, w + frames * 3 + 8
    scene = np.zeros((3, big_h, big_w), np.float32)
    for cell in (4, 12, 40):  # smooth noise, upsampled per octave
        g = rng.random((3, big_h // cell + 2, big_w // cell + 2), dtype=np.float32)
        g = torch.nn.functional.interpolate(torch.from_numpy(g)[None], scale_factor=cell, mode="bicubic",
                                            align_corners=False)[0, :, :big_h, :big_w].numpy()
        scene += g / 3
    yy, xx = np.mgrid[:big_h, :big_w].astype(np.float32)
    for _ in range(12):  # flat shapes with hard edges
        cy, cx, r = rng.random() * big_h, rng.random() * big_w, 4 + rng.random() * 20
        scene[:, (yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.random((3, 1), dtype=np.float32)
    scene = np.clip(0.1 + 0.8 * scene + 0.1 * (xx / big_w), 0, 1)
    dy, dx = 1.25, 2.5  # motion of the content per frame, pixels
    # motion vectors point into the previous frame, as a codec's do: where the content was
    field = torch.tensor([-dx, -dy], dtype=torch.float32).expand(1, h, w, 2).contiguous()
    out: list[list[np.ndarray]] = []

    def capture(parts):
        out.append([p.detach().float().contiguous().numpy().copy() for p in parts])
        return net.trunk(torch.cat(parts, dim=1))

    state = None
    with torch.no_grad():
        for i in range(frames):
            y0, x0 = big_h - h - 4 - dy * i, big_w - w - 4 - dx * i  # content moves by +motion
            grid = torch.from_numpy(scene)[None]
            theta = torch.tensor([[[w / big_w, 0, (2 * x0 + w) / big_w - 1],
                                   [0, h / big_h, (2 * y0 + h) / big_h - 1]]], dtype=torch.float32)
            pos = torch.nn.functional.affine_grid(theta, (1, 3, h, w), align_corners=False)
            lr = torch.nn.functional.grid_sample(grid, pos, mode="bilinear", align_corners=False)
            lr = torch.round(lr * 255) / 255
            _, state = net.step(lr, field if state is not None else None, None, state, trunk=capture)
    return out


@functools.lru_cache(maxsize=1)
def bf16_supported() -> bool:
    """Whether OpenVINO's CPU plugin has bf16 arithmetic on this CPU (AVX512-BF16, AMX)."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
