"""BT.601 limited-range colour: the one home of the conversion constants and the reference conversions.

Y'CbCr in 8-bit levels from R, G, B in [0, 1] (ITU-R BT.601, the convention of SR papers' Y-PSNR):

    Y  =  16 + 65.481 R + 128.553 G + 24.966 B
    Cb = 128 − 37.797 R −  74.203 G + 112.0  B
    Cr = 128 + 112.0  R −  93.786 G − 18.214 B

4:2:0 convention (the training data's, and the filter's): chroma is the 2x2 mean going down, bilinear x2 with
sample centres at ``2 i + 0.5`` (weights 3/4, 1/4, edge samples repeated) going up.

The functions here are the float64 references, used to build the training pairs (``cvsr.data``) and for the
metrics (``rgb_to_y``). The host's fast paths (``cvsr.host.color``: torch for CUDA, float32 numpy for the CPU)
and the display conversion of ``cvsr.codec.visualize`` use these constants and are tested against these
functions.
"""
from __future__ import annotations

import numpy as np

__all__ = ["RGB_TO_YCC", "YCC_OFFSET", "YCC_TO_RGB", "rgb_to_y", "rgb_to_yuv420", "yuv420_to_rgb"]

RGB_TO_YCC = np.array([[65.481, 128.553, 24.966],
                       [-37.797, -74.203, 112.0],
                       [112.0, -93.786, -18.214]], dtype=np.float64)   # RGB in [0, 1] -> levels - offset
YCC_OFFSET = np.array([16.0, 128.0, 128.0])
YCC_TO_RGB = np.linalg.inv(RGB_TO_YCC)                                  # levels - offset -> RGB in [0, 1]

# the same map for RGB in [0, 255] (the uint8 references below)
_RGB_TO_YCC = RGB_TO_YCC / 255.0
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC)


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 or float in [0, 255] RGB -> (...) float64 luma in [16, 235]."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return rgb @ _RGB_TO_YCC[0] + 16.0


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h, w, 3) uint8 RGB, h and w even -> Y (h, w), U (h/2, w/2), V (h/2, w/2) uint8."""
    h, w, _ = rgb.shape
    if h % 2 or w % 2:
        raise ValueError(f"4:2:0 needs an even frame size, got {w}x{h}")
    ycc = rgb.astype(np.float64) @ _RGB_TO_YCC.T + YCC_OFFSET
    y = np.clip(np.rint(ycc[..., 0]), 0, 255).astype(np.uint8)
    chroma = ycc[..., 1:].reshape(h // 2, 2, w // 2, 2, 2).mean(axis=(1, 3))
    chroma = np.clip(np.rint(chroma), 0, 255).astype(np.uint8)
    return y, chroma[..., 0].copy(), chroma[..., 1].copy()


def _upsample2(plane: np.ndarray) -> np.ndarray:
    """Bilinear x2 with sample centres at (2i + 0.5), matching the box-averaged chroma."""
    p = np.pad(plane.astype(np.float64), 1, mode="edge")
    # output 2i uses 0.75 * p[i] + 0.25 * p[i-1]; output 2i+1 uses 0.75 * p[i] + 0.25 * p[i+1]
    rows = np.empty((2 * plane.shape[0], p.shape[1]))
    rows[0::2] = 0.75 * p[1:-1] + 0.25 * p[:-2]
    rows[1::2] = 0.75 * p[1:-1] + 0.25 * p[2:]
    out = np.empty((rows.shape[0], 2 * plane.shape[1]))
    out[:, 0::2] = 0.75 * rows[:, 1:-1] + 0.25 * rows[:, :-2]
    out[:, 1::2] = 0.75 * rows[:, 1:-1] + 0.25 * rows[:, 2:]
    return out


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Y (h, w), U, V (h/2, w/2) uint8 limited range -> (h, w, 3) uint8 RGB."""
    if u.shape != v.shape or (2 * u.shape[0], 2 * u.shape[1]) != y.shape:
        raise ValueError(f"plane sizes do not form 4:2:0: Y {y.shape}, U {u.shape}, V {v.shape}")
    ycc = np.stack([y.astype(np.float64), _upsample2(u), _upsample2(v)], axis=-1) - YCC_OFFSET
    rgb = ycc @ _YCC_TO_RGB.T
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
