"""Fixtures for the end-to-end tests of the ffmpeg ``cvsr`` filter: the project's ffmpeg, tiny clips, a tiny model.

The model is a randomly initialised 8-channel CIAF saved as a checkpoint in a
temporary folder: enough to test plumbing (frames, timestamps, sizes, errors,
equality with the Python API), never shipped.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from ffhelpers import FFMPEG, ffmpeg, run


@pytest.fixture(scope="session")
def have_filter():
    if not FFMPEG.is_file():
        pytest.fail("the project's ffmpeg is not built (run ./setup.sh)")
    r = run([FFMPEG, "-hide_banner", "-h", "filter=cvsr"], check=False)
    if b"Unknown filter" in r.stdout + r.stderr:
        pytest.fail("ffmpeg was built without the cvsr filter: run ./setup.sh")
    return FFMPEG


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A seeded, untrained 8-channel CIAF checkpoint (plumbing tests only)."""
    import torch

    from cvsr.models import CIAFConfig, build_model, save_checkpoint

    torch.manual_seed(0)
    net = build_model(CIAFConfig(channels=8, num_blocks=1, mask_channels=4))
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_checkpoint(net, path, name="ciaf")
    return path


CLIP_KINDS = {
    # low delay: no B-frames, one reference (the decode order is the display order)
    "lowdelay": ["-c:v", "libx264", "-bf", "0", "-refs", "1", "-g", "30"],
    # random access: B-frames (reorder depth 2), 3 references, a second I-frame
    "randomaccess": ["-c:v", "libx264", "-bf", "2", "-refs", "3", "-g", "8",
                     "-x264-params", "b-adapt=0:b-pyramid=none:weightp=0"],
}


@pytest.fixture(scope="session")
def make_clip(tmp_path_factory, have_filter):
    """make_clip(kind, size="96x64", frames=12, audio=False, ext="mp4") -> Path (cached per arguments)."""
    folder = tmp_path_factory.mktemp("clips")
    cache = {}

    def make(kind="lowdelay", size="96x64", frames=12, audio=False, ext="mp4", extra=()):
        key = (kind, size, frames, audio, ext, tuple(extra))
        if key not in cache:
            path = folder / f"{kind}_{size}_{frames}_{int(audio)}_{len(cache)}.{ext}"
            rate = 10
            args = ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={frames / rate}"]
            if audio:
                args += ["-f", "lavfi", "-i", f"sine=f=440:r=48000:d={frames / rate}", "-c:a", "aac"]
            ffmpeg(*args, *CLIP_KINDS[kind], "-pix_fmt", "yuv420p", *extra, path)
            cache[key] = path
        return cache[key]

    return make
