"""``cvsr degrade IN OUT``: make inputs of the kind the models were trained for."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from cvsr.data.degradation import SCALE, degrade
from cvsr.data.encode import encode
from cvsr.ffmpeg import find_ffmpeg
from cvsr.color import rgb_to_yuv420

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def _crop(frames: np.ndarray) -> np.ndarray:
    h, w = frames.shape[-3:-1]
    return frames[..., : h - h % (2 * SCALE), : w - w % (2 * SCALE), :]


def degrade_file(src: Path, dst: Path, crf: int | None = None, fps: int = 25) -> Path:
    """Degrade an image or a video (cropped to a multiple of 8 so LR is 4:2:0-even).

    Image -> image.  Video -> lossless FFV1 (``crf`` None) or H.264 in the training's
    low-delay configuration at ``crf``.
    """
    src, dst = Path(src), Path(dst)
    if src.suffix.lower() in IMAGE_SUFFIXES:
        from PIL import Image

        from cvsr.data.sources import load_photo

        lr = degrade(np.ascontiguousarray(_crop(load_photo(src))))
        Image.fromarray(lr).save(dst)
        return dst
    import av

    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        if stream.average_rate:
            fps = float(stream.average_rate)
        lr = np.stack([degrade(np.ascontiguousarray(_crop(f.to_ndarray(format="rgb24"))))
                       for f in container.decode(stream)])
    if crf is not None:
        return encode(lr, dst, crf, fps=round(fps))
    t, h, w, _ = lr.shape
    raw = dst.with_name(dst.name + ".yuv")
    with open(raw, "wb") as f:
        for frame in lr:
            f.write(b"".join(p.tobytes() for p in rgb_to_yuv420(frame)))
    try:
        subprocess.run([find_ffmpeg(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
                        "-s", f"{w}x{h}", "-r", str(fps), "-i", str(raw), "-c:v", "ffv1", str(dst)], check=True)
    finally:
        raw.unlink(missing_ok=True)
    return dst
