"""Ops for cvsr models: motion-compensated warping, sparse convolution and the degradation (blur + decimation).

Each public op has a plain reference (``*_ref``) it is tested against. CUDA kernels (CuPy) are used
for CUDA tensors when CuPy is installed; CuPy is imported lazily, only then.
"""
from .degrade import degrade_tensor
from .sparse_conv import (ActiveSet, Neighbours, ResblockPlan, dilate_mask, resblocks_ref, sparse_conv, sparse_conv_ref,
                          sparse_resblocks)
from .warp import warp, warp_ref

__all__ = ["warp", "warp_ref", "sparse_conv", "sparse_conv_ref", "sparse_resblocks", "resblocks_ref",
           "ActiveSet", "Neighbours", "ResblockPlan", "dilate_mask", "degrade_tensor"]
