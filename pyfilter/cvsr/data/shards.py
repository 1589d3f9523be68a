"""Shards: one ``.npz`` file per clip holding the HR frames and, per CRF, what the
decoder produced from the encoded LR clip.

Keys (t frames, HR H x W, LR h x w = H/4 x W/4):
- ``hr``                     uint8 (t, H, W, 3) RGB ground truth
- ``lr_crf{c}``              uint8 (t, h, w, 3) decoded LR, RGB (``cvsr.color.yuv420_to_rgb``)
- ``mv_crf{c}``              int16 (t, h, w, 2) dense backward motion in quarter LR pixels, (x, y):
                             pixel (x, y) of frame i is predicted from (x + mv_x / 4, y + mv_y / 4) of
                             frame i - 1 (low delay, one reference); 0 for intra blocks and I frames
- ``residual_mask_crf{c}``   uint8 (t, h, ceil(w / 8)) ``np.packbits`` of (luma residual != 0) per pixel
- ``frame_type_crf{c}``      uint8 (t,) ASCII 'I', 'P', 'B'
- ``qp_crf{c}``              int16 (t,) frame QP
- ``meta``                   JSON string: name, source, license, split, crfs, fps, codec_info (bool:
                             False when MVs and masks are absent because the codec-info reader was not used)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class CodedClip:
    """What the decoder gives for one CRF: see the module docstring for shapes and units."""
    lr: np.ndarray
    mv: np.ndarray
    residual_mask: np.ndarray      # bool (t, h, w)
    frame_type: np.ndarray
    qp: np.ndarray


@dataclass
class Shard:
    hr: np.ndarray
    coded: dict[int, CodedClip]
    meta: dict = field(default_factory=dict)


def save_shard(path: Path, shard: Shard) -> None:
    arrays = {"hr": shard.hr}
    for crf, c in shard.coded.items():
        if c.lr.shape[:3] != c.mv.shape[:3] or c.mv.shape[-1] != 2:
            raise ValueError(f"crf {crf}: lr {c.lr.shape} and mv {c.mv.shape} disagree")
        arrays[f"lr_crf{crf}"] = c.lr
        arrays[f"mv_crf{crf}"] = c.mv.astype(np.int16)
        arrays[f"residual_mask_crf{crf}"] = np.packbits(c.residual_mask.astype(bool), axis=-1)
        arrays[f"frame_type_crf{crf}"] = c.frame_type.astype(np.uint8)
        arrays[f"qp_crf{crf}"] = c.qp.astype(np.int16)
    meta = dict(shard.meta, crfs=sorted(shard.coded))
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def load_shard(path: Path, crfs: tuple[int, ...] | None = None) -> Shard:
    with np.load(path) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        coded = {}
        for crf in meta["crfs"]:
            if crfs is not None and crf not in crfs:
                continue
            lr = z[f"lr_crf{crf}"]
            coded[crf] = CodedClip(
                lr=lr, mv=z[f"mv_crf{crf}"],
                residual_mask=np.unpackbits(z[f"residual_mask_crf{crf}"], axis=-1, count=lr.shape[2]).astype(bool),
                frame_type=z[f"frame_type_crf{crf}"], qp=z[f"qp_crf{crf}"])
        return Shard(hr=z["hr"], coded=coded, meta=meta)
