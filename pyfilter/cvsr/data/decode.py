"""Decode an encoded LR clip into a ``CodedClip`` (pixels + codec information).

``decode_codec_info`` goes through the project's codec-info export (``cvsr.open``):
MV fields, residual masks, frame types and QP come from the patched decoder.
``decode_pixels`` (PyAV, no codec information) exists only to train models that
use no codec information (``baseline*``) before the reader is available; its shards
carry ``codec_info: false`` and zero MVs / masks, which training refuses for MV models.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cvsr.color import yuv420_to_rgb
from cvsr.codec.info import pict_type_char
from cvsr.data.shards import CodedClip


def decode_pixels(path: Path) -> CodedClip:
    import av

    lrs, types = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            planes = frame.to_ndarray(format="yuv420p")     # (h * 3 / 2, w)
            h, w = frame.height, frame.width
            y = planes[:h]
            u = planes[h:h + h // 4].reshape(h // 2, w // 2)
            v = planes[h + h // 4:].reshape(h // 2, w // 2)
            lrs.append(yuv420_to_rgb(y, u, v))
            types.append(ord(pict_type_char(frame.pict_type)))
    lr = np.stack(lrs)
    t, h, w, _ = lr.shape
    return CodedClip(lr=lr, mv=np.zeros((t, h, w, 2), np.int16), residual_mask=np.zeros((t, h, w), bool),
                     frame_type=np.array(types, np.uint8), qp=np.full(t, -1, np.int16))


def decode_codec_info(path: Path) -> CodedClip:
    """Decode through the project's codec-info export (``cvsr.codec.open``), single-threaded.

    The MV field is list 0's dense backward flow; with ``-refs 1`` every inter block must
    reference the previous frame in decoding order, which is checked.  The residual mask is
    the luma residual (what the decoder added to the prediction) != 0, per pixel.
    """
    from cvsr import codec

    lrs, mvs, masks, types, qps = [], [], [], [], []
    # threads=1: one decoder thread per clip is enough at these sizes (threaded decoding exports the same:
    # tests/codec/test_threading.py)
    with codec.open(path, threads=1) as reader:
        for frame in reader.in_decode_order():
            if frame.codec_info is None:
                raise RuntimeError(f"{path}: frame {frame.decode_index} carries no codec info")
            lrs.append(yuv420_to_rgb(frame.y, frame.u, frame.v))
            flow = frame.mv_field(0)
            used = frame.mv_mask(0)
            refs = frame.ref_id_field(0)
            if used.any() and not np.all(refs[used] == frame.decode_index - 1):
                raise RuntimeError(f"{path}: frame {frame.decode_index} references other than the previous "
                                   "frame; encode with -refs 1 -bf 0")
            quarter = np.rint(flow * 4)
            if np.abs(quarter).max(initial=0) > np.iinfo(np.int16).max:
                raise RuntimeError(f"{path}: MV out of int16 range")
            mvs.append(quarter.astype(np.int16))
            masks.append(np.asarray(frame.residual(0)) != 0)
            types.append(ord(frame.frame_type))
            qps.append(int(frame.codec_info.qp))
    return CodedClip(lr=np.stack(lrs), mv=np.stack(mvs), residual_mask=np.stack(masks),
                     frame_type=np.array(types, np.uint8), qp=np.array(qps, np.int16))
