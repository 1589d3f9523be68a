"""Random training samples: 7-frame windows of LR patches with their codec information.

All shards of a split are held in memory (uint8 frames, int16 MVs, packed masks); a
sample is a random clip, CRF, window and patch, with one random symmetry (``Dihedral``)
applied to frames, MV field and mask alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cvsr.data.degradation import SCALE
from cvsr.data.shards import load_shard
from cvsr.train.augment import Dihedral


@dataclass
class Batch:
    """lr (n, t, 3, h, w) and hr (n, t, 3, 4h, 4w) in [0, 1]; mv (n, t, h, w, 2) backward flow in LR
    pixels (frame i from frame i-1; frame 0's is unused); residual_mask (n, t, 1, h, w) in {0, 1};
    crf (n,).  ``ClipPatches.sample`` returns lr / hr / residual_mask as uint8 (cheap to copy and to
    move to a GPU); ``to(device)`` moves and converts them to float."""
    lr: torch.Tensor
    hr: torch.Tensor
    mv: torch.Tensor
    residual_mask: torch.Tensor
    crf: torch.Tensor

    def to(self, device) -> "Batch":
        def move(x, scale=None):
            x = x.to(device, non_blocking=True)
            return x.float() / scale if x.dtype == torch.uint8 and scale else x.float()
        return Batch(move(self.lr, 255), move(self.hr, 255), move(self.mv), move(self.residual_mask, 1),
                     self.crf.to(device))


class ClipPatches:
    """Random (clip, CRF, window, patch, symmetry) samples from a folder of shards."""

    def __init__(self, shard_dir: Path, clip_len: int = 7, patch: int = 64, crfs: tuple[int, ...] = (18, 23, 28),
                 require_codec_info: bool = True, seed: int = 0):
        paths = sorted(Path(shard_dir).glob("*.npz"))
        if not paths:
            raise FileNotFoundError(f"no shards in {shard_dir}: run `cvsr data build` first")
        self.clip_len, self.patch = clip_len, patch
        self.clips = []
        for p in paths:
            shard = load_shard(p, crfs)
            if require_codec_info and not shard.meta.get("codec_info"):
                raise ValueError(f"{p} was decoded without the codec-info export (no MVs or residuals); "
                                 "rebuild it with `cvsr data build --decoder codec_info` or train a baseline model")
            lr0 = next(iter(shard.coded.values())).lr
            if lr0.shape[0] < clip_len or min(lr0.shape[1:3]) < patch:
                continue
            coded = {crf: (c.lr, c.mv, np.packbits(c.residual_mask, axis=-1)) for crf, c in shard.coded.items()}
            self.clips.append((p.stem, shard.hr, coded))
        if not self.clips:
            raise ValueError(f"no clip in {shard_dir} has {clip_len} frames of at least {patch}x{patch} LR pixels")
        self.crfs = tuple(sorted(set(crfs) & set(self.clips[0][2])))
        self.gen = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)

    def state(self) -> dict:
        return {"torch": self.gen.get_state(), "numpy": self.rng.bit_generator.state}

    def load_state(self, state: dict) -> None:
        self.gen.set_state(state["torch"])
        self.rng.bit_generator.state = state["numpy"]

    def sample(self, batch_size: int) -> Batch:
        items = [self._one() for _ in range(batch_size)]
        return Batch(*(torch.stack(x) for x in zip(*items)))

    def _one(self):
        name, hr, coded = self.clips[self.rng.integers(len(self.clips))]
        crf = self.crfs[self.rng.integers(len(self.crfs))]
        lr, mv, packed_mask = coded[crf]
        t, h, w = lr.shape[:3]
        p, s = self.patch, SCALE
        t0 = self.rng.integers(t - self.clip_len + 1)
        y0, x0 = self.rng.integers(h - p + 1), self.rng.integers(w - p + 1)
        win = slice(t0, t0 + self.clip_len)
        # uint8 until Batch.to: a quarter of the bytes to copy, flip and stack.
        lr_p = torch.from_numpy(lr[win, y0:y0 + p, x0:x0 + p]).permute(0, 3, 1, 2)
        hr_p = torch.from_numpy(hr[win, s * y0:s * (y0 + p), s * x0:s * (x0 + p)]).permute(0, 3, 1, 2)
        mv_p = torch.from_numpy(mv[win, y0:y0 + p, x0:x0 + p].astype(np.float32)) / 4
        mask = np.unpackbits(packed_mask[win, y0:y0 + p], axis=-1, count=w)[..., x0:x0 + p]
        mask_p = torch.from_numpy(np.ascontiguousarray(mask)).unsqueeze(1)
        aug = Dihedral.random(self.gen)
        return (aug.image(lr_p).contiguous(), aug.image(hr_p).contiguous(), aug.flow(mv_p).contiguous(),
                aug.image(mask_p).contiguous(), torch.tensor(crf))
