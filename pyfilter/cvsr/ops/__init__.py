"""Ops for cvsr models: motion-compensated warping, sparse convolution, the fed-back detail and output of a
recurrent step, and the degradation (blur + decimation).

Each public op has a plain reference (``*_ref``) it is tested against. CUDA kernels (CuPy) are used
for CUDA tensors when CuPy is installed; CuPy is imported lazily, only then. C kernels (libcvsr,
``_cpu``) are used for float32 CPU tensors when no gradient is needed.
"""
from .degrade import degrade_tensor
from .frame import feedback_detail, feedback_detail_ref, hr_flow, upsample_add, upsample_add_ref
from .sparse_conv import (ActiveSet, Neighbours, ResblockPlan, dilate_mask, resblocks_ref, sparse_conv, sparse_conv_ref,
                          sparse_resblocks)
from .warp import warp, warp_ref

__all__ = ["warp", "warp_ref", "sparse_conv", "sparse_conv_ref", "sparse_resblocks", "resblocks_ref",
           "ActiveSet", "Neighbours", "ResblockPlan", "dilate_mask", "degrade_tensor", "feedback_detail",
           "feedback_detail_ref", "hr_flow", "upsample_add", "upsample_add_ref"]
