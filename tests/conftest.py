"""Shared fixtures.  Clip recipes and helpers live in tests/_clips.py."""
from __future__ import annotations

import pytest

from _clips import ClipFactory, have_ffmpeg


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> ClipFactory:
    """Tiny clips made by the project's ffmpeg, once per session: ``clips.get("random_access")``."""
    if not have_ffmpeg():
        pytest.fail("the project's ffmpeg is not built (.venv/bin/ffmpeg): run ./setup.sh")
    return ClipFactory(tmp_path_factory.mktemp("clips"))
