"""Decode order from display order: the one reorder buffer of the project.

The recurrent model must see frames in the order the decoder produced them: a
frame's motion vectors point into pictures decoded before it.  Decoders (and
FFmpeg's filters) hand frames out in display order, so for a stream with
B-frames a frame is held back until every frame decoded before it has arrived.
Used by ``Reader.in_decode_order`` and by the filter's host.  With
``IPBB`` coding (decode order I0 P3 B1 B2, display order I0 B1 B2 P3), B1 and
B2 wait for P3: the added latency is the stream's reorder depth, 2 frames.
A low-delay stream (display order == decode order) adds none.

Decode indices come from the codec info; frames without one are numbered in
arrival order (display order is assumed to be decode order).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["DecodeOrderScheduler", "MAX_REORDER"]

#: H.264 holds at most 16 frames for reordering; a gap in the decode indices
#: (a frame the decoder dropped) is skipped once this many frames wait.
MAX_REORDER = 16

T = TypeVar("T")


@dataclass
class DecodeOrderScheduler(Generic[T]):
    """Turns display-order arrivals into decode-order work.

    ``push(item, decode_index)`` returns the items that can run now, in decode
    order; ``flush()`` returns the rest at the end of the stream.
    """

    max_reorder: int = MAX_REORDER
    next_index: int | None = None
    _waiting: dict[int, T] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._waiting)

    def push(self, item: T, decode_index: int) -> list[T]:
        ready: list[T] = []
        if self.next_index is None:
            self.next_index = decode_index
        elif decode_index < self.next_index or decode_index in self._waiting:
            # The decoder restarted its count (flush, new sequence): finish the
            # frames of the old count first.
            ready += self.flush()
            self.next_index = decode_index
        self._waiting[decode_index] = item
        ready += self._pop_ready()
        while len(self._waiting) > self.max_reorder:
            # A decode index never came (dropped frame): move past the gap.
            self.next_index = min(self._waiting)
            ready += self._pop_ready()
        return ready

    def flush(self) -> list[T]:
        ready = [self._waiting[i] for i in sorted(self._waiting)]
        if self._waiting:
            self.next_index = max(self._waiting) + 1
        self._waiting.clear()
        return ready

    def _pop_ready(self) -> list[T]:
        ready = []
        while self.next_index in self._waiting:
            ready.append(self._waiting.pop(self.next_index))
            self.next_index += 1
        return ready
