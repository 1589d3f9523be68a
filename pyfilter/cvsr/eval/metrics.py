"""Y-PSNR and SSIM on BT.601 luma, the convention of the VSR literature.

Both take RGB frames (uint8 or float in [0, 255]), convert them to luma with
``cvsr.color.rgb_to_y`` (Y in [16, 235]) and crop ``border`` pixels from
every side first (default ``BORDER`` = 8 HR pixels = 2 LR pixels: where the
padding of convolutions and warps at the frame edge shows).
PSNR uses peak 255; identical inputs give ``inf``.  SSIM is Wang et al. (2004):
11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, computed over
the window positions that lie fully inside the (cropped) image, then averaged.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from cvsr.color import rgb_to_y

BORDER = 8


def _luma(rgb: np.ndarray, border: int) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB frame, got shape {rgb.shape}")
    y = rgb_to_y(rgb)
    if border:
        if min(y.shape) <= 2 * border:
            raise ValueError(f"frame {y.shape} too small for a {border}-pixel border crop")
        y = y[border:-border, border:-border]
    return y


def psnr_y(a: np.ndarray, b: np.ndarray, border: int = BORDER) -> float:
    """Y-PSNR in dB between two RGB frames of the same size."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"frame sizes differ: {np.shape(a)} vs {np.shape(b)}")
    mse = float(np.mean((_luma(a, border) - _luma(b, border)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def temporal_error(sr: np.ndarray, gt: np.ndarray, border: int = BORDER) -> float:
    """Mean |(Y_sr[t] - Y_sr[t-1]) - (Y_gt[t] - Y_gt[t-1])| over frames t >= 1 and pixels (8-bit luma levels):
    change between consecutive frames that the ground truth does not have (flicker), 0 for a perfect result.
    sr, gt: (t, H, W, 3) RGB, t >= 2."""
    if len(sr) != len(gt) or len(sr) < 2:
        raise ValueError(f"need two equally long clips of at least 2 frames, got {len(sr)} and {len(gt)}")
    total, prev = 0.0, None
    for a, b in zip(sr, gt):
        cur = _luma(a, border) - _luma(b, border)   # error; its change over time is the flicker
        if prev is not None:
            total += float(np.mean(np.abs(cur - prev)))
        prev = cur
    return total / (len(sr) - 1)


def _gaussian_taps(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    g = torch.exp(-0.5 * ((torch.arange(size, dtype=torch.float64) - (size - 1) / 2) / sigma) ** 2)
    return g / g.sum()


def _window(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 11x11 Gaussian filter, valid positions only."""
    return F.conv2d(F.conv2d(x, g.view(1, 1, -1, 1)), g.view(1, 1, 1, -1))


def ssim_luma(ya: np.ndarray, yb: np.ndarray) -> float:
    """SSIM of two float luma planes in [0, 255] (no crop, no conversion)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = _gaussian_taps()
    a = torch.from_numpy(np.ascontiguousarray(ya, dtype=np.float64))[None, None]
    b = torch.from_numpy(np.ascontiguousarray(yb, dtype=np.float64))[None, None]
    mu_a, mu_b = _window(a, g), _window(b, g)
    var_a = _window(a * a, g) - mu_a ** 2
    var_b = _window(b * b, g) - mu_b ** 2
    cov = _window(a * b, g) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(s.mean())


def ssim_y(a: np.ndarray, b: np.ndarray, border: int = BORDER) -> float:
    """SSIM on BT.601 luma between two RGB frames of the same size."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"frame sizes differ: {np.shape(a)} vs {np.shape(b)}")
    return ssim_luma(_luma(a, border), _luma(b, border))
