"""The degradation the cvsr models are trained for (CIAF supplementary 1.2).

HR -> Gaussian blur (sigma 1.5) -> x4 decimation -> round to uint8.  The codec
step (libx264, low delay) comes after this and lives in ``cvsr.data.encode``.

Kernel and sampling phase
-------------------------
The blur is separable, 12 taps per axis, sampled from a Gaussian with
sigma = 1.5 HR pixels at offsets -5.5, -4.5, ..., +5.5 from its centre and
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

import math

import numpy as np
import torch
import torch.nn.functional as F

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
                   taps: int = TAPS) -> torch.Tensor:
    """Blur and decimate float frames.

    hr: (..., c, H, W) float, H and W multiples of ``scale``.
    Returns (..., c, H / scale, W / scale), same dtype, not rounded.
    """
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


def degrade(hr: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Public degradation: HR frames -> LR frames (before the codec).

    hr: uint8 array or tensor, (H, W, 3) or (t, H, W, 3), RGB, H and W multiples of 4.
    Returns the same container type, uint8, (h, w, 3) or (t, h, w, 3) with
    h = H / 4, w = W / 4 (see the module docstring for kernel and phase).
    """
    is_numpy = isinstance(hr, np.ndarray)
    x = torch.from_numpy(np.require(hr, requirements=("C", "W"))) if is_numpy else hr
    if x.dtype != torch.uint8:
        raise ValueError(f"degrade expects uint8 frames, got {x.dtype}; use degrade_tensor for floats")
    if x.dim() not in (3, 4) or x.shape[-1] != 3:
        raise ValueError(f"hr must be (H, W, 3) or (t, H, W, 3), got shape {tuple(x.shape)}")
    lr = degrade_tensor(x.movedim(-1, -3).float())
    lr = lr.round_().clamp_(0, 255).to(torch.uint8).movedim(-3, -1).contiguous()
    return lr.numpy() if is_numpy else lr
