"""``cvsr.upscale(src, dst)``: the filter's host over a file, without ffmpeg's filter graph.

Decodes ``src`` with the project's reader (codec info on), runs ``Host`` (the
same code the ffmpeg filter drives), and pipes the upscaled yuv420p frames to
the project's ffmpeg, which encodes them and copies the source's audio
streams untouched (``-c:a copy``).  Frames are written at the stream's average
frame rate from t = 0: the output has the input's frame count and order; a
variable-frame-rate source loses its irregular timing (the ffmpeg filter keeps
every pts).
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from cvsr.ffmpeg import find_ffmpeg

__all__ = ["upscale", "UpscaleResult"]

DEFAULT_VIDEO_CODEC = ("-c:v", "libx264", "-preset", "fast", "-crf", "18")


@dataclass
class UpscaleResult:
    frames: int
    width: int
    height: int
    frames_aligned: int      # frames that ran with codec-info alignment
    max_latency: int         # most frames held back by the host at once (reorder depth)


def upscale(src, dst, model: str | None = None, device: str = "auto", sparse: str = "auto",
            precision: str = "auto", threads: int = 0, align: bool = True, progress: bool = True,
            video_codec: tuple[str, ...] | list[str] = DEFAULT_VIDEO_CODEC, audio: bool = True,
            overwrite: bool = True, backend: str = "auto") -> UpscaleResult:
    """Upscale the first video stream of ``src`` into ``dst`` (format from its extension).

    Options as the ffmpeg filter's (``model``, ``device``, ``sparse``, ``precision``,
    ``backend``, ``threads``, ``align``).  ``video_codec``: ffmpeg output options for the video
    (default x264 CRF 18; e.g. ``("-c:v", "ffv1")`` for lossless).  ``audio``: copy
    the source's audio streams.  On failure ``dst`` is removed, never left half-written.
    """
    from tqdm import tqdm

    from cvsr.codec import open as open_video

    from .host import Host

    src, dst = os.fspath(src), os.fspath(dst)
    if os.path.abspath(src) == os.path.abspath(dst):
        raise ValueError("dst must differ from src")
    reader = open_video(src, threads=1 if threads == 1 else 0)
    encoder = None
    try:
        stream = reader.stream
        host = Host(model=model, device=device, sparse=sparse, precision=precision, threads=threads,
                    align=align, backend=backend)
        w, h = stream.width * host.scale, stream.height * host.scale
        fps = stream.fps or 25
        cmd = [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin",
               "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}", "-framerate", str(fps),
               "-i", "pipe:0"]
        if audio:
            cmd += ["-i", src, "-map", "0:v:0", "-map", "1:a?", "-c:a", "copy"]
        cmd += [*video_codec, "-pix_fmt", "yuv420p", "-y" if overwrite else "-n", dst]
        encoder = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        frames = 0

        def drain():
            nonlocal frames
            while (out := host.receive()) is not None:
                _, y, u, v = out
                if y.shape != (h, w):
                    raise ValueError(f"frame size changed mid-stream to {y.shape[1]}x{y.shape[0]}; "
                                     "cvsr.upscale writes one size (use the ffmpeg filter)")
                encoder.stdin.write(y.tobytes())
                encoder.stdin.write(u.tobytes())
                encoder.stdin.write(v.tobytes())
                frames += 1
                bar.update(1)

        with tqdm(total=stream.nb_frames or None, unit="frame", disable=not progress,
                  desc=os.path.basename(dst)) as bar:
            for frame in reader:
                y, u, v = frame.planes
                info = frame.codec_info.buffer() if frame.codec_info is not None else None
                host.send((y, u, v), None, frame.width, frame.height, frame.pts or 0, info)
                drain()
            host.flush()
            drain()
        encoder.stdin.close()
        err = encoder.stderr.read().decode(errors="replace")
        if encoder.wait() != 0:
            raise RuntimeError(f"ffmpeg failed to write {dst}: {err.strip()}")
        encoder = None
        return UpscaleResult(frames, w, h, host.frames_aligned, host.max_latency)
    except BaseException as e:
        if encoder is not None:
            encoder.kill()
            err = encoder.communicate()[1].decode(errors="replace")
            if os.path.exists(dst):
                os.remove(dst)
            if isinstance(e, BrokenPipeError):
                raise RuntimeError(f"ffmpeg stopped while writing {dst}: {err.strip()}") from e
        raise
    finally:
        reader.close()
