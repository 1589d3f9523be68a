"""The MV/residual visualisation and the ``cvsr demo`` main job (testsrc2: no shared data needed)."""
from __future__ import annotations

import numpy as np
import pytest

import cvsr.codec as codec
from cvsr.codec import visualize  # noqa: E402


def test_flow_colours():
    flow = np.zeros((4, 8, 2), np.float32)
    flow[:, :4, 0] = 3.0
    flow[:, 4:, 1] = -3.0
    valid = np.ones((4, 8), bool)
    valid[0, 0] = False
    rgb = visualize.flow_to_rgb(flow, valid)
    assert rgb.shape == (4, 8, 3) and rgb.dtype == np.uint8
    assert (rgb[0, 0] == 0).all()
    assert not (rgb[1, 0] == rgb[1, 5]).all()       # different directions, different hues


def test_residual_heat():
    res = np.array([[0, 10], [-10, 200]], np.int16)
    rgb = visualize.residual_to_rgb(res)
    assert (rgb[0, 0] == 0).all() and (rgb[0, 1] == rgb[1, 0]).all() and rgb[1, 1].sum() > rgb[0, 1].sum()


def test_demo_writes_png(clips, tmp_path):
    from PIL import Image

    from cvsr.cli import main

    assert main(["demo", "--out", str(tmp_path), "--source", "testsrc2", "--frames", "8"]) == 0
    png = tmp_path / "codec_info.png"
    img = np.asarray(Image.open(png))
    assert img.shape[1] == 3 * 640 + 8 and img.shape[0] > 360
