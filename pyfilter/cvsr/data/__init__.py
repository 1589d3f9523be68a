"""Training and evaluation data: sources, synthetic video, the degradation, encoding, shards.

``degrade(hr) -> lr`` is the public degradation the models are trained for (Gaussian
blur sigma 1.5, x4 decimation; see ``cvsr.data.degradation`` for kernel and phase).
The codec step that follows is ``cvsr.data.encode.encode`` (libx264, low delay).
"""
from cvsr.data.degradation import SCALE, degrade, degrade_tensor

__all__ = ["SCALE", "degrade", "degrade_tensor"]
