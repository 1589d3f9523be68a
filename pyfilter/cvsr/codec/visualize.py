"""Pictures of what the decoder exported: motion field colours, residual magnitude, block types.

All functions are vectorised numpy on (h, w, ...) arrays and return uint8 RGB images.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..color import YCC_OFFSET, YCC_TO_RGB
from .info import BLOCK_INTRA, BLOCK_SKIP

__all__ = ["flow_to_rgb", "residual_to_rgb", "block_type_to_rgb", "frame_panels", "write_png"]


def flow_to_rgb(flow: np.ndarray, valid: np.ndarray | None = None, max_magnitude: float | None = None) -> np.ndarray:
    """(h, w, 2) flow in pixels -> (h, w, 3) uint8: hue = direction, brightness = magnitude.

    Pixels where ``valid`` is False (no motion: intra blocks) are black.
    ``max_magnitude`` saturates the scale (default: the 99th percentile of the valid magnitudes).
    """
    fx, fy = flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32)
    mag = np.hypot(fx, fy)
    if valid is None:
        valid = np.ones(mag.shape, bool)
    if max_magnitude is None:
        max_magnitude = float(np.percentile(mag[valid], 99)) if valid.any() else 1.0
    value = np.clip(mag / max(max_magnitude, 1e-6), 0, 1) * 0.8 + 0.2   # zero motion stays visible (grey)
    hue = (np.arctan2(-fy, -fx) / (2 * np.pi)) % 1.0                     # direction of motion (ref -> cur)
    sat = np.clip(mag / max(max_magnitude, 1e-6) * 4, 0, 1)
    rgb = _hsv_to_rgb(hue, sat, value)
    rgb[~valid] = 0
    return (rgb * 255 + 0.5).astype(np.uint8)


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    i = np.floor(h * 6).astype(np.int32) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    choices = [np.stack(c, -1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))]
    return np.choose(i[..., None], choices)


def residual_to_rgb(residual: np.ndarray, scale: float | None = None) -> np.ndarray:
    """(h, w) int16 residual -> (h, w, 3) uint8 heat map of |residual| (black: none coded)."""
    mag = np.abs(residual.astype(np.float32))
    if scale is None:
        nz = mag[mag > 0]
        scale = float(np.percentile(nz, 99)) if nz.size else 1.0
    x = np.clip(mag / max(scale, 1e-6), 0, 1)
    # black -> red -> yellow -> white
    rgb = np.stack([np.clip(3 * x, 0, 1), np.clip(3 * x - 1, 0, 1), np.clip(3 * x - 2, 0, 1)], -1)
    return (rgb * 255 + 0.5).astype(np.uint8)


def block_type_to_rgb(block_type: np.ndarray) -> np.ndarray:
    """(h, w) block types -> colours: intra red, inter blue, skip grey."""
    palette = np.zeros((256, 3), np.uint8)
    palette[:] = (40, 90, 200)
    palette[BLOCK_INTRA] = (200, 50, 40)
    palette[BLOCK_SKIP] = (110, 110, 110)
    return palette[block_type]


def _yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """BT.601 limited range planar YUV (any chroma subsampling) -> (h, w, 3) uint8 (for display only:
    nearest-neighbour chroma; the conversions that feed the models are in ``cvsr.color``)."""
    h, w = y.shape
    sy, sx = -(-h // u.shape[0]), -(-w // u.shape[1])                   # chroma subsampling
    up = lambda c: np.repeat(np.repeat(c, sy, 0), sx, 1)[:h, :w]        # noqa: E731
    ycc = np.stack([y, up(u), up(v)], -1).astype(np.float32) - YCC_OFFSET.astype(np.float32)
    rgb = ycc @ (YCC_TO_RGB * 255).T.astype(np.float32)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def frame_panels(frame) -> np.ndarray:
    """(h, 3w + 2 gaps, 3) uint8: the frame | its motion field | |luma residual|.

    The motion panel shows list 0 where a block uses it, else list 1 (B blocks
    predicted from the future only); intra blocks are black.
    """
    info = frame.codec_info
    if info is None:
        raise ValueError("this frame has no codec info (export off, or a codec without the export)")
    image = frame.rgb if len(frame.planes) == 1 else _yuv_to_rgb(frame.y, frame.u, frame.v)
    flow0, valid0 = info.mv_field(0), info.mv_mask(0)
    flow1, valid1 = info.mv_field(1), info.mv_mask(1)
    flow = np.where(valid0[..., None], flow0, flow1)
    motion = flow_to_rgb(flow, valid0 | valid1)
    residual = info.residual_cropped(0)
    res = residual_to_rgb(residual) if residual is not None else np.zeros_like(image)
    gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([image, gap, motion, gap, res], axis=1)


def write_png(path: Path, rows: list[np.ndarray], labels: list[str] | None = None) -> Path:
    """Stack panel rows vertically (with an optional caption above each) and save a PNG."""
    from PIL import Image, ImageDraw

    width = max(r.shape[1] for r in rows)
    parts = []
    for i, row in enumerate(rows):
        if labels:
            caption = Image.new("RGB", (width, 18), (255, 255, 255))
            ImageDraw.Draw(caption).text((4, 3), labels[i], fill=(0, 0, 0))
            parts.append(np.asarray(caption))
        pad = np.full((row.shape[0], width - row.shape[1], 3), 255, np.uint8)
        parts.append(np.concatenate([row, pad], axis=1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(parts, axis=0)).save(path)
    return path
