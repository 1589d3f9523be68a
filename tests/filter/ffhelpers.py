"""Helpers for the end-to-end tests of the ffmpeg ``cvsr`` filter: run the project's ffmpeg / ffprobe with timeouts."""
from __future__ import annotations

import json
import subprocess

from cvsr.ffmpeg import find_ffmpeg

try:
    FFMPEG, FFPROBE = find_ffmpeg(), find_ffmpeg("ffprobe")
except FileNotFoundError:  # not built: the have_filter fixture fails the tests with what to do
    FFMPEG = FFPROBE = None
TIMEOUT = 120


def run(cmd, timeout=TIMEOUT, check=True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command with a timeout (a hang fails the test instead of blocking it)."""
    r = subprocess.run([str(c) for c in cmd], capture_output=True, timeout=timeout, **kwargs)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd[0]} exited {r.returncode}:\n{r.stderr.decode(errors='replace')[-3000:]}")
    return r


def ffmpeg(*args, **kwargs) -> subprocess.CompletedProcess:
    return run([FFMPEG, "-hide_banner", "-nostdin", "-y", *args], **kwargs)


def probe_frames(path, stream="v:0") -> list[dict]:
    """ffprobe -show_frames of one stream: [{'pts': int, 'width': int, 'height': int, ...}]."""
    r = run([FFPROBE, "-v", "error", "-select_streams", stream, "-show_frames",
             "-show_entries", "frame=pts,pts_time,duration,width,height,pict_type,sample_aspect_ratio",
             "-of", "json", path])
    return json.loads(r.stdout)["frames"]


def probe_duration(path, stream: str) -> float:
    r = run([FFPROBE, "-v", "error", "-select_streams", stream, "-show_entries", "stream=duration",
             "-of", "json", path])
    return float(json.loads(r.stdout)["streams"][0]["duration"])


def decode_yuv(path, width: int, height: int):
    """All frames of a file as a (n, width*height*3/2) uint8 array (yuv420p)."""
    import numpy as np

    r = run([FFMPEG, "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
    frame = width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)
    return np.frombuffer(r.stdout, np.uint8).reshape(-1, frame)
