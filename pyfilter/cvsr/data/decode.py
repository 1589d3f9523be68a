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

from cvsr.data.color import yuv420_to_rgb
from cvsr.data.shards import CodedClip


# enum AVPictureType
_PICT_TYPES = {1: "I", 2: "P", 3: "B"}


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
            types.append(ord(_PICT_TYPES.get(int(frame.pict_type), "?")))
    lr = np.stack(lrs)
    t, h, w, _ = lr.shape
    return CodedClip(lr=lr, mv=np.zeros((t, h, w, 2), np.int16), residual_mask=np.zeros((t, h, w), bool),
                     frame_type=np.array(types, np.uint8), qp=np.full(t, -1, np.int16))
