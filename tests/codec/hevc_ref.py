"""Independent numpy model of HEVC (H.265) inter prediction, to check the codec-info export against.

Written from the H.265 spec, not from FFmpeg:

* 8.5.3.3.3.1 luma sample interpolation: 8-tap filters fL at quarter positions,
  taps at offsets -3..+4; horizontal pass first (``>> shift1``), then the vertical
  pass over the intermediate rows (``>> shift2``); integer positions ``<< shift3``.
* 8.5.3.3.3.2 chroma sample interpolation (4:2:0 only): 4-tap filters fC at
  eighth positions, taps at offsets -1..+2, same shifts and order.
* 8.5.3.3.4.2 default weighted sample prediction: uni-prediction
  ``Clip3(0, 255, (p + offset1) >> shift1)``, bi-prediction
  ``Clip3(0, 255, (p0 + p1 + offset2) >> shift2)`` on the 14-bit intermediates.

8-bit video only (BitDepth 8: shift1 = 0, shift2 = 6, shift3 = 6 for the
interpolation).  Explicit weighted prediction (8.5.3.3.4.3) is not modelled: the
test clips must not use it.  Reference sample coordinates are clamped to the
reference plane (Clip3(0, pic_width - 1, .) / Clip3(0, pic_height - 1, .)), so
the planes passed in must have the coded picture size (no conformance cropping).

Coordinates: ``xs``/``ys`` are integer sample positions in the current picture
(in the plane's own samples), ``mv`` is in quarter luma samples (x right, y down)
and points into the reference.
"""
from __future__ import annotations

import numpy as np

# which samples the blocks cover and which reference each list names: bookkeeping, not prediction
from h264_ref import inter_samples, predict_lists

BIT_DEPTH = 8
SHIFT1 = min(4, BIT_DEPTH - 8)  # 0: after the first (or only) filter pass
SHIFT2 = 6                      # after the second (vertical) pass
SHIFT3 = max(2, 14 - BIT_DEPTH)  # 6: integer positions

# fL[xFrac][i], i = 0..7 applied at offsets -3..+4 (Table 8-11 / equations 8-228..8-230).
LUMA_FILTER = np.array([
    [0, 0, 0, 64, 0, 0, 0, 0],  # unused (integer position), kept so rows index by fraction
    [-1, 4, -10, 58, 17, -5, 1, 0],
    [-1, 4, -11, 40, 40, -11, 4, -1],
    [0, 1, -5, 17, 58, -10, 4, -1],
], np.int32)
LUMA_FIRST_TAP = -3

# fC[xFrac][i], i = 0..3 applied at offsets -1..+2 (Table 8-12).
CHROMA_FILTER = np.array([
    [0, 64, 0, 0],  # unused (integer position)
    [-2, 58, 10, -2],
    [-4, 54, 16, -2],
    [-6, 46, 28, -4],
    [-4, 36, 36, -4],
    [-4, 28, 46, -6],
    [-2, 16, 54, -4],
    [-2, 10, 58, -2],
], np.int32)
CHROMA_FIRST_TAP = -1


def _interp(ref: np.ndarray, xint: np.ndarray, yint: np.ndarray, xfrac: np.ndarray, yfrac: np.ndarray,
            filt: np.ndarray, first: int) -> np.ndarray:
    """predSampleLX (14-bit intermediate) at full-sample (xint, yint) plus fraction (xfrac, yfrac)."""
    h, w = ref.shape
    r = ref.astype(np.int32)
    taps = filt.shape[1]
    out = np.empty(np.shape(xint), np.int32)

    def g(x, y):  # reference sample with Clip3'd coordinates
        return r[np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)]

    def hpass(x, y, fx):  # horizontal filter in row y, unshifted
        c = filt[fx]
        return sum(c[:, i] * g(x + first + i, y) for i in range(taps))

    def vpass(x, y, fy):  # vertical filter in column x, unshifted
        c = filt[fy]
        return sum(c[:, i] * g(x, y + first + i) for i in range(taps))

    # Both fractions zero: the sample itself, scaled to 14 bits.
    sel = (xfrac == 0) & (yfrac == 0)
    out[sel] = g(xint[sel], yint[sel]) << SHIFT3

    # Horizontal only.
    sel = (xfrac != 0) & (yfrac == 0)
    out[sel] = hpass(xint[sel], yint[sel], xfrac[sel]) >> SHIFT1

    # Vertical only.
    sel = (xfrac == 0) & (yfrac != 0)
    out[sel] = vpass(xint[sel], yint[sel], yfrac[sel]) >> SHIFT1

    # Both: horizontal pass on the rows first..first+taps-1, then vertical on those.
    sel = (xfrac != 0) & (yfrac != 0)
    x, y, fx, fy = xint[sel], yint[sel], xfrac[sel], yfrac[sel]
    cy = filt[fy]
    acc = np.zeros(x.shape, np.int32)
    for n in range(taps):
        temp = hpass(x, y + first + n, fx) >> SHIFT1
        acc += cy[:, n] * temp
    out[sel] = acc >> SHIFT2
    return out


def luma_mc(ref: np.ndarray, xs: np.ndarray, ys: np.ndarray, mvx: np.ndarray, mvy: np.ndarray) -> np.ndarray:
    """14-bit luma prediction of the samples (xs, ys) from ``ref`` (h, w) uint8, quarter-sample vectors."""
    xs, ys, mvx, mvy = (np.asarray(a, np.int32) for a in (xs, ys, mvx, mvy))
    return _interp(ref, xs + (mvx >> 2), ys + (mvy >> 2), mvx & 3, mvy & 3, LUMA_FILTER, LUMA_FIRST_TAP)


def chroma_mc(ref: np.ndarray, xs: np.ndarray, ys: np.ndarray, mvx: np.ndarray, mvy: np.ndarray) -> np.ndarray:
    """14-bit 4:2:0 chroma prediction of the chroma samples (xs, ys); the luma vector is in 1/8 chroma samples."""
    xs, ys, mvx, mvy = (np.asarray(a, np.int32) for a in (xs, ys, mvx, mvy))
    return _interp(ref, xs + (mvx >> 3), ys + (mvy >> 3), mvx & 7, mvy & 7, CHROMA_FILTER, CHROMA_FIRST_TAP)


def weighted_default(p0: np.ndarray, p1: np.ndarray, have0: np.ndarray, have1: np.ndarray) -> np.ndarray:
    """8.5.3.3.4.2 default weighted sample prediction of the 14-bit intermediates, to 8 bits."""
    shift1, offset1 = 14 - BIT_DEPTH, 1 << (14 - BIT_DEPTH - 1)
    shift2, offset2 = 15 - BIT_DEPTH, 1 << (15 - BIT_DEPTH - 1)
    uni = np.where(have0, p0, p1)
    pred = np.where(have0 & have1, (p0 + p1 + offset2) >> shift2, (uni + offset1) >> shift1)
    return np.clip(pred, 0, (1 << BIT_DEPTH) - 1).astype(np.int32)


def predict_inter(info, planes_by_decode_index: dict, plane: int, inter: np.ndarray):
    """Prediction of plane ``plane`` for the blocks selected by ``inter`` (blocks_h, blocks_w) bool.

    Returns (ys, xs, bys, bxs, pred): the sample coordinates covered by those
    blocks in that plane, their block coordinates, and the final 8-bit
    (bi-)prediction there (int32).  ``planes_by_decode_index`` maps a decode
    index to the (y, u, v) planes of that decoded picture.  Chroma is 4:2:0 only.
    """
    ys, xs, bys, bxs = inter_samples(info, plane, inter)
    # the 14-bit intermediates are combined, not 8-bit predictions
    (p0, use0), (p1, use1) = predict_lists(info, planes_by_decode_index, plane, (ys, xs, bys, bxs),
                                           luma_mc if plane == 0 else chroma_mc)
    pred = weighted_default(p0, p1, use0, use1)
    return ys, xs, bys, bxs, pred
