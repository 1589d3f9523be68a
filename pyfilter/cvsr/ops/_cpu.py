"""CPU kernels behind ``cvsr.ops`` (native/src/kernels.c in libcvsr, through cffi): the bilinear warp, the
fed-back detail and the output of a recurrent step, YUV <-> RGB.

Used for float32 CPU tensors when nothing needs their gradient (inference, evaluation); training runs the
torch compositions, which are also the references these kernels are tested against. cffi releases the GIL
during each call. Each call splits its rows over torch's intra-op thread count (``torch.get_num_threads()``,
what the filter's ``threads`` option sets): the kernels stand in for torch ops. Without the native build
(``cvsr._native`` missing) every op falls back to torch.
"""
from __future__ import annotations

import numpy as np
import torch

try:
    from cvsr._native import ffi, lib
except ImportError:  # pragma: no cover - depends on the build
    ffi = lib = None

__all__ = ["usable", "warp", "feedback_detail", "upsample_add", "rgb_to_yuv420", "yuv420_to_rgb"]


def usable(*tensors: torch.Tensor) -> bool:
    """Whether the kernels can take these tensors: libcvsr loaded, all float32 on the CPU, no autograd."""
    if lib is None:
        return False
    for t in tensors:
        if t.device.type != "cpu" or t.dtype != torch.float32:
            return False
        if t.requires_grad and torch.is_grad_enabled():
            return False
    return True


def _f32(t) -> object:
    return ffi.cast("float *", t.data_ptr())


def _u8(a: np.ndarray) -> object:
    return ffi.cast("uint8_t *", a.ctypes.data)


def _threads() -> int:
    return torch.get_num_threads()


def _check(ret: int, what: str) -> None:
    if ret == -2:
        raise MemoryError(f"{what}: out of memory")
    if ret:
        raise ValueError(f"{what}: invalid size")


def warp(feat: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``cvsr.ops.warp(feat, flow, padding="border")``."""
    feat, flow = feat.contiguous(), flow.contiguous()
    n, c, h, w = feat.shape
    out = torch.empty_like(feat)
    for b in range(n):
        _check(lib.cvsr_warp_bilinear(_f32(feat[b]), c, h, w, _f32(flow[b]), _f32(out[b]), _threads()), "warp")
    return out


def feedback_detail(hr: torch.Tensor, lr: torch.Tensor, flow: torch.Tensor | None, scale: int) -> torch.Tensor:
    """``cvsr.ops.feedback_detail`` with bilinear upsampling."""
    hr, lr = hr.contiguous(), lr.contiguous()
    flow = flow.contiguous() if flow is not None else None
    n, c, h, w = lr.shape
    out = lr.new_empty((n, c * scale * scale, h, w))
    for b in range(n):
        f = _f32(flow[b]) if flow is not None else ffi.NULL
        _check(lib.cvsr_feedback_detail(_f32(hr[b]), _f32(lr[b]), c, h, w, scale, f, _f32(out[b]), _threads()),
               "feedback_detail")
    return out


def upsample_add(res: torch.Tensor, lr: torch.Tensor, scale: int, yuv: tuple | None = None):
    """``cvsr.ops.upsample_add`` with bilinear upsampling. With ``yuv`` = (matrix, offset) (as for
    ``rgb_to_yuv420``; one image, 3 channels) also the output as Y, U, V uint8: returns (hr, (y, u, v))."""
    res, lr = res.contiguous(), lr.contiguous()
    n, c, h, w = lr.shape
    out = lr.new_empty((n, c, h * scale, w * scale))
    if yuv is not None:
        if n != 1 or c != 3:
            raise ValueError(f"a YUV output needs one 3-channel image, got {n} of {c} channels")
        H, W = h * scale, w * scale
        planes = (np.empty((H, W), np.uint8), *(np.empty(((H + 1) // 2, (W + 1) // 2), np.uint8) for _ in range(2)))
        _check(lib.cvsr_upsample_add(_f32(res[0]), _f32(lr[0]), c, h, w, scale, _f32(out[0]),
                                     ffi.from_buffer("float[]", yuv[0]), ffi.from_buffer("float[]", yuv[1]),
                                     *(_u8(p) for p in planes), _threads()), "upsample_add")
        return out, planes
    for b in range(n):
        _check(lib.cvsr_upsample_add(_f32(res[b]), _f32(lr[b]), c, h, w, scale, _f32(out[b]), ffi.NULL, ffi.NULL,
                                     ffi.NULL, ffi.NULL, ffi.NULL, _threads()), "upsample_add")
    return out


def rgb_to_yuv420(rgb: np.ndarray, matrix: np.ndarray, offset: np.ndarray):
    """(3, h, w) float32 RGB (clamped to [0, 1]) -> Y, U, V uint8, rounded half up: ``matrix`` (3, 3) rows
    for Y, U, V (RGB in [0, 1]), ``offset`` (3,) added; chroma of the 2x2 mean RGB."""
    rgb = np.ascontiguousarray(rgb, np.float32)
    _, h, w = rgb.shape
    y = np.empty((h, w), np.uint8)
    u = np.empty(((h + 1) // 2, (w + 1) // 2), np.uint8)
    v = np.empty_like(u)
    _check(lib.cvsr_rgb_to_yuv420(ffi.cast("float *", rgb.ctypes.data), h, w, ffi.from_buffer("float[]", matrix),
                                  ffi.from_buffer("float[]", offset), _u8(y), _u8(u), _u8(v), _threads()),
           "rgb_to_yuv420")
    return y, u, v


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, matrix: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Y (h, w), U, V (ceil(h/2), ceil(w/2)) uint8 -> (3, h, w) float32 RGB in [0, 1]: ``matrix`` (3, 3)
    times (YUV - ``offset``), chroma upsampled x2 bilinearly."""
    y, u, v = (np.ascontiguousarray(p, np.uint8) for p in (y, u, v))
    h, w = y.shape
    if u.shape != ((h + 1) // 2, (w + 1) // 2) or v.shape != u.shape:
        raise ValueError(f"chroma planes must be {((h + 1) // 2, (w + 1) // 2)}, got {u.shape} and {v.shape}")
    rgb = np.empty((3, h, w), np.float32)
    _check(lib.cvsr_yuv420_to_rgb(_u8(y), _u8(u), _u8(v), h, w, ffi.from_buffer("float[]", matrix),
                                  ffi.from_buffer("float[]", offset), ffi.cast("float *", rgb.ctypes.data)),
           "yuv420_to_rgb")
    return rgb
