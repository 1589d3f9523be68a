"""The codec step of the degradation: libx264 (or libx265) in the low-delay configuration.

CIAF supplementary 1.2: IPP...P (``-bf 0``), one reference (``-refs 1``: every P
frame predicts from the previous frame), one I frame per clip (``-g`` and
``-keyint_min`` larger than any clip, ``-sc_threshold 0`` so no scene cut adds one).
The LR RGB frames are converted to 4:2:0 by ``cvsr.color.rgb_to_yuv420``
and piped to the project's ffmpeg as raw yuv420p, so swscale takes no part.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from cvsr.color import rgb_to_yuv420
from cvsr.ffmpeg import find_ffmpeg

CRFS = (18, 23, 28)
GOP = 100000


def x264_args(crf: int, preset: str = "medium") -> list[str]:
    """Encoder arguments of the low-delay configuration (also printed in model cards)."""
    return ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-bf", "0", "-refs", "1",
            "-g", str(GOP), "-keyint_min", str(GOP), "-sc_threshold", "0", "-threads", "1",
            "-pix_fmt", "yuv420p"]


def x265_args(crf: int, preset: str = "medium") -> list[str]:
    """The same low-delay configuration for HEVC: P frames only, one reference, one I frame, one thread
    (x265's defaults otherwise: deblocking and SAO on)."""
    params = f"bframes=0:ref=1:keyint={GOP}:min-keyint={GOP}:scenecut=0:frame-threads=1:pools=1:log-level=error"
    return ["-c:v", "libx265", "-preset", preset, "-crf", str(crf), "-x265-params", params, "-pix_fmt", "yuv420p"]


ENCODER_ARGS = {"h264": x264_args, "hevc": x265_args}


def encode(lr: np.ndarray, out: Path, crf: int, fps: int = 25, preset: str = "medium", codec: str = "h264") -> Path:
    """Encode (t, h, w, 3) uint8 RGB frames to an H.264 (or, ``codec="hevc"``, HEVC) Matroska file at ``out``."""
    if codec not in ENCODER_ARGS:
        raise ValueError(f"codec must be one of {sorted(ENCODER_ARGS)}, got {codec!r}")
    if lr.dtype != np.uint8 or lr.ndim != 4 or lr.shape[-1] != 3:
        raise ValueError(f"lr must be (t, h, w, 3) uint8, got {lr.shape} {lr.dtype}")
    t, h, w, _ = lr.shape
    out = Path(out)
    # A file rather than a pipe: a minimal ffmpeg build may lack the pipe protocol.
    raw = out.with_name(out.name + ".yuv")
    with open(raw, "wb") as f:
        for frame in lr:
            y, u, v = rgb_to_yuv420(frame)
            f.write(y.tobytes() + u.tobytes() + v.tobytes())
    cmd = [find_ffmpeg(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", str(raw), *ENCODER_ARGS[codec](crf, preset), str(out)]
    try:
        proc = subprocess.run(cmd, stderr=subprocess.PIPE)
    finally:
        raw.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed encoding {out}: {proc.stderr.decode(errors='replace').strip()}")
    return out
