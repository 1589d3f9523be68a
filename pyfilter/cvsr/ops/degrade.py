"""Blur and decimation: the degradation the cvsr models are trained for (CIAF supplementary 1.2).

HR -> Gaussian blur (sigma 1.5) -> x4 decimation.  ``cvsr.data.degradation`` rounds the result to uint8
frames for the codec; the models use it to keep a reused output consistent with the current LR frame
(back-projection, ``cvsr.models.ciaf``).

Kernel and sampling phase
-------------------------
The blur is separable, 12 taps per axis (13 for an odd scale, so the kernel stays centred), sampled
from a Gaussian with sigma = 1.5 HR pixels at offsets -5.5, -4.5, ..., +5.5 from its centre and
normalised to sum 1 (the truncated tails weigh under 0.01 %).  An even tap count
centres the kernel between two HR pixels, so LR pixel (i, j) (row, column) is
the weighted sum of HR rows 4i-4 .. 4i+7 and columns 4j-4 .. 4j+7, centred on
HR position (4i + 1.5, 4j + 1.5): the centre of the 4x4 HR block it covers.
This is the grid of area downsampling and of bicubic upsampling with
``align_corners=False`` (FFmpeg's scale filter, PIL, torch), so the bicubic
reference is not shifted against the ground truth.  (BasicSR's ``duf_downsample``
uses 13 taps and samples HR pixel 4i, which shifts LR by 1.5 HR pixels.)
Borders are reflected (``reflect``: HR row -1 is row 1).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["SCALE", "SIGMA", "TAPS", "gaussian_taps", "degrade_tensor"]

SCALE = 4
SIGMA = 1.5
TAPS = 12


def gaussian_taps(sigma: float = SIGMA, taps: int = TAPS) -> torch.Tensor:
    """1-D kernel (taps,) float64, symmetric about (taps - 1) / 2, summing to 1."""
    if taps < 1 or sigma <= 0:
        raise ValueError(f"need taps >= 1 and sigma > 0, got taps={taps} sigma={sigma}")
    offsets = torch.arange(taps, dtype=torch.float64) - (taps - 1) / 2
    k = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return k / k.sum()


def degrade_tensor(hr: torch.Tensor, scale: int = SCALE, sigma: float = SIGMA,
                   taps: int | None = None) -> torch.Tensor:
    """Blur and decimate float frames.

    hr: (..., c, H, W) float, H and W multiples of ``scale``. taps None: ``TAPS`` for an even scale,
    ``TAPS + 1`` for an odd one (the kernel must have the scale's parity to stay centred).
    Returns (..., c, H / scale, W / scale), same dtype, not rounded.
    """
    if taps is None:
        taps = TAPS + scale % 2
    if hr.dim() < 3:
        raise ValueError(f"hr must be (..., c, H, W), got shape {tuple(hr.shape)}")
    *lead, c, h, w = hr.shape
    if h % scale or w % scale:
        raise ValueError(f"HR size {w}x{h} must be a multiple of the scale {scale}")
    k = gaussian_taps(sigma, taps).to(hr.dtype if hr.is_floating_point() else torch.float32)
    x = hr.reshape(-1, 1, h, w).to(k.dtype)
    # Output i of a stride-`scale` conv reads padded samples scale*i .. scale*i+taps-1,
    # centred on padded (taps-1)/2 + scale*i; pad so that this is HR scale*i + (scale-1)/2.
    pad_before = (taps - 1) / 2 - (scale - 1) / 2
    if pad_before != int(pad_before):
        raise ValueError("taps and scale must have the same parity to centre the kernel")
    pad_before = int(pad_before)
    n_out_h, n_out_w = h // scale, w // scale
    pad_after_h = scale * (n_out_h - 1) + taps - h - pad_before
    pad_after_w = scale * (n_out_w - 1) + taps - w - pad_before
    x = F.pad(x, (pad_before, pad_after_w, pad_before, pad_after_h), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, taps), stride=(1, scale))
    x = F.conv2d(x, k.view(1, 1, taps, 1), stride=(scale, 1))
    return x.reshape(*lead, c, n_out_h, n_out_w).to(hr.dtype if hr.is_floating_point() else torch.float32)
