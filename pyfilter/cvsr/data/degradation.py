"""The degradation the cvsr models are trained for, on uint8 frames (CIAF supplementary 1.2).

HR -> Gaussian blur (sigma 1.5) -> x4 decimation -> round to uint8.  The codec
step (libx264, low delay) comes after this and lives in ``cvsr.data.encode``.
The kernel, its sampling phase and the float version live in ``cvsr.ops.degrade``.
"""
from __future__ import annotations

import numpy as np
import torch

from cvsr.ops.degrade import SCALE, SIGMA, TAPS, degrade_tensor, gaussian_taps

__all__ = ["SCALE", "SIGMA", "TAPS", "gaussian_taps", "degrade_tensor", "degrade"]


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
