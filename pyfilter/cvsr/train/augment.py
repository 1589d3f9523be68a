"""Flips and 90-degree rotations applied consistently to frames, motion fields and masks.

A motion field here is a dense backward flow (see ``cvsr.ops.warp``): pixel (x, y) of the
current frame is predicted from (x + flow_x, y + flow_y) of the reference.  Transforming
the image plane changes the flow too:
  - horizontal flip (x -> w-1-x): flow_x -> -flow_x
  - vertical flip   (y -> h-1-y): flow_y -> -flow_y
  - transpose       (x <-> y):    (flow_x, flow_y) -> (flow_y, flow_x)
so that ``warp(aug(ref), aug_flow(flow)) == aug(warp(ref, flow))``.  The three
generate the 8 symmetries of the square (rotations are transpose + flip).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Dihedral:
    """One of the 8 symmetries: transpose first, then the flips."""
    transpose: bool = False
    hflip: bool = False
    vflip: bool = False

    @staticmethod
    def random(gen: torch.Generator | None = None) -> "Dihedral":
        bits = torch.randint(0, 8, (1,), generator=gen).item()
        return Dihedral(bool(bits & 1), bool(bits & 2), bool(bits & 4))

    def image(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., h, w) (frames, masks) -> transformed (..., h', w')."""
        if self.transpose:
            x = x.transpose(-1, -2)
        if self.hflip:
            x = x.flip(-1)
        if self.vflip:
            x = x.flip(-2)
        return x

    def flow(self, flow: torch.Tensor) -> torch.Tensor:
        """flow: (..., h, w, 2) backward flow in pixels, (x, y) -> transformed (..., h', w', 2)."""
        if self.transpose:
            flow = flow.transpose(-2, -3).flip(-1)
        if self.hflip:
            flow = flow.flip(-2) * flow.new_tensor([-1.0, 1.0])
        if self.vflip:
            flow = flow.flip(-3) * flow.new_tensor([1.0, -1.0])
        return flow
