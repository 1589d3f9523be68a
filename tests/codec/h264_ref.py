"""Independent numpy model of H.264 inter prediction, to check the codec-info export against.

Written from the H.264 spec (8.4.2.2: fractional sample interpolation), not from
FFmpeg: luma with the 6-tap filter (1, -5, 20, 20, -5, 1) at half positions and
rounded averages at quarter positions; 4:2:0 chroma with the bilinear 1/8 filter.
Samples outside the reference picture repeat the nearest edge sample.  Weighted
prediction is not modelled (the test clips disable it).

Coordinates: ``xs``/``ys`` are integer sample positions in the current picture,
``mv`` is in quarter luma samples (x right, y down) and points into the reference.
"""
from __future__ import annotations

import numpy as np


def _clip8(a: np.ndarray) -> np.ndarray:
    return np.clip(a, 0, 255)


def _tap6(s) -> np.ndarray:
    a, b, c, d, e, f = s
    return a - 5 * b + 20 * c + 20 * d - 5 * e + f


def luma_mc(ref: np.ndarray, xs: np.ndarray, ys: np.ndarray, mvx: np.ndarray, mvy: np.ndarray) -> np.ndarray:
    """Luma prediction of the samples (xs, ys) from ``ref`` (h, w) uint8 with quarter-sample vectors."""
    h, w = ref.shape
    r = ref.astype(np.int32)
    x0, y0 = xs + (mvx >> 2), ys + (mvy >> 2)
    fx, fy = mvx & 3, mvy & 3

    def g(dx, dy):  # integer sample G at offset (dx, dy), edges repeated
        return r[np.clip(y0 + dy, 0, h - 1), np.clip(x0 + dx, 0, w - 1)]

    def b1(dy):  # unscaled horizontal half sample in row dy
        return _tap6([g(dx, dy) for dx in range(-2, 4)])

    def h1(dx):  # unscaled vertical half sample in column dx
        return _tap6([g(dx, dy) for dy in range(-2, 4)])

    G = g(0, 0)
    b = _clip8((b1(0) + 16) >> 5)   # (1/2, 0)
    s = _clip8((b1(1) + 16) >> 5)   # (1/2, 1)
    hh = _clip8((h1(0) + 16) >> 5)  # (0, 1/2)
    m = _clip8((h1(1) + 16) >> 5)   # (1, 1/2)
    j = _clip8((_tap6([b1(dy) for dy in range(-2, 4)]) + 512) >> 10)  # (1/2, 1/2)

    def avg(p, q):
        return (p + q + 1) >> 1

    table = {
        (0, 0): G, (1, 0): avg(G, b), (2, 0): b, (3, 0): avg(b, g(1, 0)),
        (0, 1): avg(G, hh), (1, 1): avg(b, hh), (2, 1): avg(b, j), (3, 1): avg(b, m),
        (0, 2): hh, (1, 2): avg(hh, j), (2, 2): j, (3, 2): avg(j, m),
        (0, 3): avg(hh, g(0, 1)), (1, 3): avg(hh, s), (2, 3): avg(j, s), (3, 3): avg(s, m),
    }
    out = np.empty_like(G)
    for (cx, cy), value in table.items():
        sel = (fx == cx) & (fy == cy)
        out[sel] = value[sel]
    return out


def chroma_mc(ref: np.ndarray, xs: np.ndarray, ys: np.ndarray, mvx: np.ndarray, mvy: np.ndarray) -> np.ndarray:
    """4:2:0 chroma prediction of the chroma samples (xs, ys); the luma vector is in 1/8 chroma samples."""
    h, w = ref.shape
    r = ref.astype(np.int32)
    x0, y0 = xs + (mvx >> 3), ys + (mvy >> 3)
    fx, fy = mvx & 7, mvy & 7

    def g(dx, dy):
        return r[np.clip(y0 + dy, 0, h - 1), np.clip(x0 + dx, 0, w - 1)]

    return ((8 - fx) * (8 - fy) * g(0, 0) + fx * (8 - fy) * g(1, 0)
            + (8 - fx) * fy * g(0, 1) + fx * fy * g(1, 1) + 32) >> 6


def inter_samples(info, plane: int, inter: np.ndarray):
    """(ys, xs, bys, bxs): the samples of plane ``plane`` (4:2:0 chroma) covered by the 4x4 luma blocks selected
    by ``inter`` (blocks_h, blocks_w) bool, and the block of each."""
    sub = 1 if plane == 0 else 2
    cell = info.block_size // sub
    height, width = info.blocks_h * cell, info.blocks_w * cell
    yy, xx = np.mgrid[0:height, 0:width]
    by, bx = yy // cell, xx // cell
    sel = inter[by, bx]
    return yy[sel], xx[sel], by[sel], bx[sel]


def predict_lists(info, planes_by_decode_index: dict, plane: int, samples, mc):
    """Per list: (prediction of each sample by ``mc(ref_plane, xs, ys, mvx, mvy)`` from the picture its block
    references, whether the block uses the list); ``samples`` as ``inter_samples`` gives them."""
    ys, xs, bys, bxs = samples
    out = []
    for lst in (0, 1):
        pred = np.zeros(ys.shape, np.int32)
        use = np.zeros(ys.shape, bool)
        ref_idx = info.ref_idx(lst)
        if ref_idx is not None:
            ref = ref_idx[bys, bxs]
            mv = info.mv(lst)[bys, bxs].astype(np.int32)
            for r in np.unique(ref[ref >= 0]):
                on = ref == r
                src = planes_by_decode_index[int(info.ref_decode_index[lst][r])][plane]
                pred[on] = mc(src, xs[on], ys[on], mv[on, 0], mv[on, 1])
            use = ref >= 0
        out.append((pred, use))
    return out


def predict_inter(info, planes_by_decode_index: dict, plane: int, inter: np.ndarray):
    """Prediction of plane ``plane`` for the blocks selected by ``inter`` (blocks_h, blocks_w) bool.

    Returns (ys, xs, pred): the sample coordinates covered by those blocks in
    that plane and the (bi-)prediction there (int32).  ``planes_by_decode_index``
    maps a decode index to the (y, u, v) planes of that decoded picture.
    """
    ys, xs, bys, bxs = inter_samples(info, plane, inter)
    (p0, use0), (p1, use1) = predict_lists(info, planes_by_decode_index, plane, (ys, xs, bys, bxs),
                                           luma_mc if plane == 0 else chroma_mc)
    pred = np.where(use0 & use1, (p0 + p1 + 1) >> 1, np.where(use0, p0, p1))
    return ys, xs, bys, bxs, pred
