import numpy as np
import pytest
import torch

from cvsr.data import degrade
from cvsr.data.degradation import SCALE, SIGMA, TAPS, degrade_tensor, gaussian_taps


def test_shapes_and_dtype():
    hr = np.random.default_rng(0).integers(0, 256, (3, 64, 96, 3)).astype(np.uint8)
    lr = degrade(hr)
    assert lr.shape == (3, 16, 24, 3) and lr.dtype == np.uint8
    assert degrade(hr[0]).shape == (16, 24, 3)
    assert torch.equal(degrade(torch.from_numpy(hr)), torch.from_numpy(lr))


def test_kernel_is_a_normalised_symmetric_gaussian():
    k = gaussian_taps()
    assert k.shape == (TAPS,)
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-12)
    assert torch.allclose(k, k.flip(0))
    offsets = torch.arange(TAPS, dtype=torch.float64) - (TAPS - 1) / 2
    # Truncation at +-5.5 sigma-units of 1.5 px barely changes the variance.
    assert float((k * offsets ** 2).sum()) == pytest.approx(SIGMA ** 2, rel=2e-3)


def test_phase_lr_pixel_is_centred_on_its_4x4_block():
    # A symmetric kernel reproduces a linear ramp exactly, so LR column j reads the ramp at
    # its sampling position: 4 j + 1.5 (away from the reflected border).
    w = 64
    ramp = torch.arange(w, dtype=torch.float64).expand(1, 1, 32, w).clone()
    out = degrade_tensor(ramp)[0, 0]
    interior = slice(2, w // SCALE - 2)
    expected = SCALE * torch.arange(w // SCALE, dtype=torch.float64) + 1.5
    torch.testing.assert_close(out[4, interior], expected[interior])
    rows = degrade_tensor(ramp.transpose(-1, -2).contiguous())[0, 0]
    torch.testing.assert_close(rows[interior, 3], expected[interior])


def test_constant_is_preserved_and_energy_is_kept():
    hr = np.full((32, 48, 3), 77, np.uint8)
    assert np.all(degrade(hr) == 77)
    x = torch.rand(1, 3, 64, 64, dtype=torch.float64)
    assert float(degrade_tensor(x).mean()) == pytest.approx(float(x.mean()), abs=0.02)


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="multiple"):
        degrade(np.zeros((30, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        degrade(np.zeros((32, 32, 3), np.float32))


def test_degrade_command_on_an_image(tmp_path):
    from PIL import Image

    from cvsr.cli import main

    hr = np.random.default_rng(1).integers(0, 256, (70, 90, 3)).astype(np.uint8)
    Image.fromarray(hr).save(tmp_path / "hr.png")
    assert main(["degrade", str(tmp_path / "hr.png"), str(tmp_path / "lr.png")]) == 0
    lr = np.asarray(Image.open(tmp_path / "lr.png"))
    # Cropped to a multiple of 8 (64 x 88), then x4 down.
    assert lr.shape == (16, 22, 3)
    assert np.array_equal(lr, degrade(np.ascontiguousarray(hr[:64, :88])))
