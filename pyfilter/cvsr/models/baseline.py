"""Baseline for the alignment ablation: CIAF without MV alignment (paper Table 2 (a), Table 3 "Baseline").

Identical to ``CIAF`` except that the previous hidden features (and, for the mask CNN, the previous LR
frame) are used at the same position instead of being warped by the motion vectors; ``mv_field`` is
accepted and ignored so both networks share one calling convention. In sparse mode, skipped pixels take
the unwarped previous features.
"""
from __future__ import annotations

from dataclasses import dataclass

from .ciaf import CIAF, CIAFConfig

__all__ = ["Baseline", "BaselineConfig"]


@dataclass(frozen=True)
class BaselineConfig(CIAFConfig):
    """Same fields as ``CIAFConfig``; a separate type so a config names its network unambiguously."""


class Baseline(CIAF):
    """CIAF with ``align`` = identity. See ``cvsr.models.ciaf`` for shapes, units and state."""

    motion_aligned = False
