"""YUV 4:2:0 <-> RGB in torch, BT.601 limited range (the training data's convention).

Same arithmetic as ``cvsr.data.color`` (which builds the training pairs), on the
model's device: chroma is upsampled bilinearly with sample centres at
``2 i + 0.5`` (weights 3/4, 1/4, edge samples repeated) and downsampled by
averaging 2x2 blocks.  Odd luma sizes are handled by repeating the last
row/column of the chroma grid and cropping.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["yuv420_to_rgb", "rgb_to_yuv420"]

_RGB_TO_YCC = torch.tensor([[65.481, 128.553, 24.966],
                            [-37.797, -74.203, 112.0],
                            [112.0, -93.786, -18.214]], dtype=torch.float64) / 255.0
_YCC_OFFSET = torch.tensor([16.0, 128.0, 128.0], dtype=torch.float64)
_YCC_TO_RGB = torch.linalg.inv(_RGB_TO_YCC)


def _upsample2(plane: torch.Tensor) -> torch.Tensor:
    """(n, c, h, w) -> (n, c, 2h, 2w), bilinear with 3/4, 1/4 weights."""
    p = F.pad(plane, (1, 1, 1, 1), mode="replicate")
    rows = torch.stack((0.75 * p[:, :, 1:-1] + 0.25 * p[:, :, :-2],
                        0.75 * p[:, :, 1:-1] + 0.25 * p[:, :, 2:]), dim=3)
    rows = rows.flatten(2, 3)                                   # (n, c, 2h, w + 2)
    cols = torch.stack((0.75 * rows[..., 1:-1] + 0.25 * rows[..., :-2],
                        0.75 * rows[..., 1:-1] + 0.25 * rows[..., 2:]), dim=-1)
    return cols.flatten(-2, -1)


def yuv420_to_rgb(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Y (h, w), U and V (ceil(h/2), ceil(w/2)) uint8 -> (1, 3, h, w) RGB in [0, 1]."""
    h, w = y.shape
    calc = torch.float64 if dtype == torch.float64 else torch.float32
    chroma = torch.stack((u, v))[None].to(calc)
    chroma = _upsample2(chroma)[0, :, :h, :w]
    ycc = torch.cat((y[None].to(calc), chroma)) - _YCC_OFFSET.to(y.device, calc)[:, None, None]
    rgb = torch.einsum("ij,jhw->ihw", _YCC_TO_RGB.to(y.device, calc), ycc)
    return (rgb / 255.0).clamp_(0.0, 1.0)[None].to(dtype)


def rgb_to_yuv420(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(1, 3, h, w) RGB in [0, 1] -> Y (h, w), U, V (ceil(h/2), ceil(w/2)) uint8."""
    _, _, h, w = rgb.shape
    calc = torch.float64 if rgb.dtype == torch.float64 else torch.float32
    rgb = rgb[0].to(calc).clamp(0.0, 1.0) * 255.0
    ycc = torch.einsum("ij,jhw->ihw", _RGB_TO_YCC.to(rgb.device, calc), rgb)
    ycc = ycc + _YCC_OFFSET.to(rgb.device, calc)[:, None, None]
    luma = ycc[0].round().clamp_(0, 255).to(torch.uint8)
    chroma = ycc[1:][None]
    if h % 2 or w % 2:
        chroma = F.pad(chroma, (0, w % 2, 0, h % 2), mode="replicate")
    chroma = F.avg_pool2d(chroma, 2)[0].round().clamp_(0, 255).to(torch.uint8)
    return luma, chroma[0], chroma[1]
