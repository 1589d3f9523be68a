"""What the model needs from one frame's codec info: flow to the previous frame and residual mask.

The recurrent state always comes from the frame processed just before, the
previous frame in *decode* order.  The flow handed to the model must point from
the current frame into that frame.  Per 4x4 block:

1. a list (0 first, then 1) whose reference *is* the previous decoded frame:
   its motion vector, as is;
2. else list 0's vector (then list 1's), scaled by POC distance,
   ``mv * (poc_cur - poc_prev) / (poc_cur - poc_ref)`` (constant motion
   assumed; the same rule as H.264's temporal direct mode);
3. else (intra, or a reference with the same POC) zero motion.

Vectors are converted from quarter samples to pixels.  The flow convention is
``cvsr.ops.warp``'s: ``out(x, y) = prev(x + fx, y + fy)``.

The residual mask marks luma pixels where the decoder coded a residual (the
model's sparse path recomputes only there).  Both are cropped to the output
frame with the codec info's crop offsets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..codec.info import BLOCK_INTRA, rasterize

__all__ = ["PrevFrame", "Alignment", "align_to_previous"]

@dataclass(frozen=True)
class PrevFrame:
    """Identity of the previously processed frame."""

    decode_index: int
    poc: int


@dataclass
class Alignment:
    flow: np.ndarray            # (h, w, 2) float32 pixels, into the previous decoded frame
    residual_mask: np.ndarray | None  # (h, w) bool, residual != 0; None when not asked for
    aligned_fraction: float     # share of blocks with a usable vector (diagnostics)


def _per_block(table: np.ndarray, idx: np.ndarray, unused) -> np.ndarray:
    """Look up a per-list-entry table (ref POCs) for each block's ref_idx; ``unused`` where idx < 0."""
    return np.append(np.asarray(table), unused)[np.where(idx >= 0, idx, -1)]


def _block_flow(info, prev: PrevFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-block (bh, bw, 2) flow in quarter samples (float32) and a (bh, bw) 'has motion' mask."""
    bh, bw = info.blocks_h, info.blocks_w
    flow = np.zeros((bh, bw, 2), np.float32)
    done = np.zeros((bh, bw), bool)
    block_type = info.block_type
    inter = np.ones((bh, bw), bool) if block_type is None else block_type != BLOCK_INTRA
    lists = [L for L in (0, 1) if info.nb_refs[L] > 0 and info.ref_idx(L) is not None and info.mv(L) is not None]

    # 1. a direct reference to the previous decoded frame
    for L in lists:
        hit = inter & ~done & (info.ref_ids(L) == prev.decode_index)
        flow[hit] = info.mv(L)[hit]
        done |= hit
    # 2. another reference: scale by POC distance
    for L in lists:
        idx = info.ref_idx(L)
        dist_ref = info.poc - _per_block(info.ref_poc[L], idx, info.poc)
        ok = inter & ~done & (idx >= 0) & (dist_ref != 0)
        if ok.any():
            factor = np.float32(info.poc - prev.poc) / np.where(ok, dist_ref, 1).astype(np.float32)
            flow[ok] = info.mv(L)[ok] * factor[ok, None]
            done |= ok
    return flow, done


def align_to_previous(info, prev: PrevFrame | None, width: int, height: int, residual: bool = True) -> Alignment:
    """Flow into ``prev`` and residual mask (unless ``residual`` is false: dense models) of the
    (width x height) output frame.

    ``info`` is the reader's view of one AVCodecInfo (``cvsr.codec.info.CodecInfo``) parsed
    with this width and height.  Without
    a previous frame (first frame, I-frame) the flow is zero.
    """
    bs = info.block_size
    x0, y0 = info.crop_left, info.crop_top
    if prev is None:
        flow = np.zeros((height, width, 2), np.float32)
        fraction = 0.0
    else:
        block_flow, done = _block_flow(info, prev)
        fraction = float(done.mean()) if done.size else 0.0
        flow = rasterize(block_flow * np.float32(0.25), bs, x0, y0, width, height)
    mask = None
    if residual:
        plane = info.residual_cropped(0)
        mask = np.ascontiguousarray(np.ones((height, width), bool) if plane is None else plane != 0)
    return Alignment(np.ascontiguousarray(flow, np.float32), mask, fraction)
