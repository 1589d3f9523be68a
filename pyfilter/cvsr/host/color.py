"""Fast YUV 4:2:0 <-> RGB for the host, BT.601 limited range (constants and references: ``cvsr.color``).

Same arithmetic as the references in ``cvsr.color`` (which build the training pairs), on the
model's device: chroma is upsampled bilinearly with sample centres at
``2 i + 0.5`` (weights 3/4, 1/4, edge samples repeated) and downsampled by
averaging 2x2 blocks.  Odd luma sizes are handled by repeating the last
row/column of the chroma grid and cropping.

The torch versions serve CUDA; on the CPU the host uses the ``*_np`` versions on numpy arrays (C kernels,
same arithmetic in float32; rounding half up instead of half to even).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cvsr.color import RGB_TO_YCC, YCC_OFFSET

from ..ops import _cpu

__all__ = ["yuv420_to_rgb", "rgb_to_yuv420", "yuv420_to_rgb_np", "rgb_to_yuv420_np", "upsample_add_yuv420"]

_RGB_TO_YCC = torch.tensor(RGB_TO_YCC, dtype=torch.float64) / 255.0   # for RGB in [0, 255]
_YCC_OFFSET = torch.tensor(YCC_OFFSET, dtype=torch.float64)
_YCC_TO_RGB = torch.linalg.inv(_RGB_TO_YCC)


def _upsample2(plane: torch.Tensor) -> torch.Tensor:
    """(n, c, h, w) -> (n, c, 2h, 2w), bilinear with 3/4, 1/4 weights and edge samples repeated.

    Exactly ``F.interpolate(..., mode="bilinear", align_corners=False)`` at scale 2: output sample 2i
    sits at source position i - 1/4, 2i + 1 at i + 1/4, positions clamped to the edge.
    """
    return F.interpolate(plane, scale_factor=2, mode="bilinear", align_corners=False)


def _affine(x: torch.Tensor, matrix: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Per-pixel ``matrix @ x + offset`` on (c, h, w): one (k, c) x (c, h*w) matmul."""
    c, h, w = x.shape
    out = torch.addmm(offset.to(x.device, x.dtype)[:, None], matrix.to(x.device, x.dtype), x.reshape(c, h * w))
    return out.view(-1, h, w)


def yuv420_to_rgb(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Y (h, w), U and V (ceil(h/2), ceil(w/2)) uint8 -> (1, 3, h, w) RGB in [0, 1]."""
    h, w = y.shape
    calc = torch.float64 if dtype == torch.float64 else torch.float32
    chroma = _upsample2(torch.stack((u, v))[None].to(calc))[0, :, :h, :w]
    ycc = torch.cat((y[None].to(calc), chroma))
    # rgb / 255 = M^-1 (ycc - offset) / 255
    matrix = _YCC_TO_RGB / 255.0
    rgb = _affine(ycc, matrix, -(matrix @ _YCC_OFFSET))
    return rgb.clamp_(0.0, 1.0)[None].to(dtype)


def rgb_to_yuv420(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(1, 3, h, w) RGB in [0, 1] -> Y (h, w), U, V (ceil(h/2), ceil(w/2)) uint8.

    Chroma is the 2x2 mean of the full-resolution chroma, computed as the chroma of the 2x2 mean RGB
    (the conversion is affine, so both are the same up to float rounding) to skip full-size U and V.
    """
    _, _, h, w = rgb.shape
    calc = torch.float64 if rgb.dtype == torch.float64 else torch.float32
    rgb = rgb[0].to(calc).clamp(0.0, 1.0)
    matrix = _RGB_TO_YCC * 255.0
    luma = _affine(rgb, matrix[:1], _YCC_OFFSET[:1])[0]
    if h % 2 or w % 2:
        rgb = F.pad(rgb[None], (0, w % 2, 0, h % 2), mode="replicate")[0]
    chroma = _affine(F.avg_pool2d(rgb[None], 2)[0], matrix[1:], _YCC_OFFSET[1:])
    luma = luma.round_().clamp_(0, 255).to(torch.uint8)
    chroma = chroma.round_().clamp_(0, 255).to(torch.uint8)
    return luma, chroma[0], chroma[1]


# -- the CPU versions: C kernels (native/src/kernels.c through ``cvsr.ops._cpu``), one pass, rows over
#    torch's thread count (numpy took ~4-8 ms for a 1280x720 output in a dozen passes; torch's element-wise kernels
#    wait for their OpenMP team, which costs a lot on a CPU shared with the model's backend).

_RGB_TO_YCC_F32 = np.ascontiguousarray((_RGB_TO_YCC * 255.0).numpy(), np.float32)
_YCC_TO_RGB_F32 = np.ascontiguousarray((_YCC_TO_RGB / 255.0).numpy(), np.float32)
_YCC_OFFSET_F32 = np.ascontiguousarray(_YCC_OFFSET.numpy(), np.float32)


def yuv420_to_rgb_np(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Y (h, w), U and V (ceil(h/2), ceil(w/2)) uint8 -> (1, 3, h, w) float32 RGB in [0, 1]."""
    return _cpu.yuv420_to_rgb(y, u, v, _YCC_TO_RGB_F32, _YCC_OFFSET_F32)[None]


def rgb_to_yuv420_np(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(1, 3, h, w) float RGB in [0, 1] -> Y (h, w), U, V (ceil(h/2), ceil(w/2)) uint8 (rounding half up)."""
    return _cpu.rgb_to_yuv420(rgb[0], _RGB_TO_YCC_F32, _YCC_OFFSET_F32)


def upsample_add_yuv420(res: torch.Tensor, lr: torch.Tensor, scale: int, mode: str = "bilinear"):
    """``cvsr.ops.upsample_add`` (a step's output, (1, 3, s h, s w)) and that output as Y, U, V uint8 planes:
    returns (hr, (y, u, v)). On the CPU one C pass converts each pair of output rows while they are in the
    cache (the separate conversion re-read the 11 MB of a 1280x720 output); elsewhere the two ops."""
    from ..ops import upsample_add

    if mode == "bilinear" and res.shape[0] == 1 and lr.shape[1] == 3 and _cpu.usable(res, lr):
        return _cpu.upsample_add(res, lr, scale, yuv=(_RGB_TO_YCC_F32, _YCC_OFFSET_F32))
    hr = upsample_add(res, lr, scale, mode)
    if hr.device.type == "cpu":
        return hr, rgb_to_yuv420_np(hr.detach().float().numpy())
    y, u, v = rgb_to_yuv420(hr)
    return hr, (y.cpu().numpy(), u.cpu().numpy(), v.cpu().numpy())
