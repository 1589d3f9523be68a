"""Shared fixtures.  Clip recipes and helpers live in tests/_clips.py."""
from __future__ import annotations

import pytest

from _clips import ClipFactory, have_ffmpeg


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU (skipped without one)")


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.cuda`` tests skip cleanly where torch sees no GPU (CI has none)."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _cvsr_cache(tmp_path_factory):
    """Converted models (the OpenVINO backend) go to a session folder, not the user's cache; ffmpeg
    subprocesses inherit it."""
    import os

    old = os.environ.get("CVSR_CACHE_DIR")
    os.environ["CVSR_CACHE_DIR"] = str(tmp_path_factory.mktemp("cvsr-cache"))
    yield
    if old is None:
        os.environ.pop("CVSR_CACHE_DIR", None)
    else:
        os.environ["CVSR_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> ClipFactory:
    """Tiny clips made by the project's ffmpeg, once per session: ``clips.get("random_access")``."""
    if not have_ffmpeg():
        pytest.fail("the project's ffmpeg is not built (.venv/bin/ffmpeg): run ./setup.sh")
    return ClipFactory(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """Path of a seeded, untrained 8-channel CIAF checkpoint with the shipped design (MV-aligned features
    and fed-back output): plumbing tests of the host and the filter."""
    import torch

    from cvsr.models import CIAFConfig, build_model, save_checkpoint

    torch.manual_seed(0)
    net = build_model(CIAFConfig(channels=8, num_blocks=1, mask_channels=4, hr_feedback=True))
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_checkpoint(net, path, name="ciaf")
    return str(path)
