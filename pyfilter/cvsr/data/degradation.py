"""The degradation the cvsr models are trained for, on uint8 frames and on files (CIAF supplementary 1.2).

HR -> Gaussian blur (sigma 1.5) -> x4 decimation -> round to uint8.  The codec
step (libx264, low delay) comes after this and lives in ``cvsr.data.encode``.
The kernel, its sampling phase and the float version live in ``cvsr.ops.degrade``.
``degrade_file`` (``cvsr degrade IN OUT``) makes inputs of the kind the models were trained for.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import torch

from cvsr.color import rgb_to_yuv420
from cvsr.data.encode import encode
from cvsr.ffmpeg import find_ffmpeg
from cvsr.ops.degrade import SCALE, SIGMA, TAPS, degrade_tensor, gaussian_taps

__all__ = ["SCALE", "SIGMA", "TAPS", "gaussian_taps", "degrade_tensor", "degrade", "degrade_file"]


def degrade(hr: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Public degradation: HR frames -> LR frames (before the codec).

    hr: uint8 array or tensor, (H, W, 3) or (t, H, W, 3), RGB, H and W multiples of 4.
    Returns the same container type, uint8, (h, w, 3) or (t, h, w, 3) with
    h = H / 4, w = W / 4 (see the module docstring for kernel and phase).
    """
    is_numpy = isinstance(hr, np.ndarray)
    x = torch.from_numpy(np.require(hr, requirements=("C", "W"))) if is_numpy else hr
    if x.dtype != torch.uint8:
        raise ValueError(f"degrade expects uint8 frames, got {x.dtype}; use degrade_tensor for floats")
    if x.dim() not in (3, 4) or x.shape[-1] != 3:
        raise ValueError(f"hr must be (H, W, 3) or (t, H, W, 3), got shape {tuple(x.shape)}")
    lr = degrade_tensor(x.movedim(-1, -3).float())
    lr = lr.round_().clamp_(0, 255).to(torch.uint8).movedim(-3, -1).contiguous()
    return lr.numpy() if is_numpy else lr


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
