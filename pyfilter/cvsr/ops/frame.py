"""Frame-level ops around a recurrent step's convolutions: the fed-back detail (the previous output aligned
by the motion field, minus the upsampled LR frame, folded into LR channels) and the step's output (the
network's residual unfolded onto the upsampled LR frame).

On the CPU without autograd (inference) both run as one pass of a C kernel each (``cvsr.ops._cpu``,
native/src/kernels.c) when the upsampling is bilinear: torch runs them as five to six separate kernels
over 1280x720 frames (a dense HR flow built by repeat_interleave, grid_sample, interpolate, subtract,
pixel_unshuffle), which on the 2-core CPU cost more than the whole OpenVINO trunk of ``ciaf-lite``;
OpenVINO measured no faster on them. Elsewhere (training, CUDA, fp16, bicubic) the torch compositions
run; they are the references (``*_ref``) the kernels are tested against.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import _cpu
from .warp import warp, warp_ref

__all__ = ["hr_flow", "feedback_detail", "feedback_detail_ref", "upsample_add", "upsample_add_ref"]


def hr_flow(mv_field: torch.Tensor, scale: int) -> torch.Tensor:
    """An LR motion field (n, h, w, 2) as an HR one (n, s h, s w, 2): each vector repeated over its s x s
    block and multiplied by s (exact for block-constant codec motion)."""
    return mv_field.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2) * scale


def _upsample(lr: torch.Tensor, scale: int, mode: str) -> torch.Tensor:
    return F.interpolate(lr, scale_factor=scale, mode=mode, align_corners=False)


def _feedback_detail(hr, lr, mv_field, scale, mode, warp_fn):
    hr_prop = hr if mv_field is None else warp_fn(hr, hr_flow(mv_field, scale))
    lr_up = _upsample(lr, scale, mode)
    return F.pixel_unshuffle(hr_prop.to(lr_up.dtype) - lr_up, scale)


def feedback_detail(hr: torch.Tensor, lr: torch.Tensor, mv_field: torch.Tensor | None, scale: int,
                    mode: str = "bilinear") -> torch.Tensor:
    """``pixel_unshuffle(warp(hr, hr_flow(mv_field)) - upsample(lr), scale)``.

    hr: (n, c, s h, s w) previous output; lr: (n, c, h, w) current frame; mv_field: (n, h, w, 2) LR pixels
    (``cvsr.ops.warp``'s convention) or None for no motion; mode: "bilinear" or "bicubic" upsampling
    (half-pixel centres). Returns (n, c s^2, h, w) in lr's dtype.
    """
    if mode == "bilinear" and _cpu.usable(hr, lr, *(() if mv_field is None else (mv_field,))):
        return _cpu.feedback_detail(hr, lr, mv_field, scale)
    return _feedback_detail(hr, lr, mv_field, scale, mode, warp)


def feedback_detail_ref(hr, lr, mv_field, scale: int, mode: str = "bilinear") -> torch.Tensor:
    """Reference of ``feedback_detail`` (torch, ``warp_ref``)."""
    return _feedback_detail(hr, lr, mv_field, scale, mode, warp_ref)


def upsample_add(res: torch.Tensor, lr: torch.Tensor, scale: int, mode: str = "bilinear") -> torch.Tensor:
    """``pixel_shuffle(res, scale) + upsample(lr)``: res (n, c s^2, h, w), lr (n, c, h, w) -> (n, c, s h, s w)
    in res's dtype."""
    if mode == "bilinear" and _cpu.usable(res, lr):
        return _cpu.upsample_add(res, lr, scale)
    return upsample_add_ref(res, lr, scale, mode)


def upsample_add_ref(res, lr, scale: int, mode: str = "bilinear") -> torch.Tensor:
    """Reference of ``upsample_add`` (torch)."""
    return F.pixel_shuffle(res, scale).add_(_upsample(lr, scale, mode).to(res.dtype))
