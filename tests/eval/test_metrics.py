import math

import numpy as np
import pytest

from cvsr.color import rgb_to_y
from cvsr.eval.metrics import psnr_y, ssim_luma, ssim_y


def _frame(seed=0, shape=(48, 64, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


def test_psnr_identical_is_inf():
    a = _frame()
    assert psnr_y(a, a) == math.inf


def test_psnr_of_a_known_luma_offset():
    # Adding 10 to R, G and B adds 10 * (65.481 + 128.553 + 24.966) / 255 = 8.588... to Y everywhere.
    a = np.full((40, 40, 3), 100, np.uint8)
    b = a + 10
    dy = 10 * (65.481 + 128.553 + 24.966) / 255
    assert psnr_y(a, b) == pytest.approx(20 * math.log10(255 / dy), abs=1e-9)


def test_border_crop_ignores_the_edge():
    a = _frame()
    b = a.copy()
    b[:8] = 0
    assert psnr_y(a, b, border=8) == math.inf
    assert psnr_y(a, b, border=0) < 30


def test_luma_is_bt601():
    assert rgb_to_y(np.array([0, 0, 0])) == pytest.approx(16)
    assert rgb_to_y(np.array([255, 255, 255])) == pytest.approx(235)


def test_ssim_identical_is_one_and_noise_lowers_it():
    a = _frame(1)
    assert ssim_y(a, a) == pytest.approx(1.0, abs=1e-12)
    noisy = np.clip(a.astype(int) + np.random.default_rng(2).integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
    assert 0 < ssim_y(a, noisy) < 0.99


def test_ssim_of_a_constant_offset():
    # Constant planes: only the luminance term is left, (2 m1 m2 + c1) / (m1^2 + m2^2 + c1).
    c1 = (0.01 * 255) ** 2
    a, b = np.full((30, 30), 100.0), np.full((30, 30), 120.0)
    assert ssim_luma(a, b) == pytest.approx((2 * 100 * 120 + c1) / (100 ** 2 + 120 ** 2 + c1))


def test_size_mismatch_raises():
    with pytest.raises(ValueError, match="differ"):
        psnr_y(_frame(shape=(40, 40, 3)), _frame(shape=(40, 48, 3)))


def test_temporal_error_measures_flicker_not_a_constant_error():
    from cvsr.eval.metrics import temporal_error

    rng = np.random.default_rng(0)
    gt = rng.integers(40, 200, (5, 32, 32, 3), dtype=np.uint8)
    assert temporal_error(gt, gt, border=0) == 0
    # a constant error (e.g. a blur that stays put) does not flicker
    assert temporal_error(gt + np.uint8(10), gt, border=0) == pytest.approx(0, abs=1e-9)
    # an error that alternates between +d and -d on grey changes by 2d luma-scaled levels every frame
    d = 10
    sr = gt.astype(np.int16) + np.array([d, -d, d, -d, d], np.int16)[:, None, None, None]
    luma_gain = (65.481 + 128.553 + 24.966) / 255      # Y per unit of R = G = B
    assert temporal_error(sr.astype(np.uint8), gt, border=0) == pytest.approx(2 * d * luma_gain, rel=1e-6)
    with pytest.raises(ValueError, match="2 frames"):
        temporal_error(gt[:1], gt[:1])


def test_eval_merge_combines_reports(tmp_path):
    """`cvsr eval --merge A B --out C`: the rows and clips of runs over disjoint clips in one report."""
    import json
    import subprocess
    import sys

    from cvsr.eval.run import Row, write_report

    for part, clip in (("a", "city_000"), ("b", "intel_car_190")):
        (tmp_path / part).mkdir()
        rows = [Row(clip, 23, "bicubic", 27.0, 0.8), Row(clip, 23, "ciaf dense", 28.5, 0.83)]
        write_report(tmp_path / part, rows, {clip: {"kind": "real", "source": clip}})
    r = subprocess.run([sys.executable, "-m", "cvsr.cli", "eval", "--merge", str(tmp_path / "a"), str(tmp_path / "b"),
                        "--out", str(tmp_path / "c")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "c" / "eval.json").read_text())
    assert sorted({row["clip"] for row in doc["rows"]}) == ["city_000", "intel_car_190"]
    assert len(doc["rows"]) == 4 and set(doc["clips"]) == {"city_000", "intel_car_190"}
    assert "ciaf dense" in (tmp_path / "c" / "eval.md").read_text()
