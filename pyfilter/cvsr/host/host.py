"""The filter host: one model run over one video stream, frame by frame.

Used by the ffmpeg filter (``-vf cvsr``, through native/bridge) and by
``cvsr.upscale``: both hand frames to ``Host.send`` in display order and take
upscaled frames from ``Host.receive`` in the same order, one per input frame,
with the input's pts.

Inside, frames run in decode order (``DecodeOrderScheduler``): for a B-frame
stream up to the reorder depth of frames wait; for a low-delay stream none.
The recurrent state is reset on I-frames (scene cuts, refreshes) and when the
frame size changes.  Without codec info a frame runs unaligned (zero motion,
dense residual mask) and the host warns once.
"""
from __future__ import annotations

import gc
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from ..codec._lib import LOG_ERROR, LOG_INFO, LOG_VERBOSE, LOG_WARNING, constant
from ..codec.decode_order import DecodeOrderScheduler
from ..models import DEFAULT_MODEL
from .align import PrevFrame, align_to_previous
from .color import rgb_to_yuv420, rgb_to_yuv420_np, upsample_add_yuv420, yuv420_to_rgb, yuv420_to_rgb_np
from .runner import ModelRunner, make_runner

__all__ = ["Host"]

# av_log levels (native/include/cvsr/bridge.h)
_PICT_TYPE_I = constant("AV_PICTURE_TYPE_I")
_OBJECTS_AFTER = 1000  # frames out when the host counts the live Python objects the first time (bench/soak.py)

_log = logging.getLogger("cvsr.host")


def _python_log(level: int, message: str) -> None:
    _log.log({LOG_ERROR: logging.ERROR, LOG_WARNING: logging.WARNING,
              LOG_INFO: logging.INFO}.get(level, logging.DEBUG), message.rstrip())


@dataclass
class _Work:
    """One input frame between send() and the model: everything copied out of the caller's buffers."""

    seq: int                      # arrival (display) order
    pts: int
    width: int
    height: int
    y: torch.Tensor               # uint8 planes, owned copies
    u: torch.Tensor
    v: torch.Tensor
    info: Any | None              # parsed codec info (owned copy) or None
    decode_index: int
    intra: bool


def _plane(buf, linesize: int | None, width: int, height: int) -> torch.Tensor:
    """A (height, width) uint8 copy of a plane: a 2-D array, or a buffer with rows linesize bytes apart."""
    if linesize is None:
        arr = np.asarray(buf)
        if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[0] < height or arr.shape[1] < width:
            raise ValueError(f"plane must be a ({height}, {width}) uint8 array, got {arr.dtype} {arr.shape}")
        return torch.from_numpy(np.array(arr[:height, :width]))
    arr = np.frombuffer(buf, np.uint8, count=linesize * (height - 1) + width)
    rows = np.lib.stride_tricks.as_strided(arr, (height, width), (linesize, 1))
    return torch.from_numpy(np.array(rows))   # np.array copies: nothing refers to buf afterwards


class Host:
    """Upscales one stream; see the module docstring.

    Options are the filter's: ``model`` (registered name or checkpoint path),
    ``device`` (auto|cpu|cuda), ``sparse`` (auto|on|off), ``precision``
    (auto|fp32|fp16|bf16), ``backend`` (auto|torch|openvino), ``threads`` (CPU threads of
    torch and the backend, 0 = default), ``align``
    (use the codec info when present).  ``log(level, message)`` receives
    av_log-level messages.
    """

    def __init__(self, model: str | None = None, device: str = "auto", sparse: str = "auto",
                 precision: str = "auto", threads: int = 0, align: bool = True,
                 log: Callable[[int, str], None] | None = None, backend: str = "auto"):
        if threads < 0:
            raise ValueError(f"threads must be >= 0, got {threads}")
        if threads:
            torch.set_num_threads(threads)
        self._log = log or _python_log
        if model is None:
            model = DEFAULT_MODEL
        self.model: ModelRunner = make_runner(model, device=device, sparse=sparse, precision=precision,
                                             backend=backend, threads=threads)
        self.scale = self.model.scale
        self.align = bool(align)
        self._scheduler: DecodeOrderScheduler[_Work] = DecodeOrderScheduler()
        self._display: deque[int] = deque()          # seq of frames not yet returned, display order
        self._done: dict[int, tuple] = {}             # seq -> (pts, y, u, v)
        self._seq = 0
        self._state = None
        self._prev: PrevFrame | None = None
        self._size: tuple[int, int] | None = None
        self._warned: set[str] = set()
        self._objects_early: int | None = None
        self.frames_aligned = 0
        self.frames_unaligned = 0
        self.frames_out = 0
        self.max_latency = 0                  # most frames held back at once (the reorder depth)
        self.model_seconds = 0.0              # inside model.step
        self.compile_seconds = 0.0            # compiling the backend for a new frame size (once per size)
        self._first_send: float | None = None
        self._last_out: float | None = None
        self._log(LOG_VERBOSE, f"cvsr host: {self.model.describe()}\n")

    # -- the filter's interface -------------------------------------------------

    def send(self, planes, linesizes, width: int, height: int, pts: int, codec_info=None) -> None:
        """Take one yuv420p frame in display order.

        planes: three buffers (Y, U, V) with rows ``linesizes[i]`` bytes apart,
        or three 2-D uint8 arrays with ``linesizes`` None;
        codec_info: the AV_FRAME_DATA_CODEC_INFO bytes or None.  Nothing passed
        in is referenced after the call returns.
        """
        if self._first_send is None:
            self._first_send = time.perf_counter()
        if width <= 0 or height <= 0:
            raise ValueError(f"invalid frame size {width}x{height}")
        cw, ch = (width + 1) // 2, (height + 1) // 2
        linesizes = linesizes or (None, None, None)
        y = _plane(planes[0], linesizes[0], width, height)
        u = _plane(planes[1], linesizes[1], cw, ch)
        v = _plane(planes[2], linesizes[2], cw, ch)
        info = self._parse_info(codec_info, width, height) if codec_info is not None and self.align else None
        if codec_info is None and self.align:
            self._warn_once("noinfo", "frames carry no codec info (a decoder without export_side_data=codec_info, "
                            "a stream other than 8-bit H.264 or HEVC, or a filter that dropped it): upscaling without "
                            "motion alignment\n")

        if self._size is not None and self._size != (width, height):
            # A new resolution: finish the old stream, then start over.
            self._run(self._scheduler.flush())
            self._reset()
        self._size = (width, height)

        seq = self._seq
        self._seq += 1
        decode_index = int(info.decode_index) if info is not None else seq
        intra = info is not None and int(info.pict_type) == _PICT_TYPE_I
        work = _Work(seq, int(pts), width, height, y, u, v, info, decode_index, intra)
        self._display.append(seq)
        self._run(self._scheduler.push(work, decode_index))
        self.max_latency = max(self.max_latency, self.latency)

    def flush(self) -> None:
        """End of stream: run every frame still waiting for reordering."""
        self._run(self._scheduler.flush())

    def receive(self):
        """The next upscaled frame in display order as (pts, Y, U, V) uint8 arrays, or None."""
        if not self._display or self._display[0] not in self._done:
            return None
        self.frames_out += 1
        if self.frames_out == _OBJECTS_AFTER:  # leak check: compared with the count at close()
            self._objects_early = len(gc.get_objects())
        self._last_out = time.perf_counter()
        return self._done.pop(self._display.popleft())

    def close(self) -> None:
        """Log where the time went (av_log verbose from ffmpeg): the model vs everything around it."""
        if self.frames_out and self._last_out is not None:
            wall = self._last_out - self._first_send
            per_frame = wall - self.compile_seconds  # what every frame costs, start-up work aside
            self._log(LOG_VERBOSE, f"cvsr host: {self.frames_out} frames ({self.frames_aligned} aligned), "
                      f"{wall:.3f} s from first input to last output, {self.compile_seconds:.3f} s of it compiling "
                      f"the backend, {self.model_seconds:.3f} s in the model "
                      f"(pipeline/model {per_frame / max(self.model_seconds, 1e-9):.3f}), "
                      f"latency at most {self.max_latency} frames\n")
        if self._objects_early is not None:
            self._log(LOG_VERBOSE, f"cvsr host: python objects {self._objects_early} after {_OBJECTS_AFTER} frames, "
                      f"{len(gc.get_objects())} at the end\n")

    @property
    def latency(self) -> int:
        """Frames sent whose output is not ready yet."""
        return sum(1 for s in self._display if s not in self._done)

    # -- inside ---------------------------------------------------------------

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._log(LOG_WARNING, message)

    def _reset(self) -> None:
        self._state = None
        self._prev = None

    def _parse_info(self, codec_info, width: int, height: int):
        from ..codec.info import parse_codec_info

        try:
            # An owned copy: the frame may wait for reordering after the caller's buffer is gone.
            info = parse_codec_info(np.frombuffer(codec_info, np.uint8).copy(), width, height)
        except ValueError as e:
            self._warn_once("badinfo", f"unusable codec info ({e}): upscaling without motion alignment\n")
            return None
        # Side data that does not describe this frame (a scaling or cropping
        # filter before cvsr kept it): do not align with it.  The coded picture
        # is the frame rounded up to whole macroblocks, so less than one
        # macroblock may be cropped on the right and at the bottom.
        if not (width + info.crop_left <= info.coded_width
                and height + info.crop_top <= info.coded_height
                and info.coded_width - width - info.crop_left < info.mb_size
                and info.coded_height - height - info.crop_top < info.mb_size):
            self._warn_once("geometry", f"codec info covers {info.coded_width}x{info.coded_height} "
                            f"(crop {info.crop_left},{info.crop_top}), not this {width}x{height} frame: "
                            "upscaling without motion alignment\n")
            return None
        return info

    def _run(self, works: list[_Work]) -> None:
        for work in works:
            self._done[work.seq] = self._step(work)

    @torch.inference_mode()
    def _step(self, work: _Work) -> tuple:
        m = self.model
        if work.intra:
            self._reset()
        on_cpu = m.device.type == "cpu"
        if on_cpu:
            lr = torch.from_numpy(yuv420_to_rgb_np(work.y.numpy(), work.u.numpy(), work.v.numpy()))
        else:
            lr = yuv420_to_rgb(work.y.to(m.device), work.u.to(m.device), work.v.to(m.device), m.dtype)
        a = None
        if work.info is not None:
            try:
                a = align_to_previous(work.info, self._prev, work.width, work.height, residual=m.sparse)
            except ValueError as e:  # side data that parses but does not hold together (ref_idx out of range, ...)
                self._warn_once("badinfo", f"unusable codec info ({e}): upscaling without motion alignment\n")
        if a is not None:
            flow = torch.from_numpy(a.flow)[None]
            mask = torch.from_numpy(a.residual_mask)[None, None] if a.residual_mask is not None else None
            self._prev = PrevFrame(int(work.info.decode_index), int(work.info.poc))
            self.frames_aligned += 1
        else:
            flow = mask = None
            self._prev = None
            self.frames_unaligned += 1
        if flow is not None:
            flow = flow.to(m.device, m.dtype)
            mask = mask.to(m.device) if mask is not None else None
        warn = lambda msg: self._warn_once("backend", msg)  # noqa: E731
        t = time.perf_counter()
        m.prepare(work.height, work.width, warn)  # a new size compiles the backend outside the model's time
        self.compile_seconds += time.perf_counter() - t
        planes = []

        def output(res, lr_, scale, mode):  # the step's output, converted to YUV in the same pass
            hr, yuv = upsample_add_yuv420(res, lr_, scale, mode)
            planes.append(yuv)
            return hr

        t = time.perf_counter()
        try:
            hr, self._state = m.step(lr, flow, mask, self._state, warn, output=output)
        except RuntimeError as e:  # torch reports allocation failures (CPU and CUDA) as RuntimeError
            text = str(e)
            if "out of memory" not in text and "can't allocate memory" not in text:
                raise
            raise MemoryError(f"out of memory upscaling a {work.width}x{work.height} frame x{self.scale} on "
                              f"{m.device} ({text.strip().splitlines()[-1][:200]}): use a smaller input, a lighter "
                              "model (model=ciaf-lite) or a machine with more memory") from e
        self.model_seconds += time.perf_counter() - t
        if planes:  # a dense step: its output came as YUV too (the last call's, if a backend fell back)
            return (work.pts, *planes[-1])
        if on_cpu:
            return (work.pts, *rgb_to_yuv420_np(hr.numpy()))
        y, u, v = rgb_to_yuv420(hr)
        return (work.pts, y.cpu().numpy(), u.cpu().numpy(), v.cpu().numpy())
