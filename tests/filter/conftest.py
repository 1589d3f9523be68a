"""Fixtures for the end-to-end tests of the ffmpeg ``cvsr`` filter: the project's ffmpeg and tiny clips.

The tiny model (``tiny_model``, tests/conftest.py) is a randomly initialised 8-channel CIAF: enough to test
plumbing (frames, timestamps, sizes, errors, equality with the Python API), never shipped.
"""
from __future__ import annotations

import pytest
from ffhelpers import FFMPEG, ffmpeg, run


@pytest.fixture(scope="session")
def have_filter():
    if FFMPEG is None:
        pytest.fail("the project's ffmpeg is not built (run ./setup.sh)")
    r = run([FFMPEG, "-hide_banner", "-h", "filter=cvsr"], check=False)
    if b"Unknown filter" in r.stdout + r.stderr:
        pytest.fail("ffmpeg was built without the cvsr filter: run ./setup.sh")
    return FFMPEG


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
