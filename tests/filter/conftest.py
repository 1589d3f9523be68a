"""Fixtures for the end-to-end tests of the ffmpeg ``cvsr`` filter: the project's ffmpeg and tiny clips.

The tiny model (``tiny_model``, tests/conftest.py) is a randomly initialised 8-channel CIAF: enough to test
plumbing (frames, timestamps, sizes, errors, equality with the Python API), never shipped.
"""
from __future__ import annotations

import pytest
from _clips import FILTER_KINDS
from ffhelpers import FFMPEG, run


@pytest.fixture(scope="session")
def have_filter():
    if FFMPEG is None:
        pytest.fail("the project's ffmpeg is not built (run ./setup.sh)")
    r = run([FFMPEG, "-hide_banner", "-h", "filter=cvsr"], check=False)
    if b"Unknown filter" in r.stdout + r.stderr:
        pytest.fail("ffmpeg was built without the cvsr filter: run ./setup.sh")
    return FFMPEG


@pytest.fixture(scope="session")
def make_clip(clips, have_filter):
    """make_clip(kind, size="96x64", frames=12, audio=False, ext="mp4", extra=()) -> Path: a ``FILTER_KINDS``
    stream at 10 frames/s from the session's clip factory (``tests/_clips.py``), cached per arguments."""
    made = {}

    def make(kind="lowdelay", size="96x64", frames=12, audio=False, ext="mp4", extra=()):
        key = (kind, size, frames, audio, ext, tuple(extra))
        if key not in made:
            name = f"filter_{kind}_{size}_{frames}_{int(audio)}_{len(made)}.{ext}"
            made[key] = clips.make(name, size=size, frames=frames, rate=10, audio=audio, extra=tuple(extra),
                                   **FILTER_KINDS[kind])
        return made[key]

    return make
