"""The C kernels of the CPU inference path (native/src/kernels.c through cvsr.ops._cpu) against the torch
compositions they stand in for, and the same output whatever the thread count."""
import numpy as np
import pytest
import torch

from cvsr.host.color import rgb_to_yuv420, rgb_to_yuv420_np, upsample_add_yuv420
from cvsr.ops import _cpu, feedback_detail, feedback_detail_ref, upsample_add, upsample_add_ref, warp

pytestmark = pytest.mark.skipif(_cpu.lib is None, reason="libcvsr not built")


def _rand(shape, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64).mul(scale).float()


def _block_field(n, h, w, seed, scale=8.0, frac=False):
    """A codec-like motion field: one quarter-pel vector per 4x4 block (h, w multiples of 4 not needed)."""
    g = torch.Generator().manual_seed(seed)
    blocks = torch.round(torch.randn((n, (h + 3) // 4, (w + 3) // 4, 2), generator=g) * scale) / 4
    if frac:
        blocks = blocks + 0.1  # positions between HR pixels: the interpolating path
    return blocks.repeat_interleave(4, 1).repeat_interleave(4, 2)[:, :h, :w].contiguous()


@pytest.mark.parametrize("scale", [4, 2, 3])
@pytest.mark.parametrize("hw", [(12, 20), (7, 5), (1, 1), (9, 1)])
@pytest.mark.parametrize("kind", ["whole", "fraction", "none", "offframe"])
def test_feedback_detail_equals_torch(scale, hw, kind):
    h, w = hw
    lr, hr = torch.rand(2, 3, h, w), torch.rand(2, 3, scale * h, scale * w)
    flow = {"whole": _block_field(2, h, w, 1), "fraction": _block_field(2, h, w, 2, frac=True), "none": None,
            "offframe": _block_field(2, h, w, 3, scale=4 * max(h, w))}[kind]
    ours = feedback_detail(hr, lr, flow, scale)
    assert ours.shape == (2, 3 * scale * scale, h, w)
    # the reference samples through grid_sample's normalised grid: ~1e-5 off at 80 HR pixels
    torch.testing.assert_close(ours, feedback_detail_ref(hr, lr, flow, scale), atol=2e-5, rtol=0)


@pytest.mark.parametrize("scale", [4, 2])
@pytest.mark.parametrize("hw", [(12, 20), (7, 5), (1, 1)])
def test_upsample_add_equals_torch(scale, hw):
    h, w = hw
    res, lr = _rand((2, 3 * scale * scale, h, w), 4, 0.1), torch.rand(2, 3, h, w)
    torch.testing.assert_close(upsample_add(res, lr, scale), upsample_add_ref(res.clone(), lr, scale),
                               atol=1e-6, rtol=0)


def test_kernels_need_no_gradient_and_leave_autograd_to_torch():
    """With a tensor that needs its gradient, the ops are the torch compositions (training)."""
    hr = torch.rand(1, 3, 16, 24, requires_grad=True)
    lr, flow = torch.rand(1, 3, 4, 6), _block_field(1, 4, 6, 5)
    assert not _cpu.usable(hr, lr) and _cpu.usable(hr.detach(), lr)
    feedback_detail(hr, lr, flow, 4).sum().backward()
    assert hr.grad is not None and hr.grad.abs().sum() > 0
    with torch.no_grad():
        assert _cpu.usable(hr, lr)


def test_nan_and_huge_flows_stay_inside_the_frame():
    """A corrupt field cannot make the kernels read outside the frame (positions are clamped)."""
    h, w = 6, 10
    feat, hr, lr = torch.rand(1, 4, h, w), torch.rand(1, 3, 4 * h, 4 * w), torch.rand(1, 3, h, w)
    flow = torch.full((1, h, w, 2), float("nan"))
    flow[0, ::2] = torch.tensor([1e30, -1e30])
    flow[0, 1::3] = float("inf")
    out = warp(feat, flow)
    assert torch.isfinite(out).all() and out.min() >= feat.min() and out.max() <= feat.max()
    assert torch.isfinite(feedback_detail(hr, lr, flow, 4)).all()


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_rows_over_threads_equal_one_thread(threads):
    """Split over threads, each kernel gives exactly what one thread gives."""
    h, w = 45, 80
    feat, lr, hr = torch.rand(1, 8, h, w), torch.rand(1, 3, h, w), torch.rand(1, 3, 4 * h, 4 * w)
    res, flow = _rand((1, 48, h, w), 6, 0.1), _block_field(1, h, w, 7, frac=True)
    rgb = np.random.default_rng(8).random((1, 3, 4 * h, 4 * w), dtype=np.float32) * 1.2 - 0.1

    def run():
        return [warp(feat, flow), feedback_detail(hr, lr, flow, 4), upsample_add(res, lr, 4),
                *upsample_add_yuv420(res, lr, 4)[1], *rgb_to_yuv420_np(rgb)]

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run()
        torch.set_num_threads(threads)
        many = run()
    finally:
        torch.set_num_threads(before)
    for a, b in zip(one, many):
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("hw", [(12, 20), (5, 7)])
def test_fused_yuv_output_equals_separate_conversion(hw):
    h, w = hw
    res, lr = _rand((1, 48, h, w), 9, 0.3), torch.rand(1, 3, h, w)
    hr, (y, u, v) = upsample_add_yuv420(res, lr, 4)
    torch.testing.assert_close(hr, upsample_add(res, lr, 4), atol=0, rtol=0)
    for ours, ref in zip((y, u, v), rgb_to_yuv420_np(hr.numpy())):
        assert np.array_equal(ours, ref)
    for ours, ref in zip((y, u, v), rgb_to_yuv420(hr)):  # the torch version (CUDA's) rounds half to even
        assert ours.shape == tuple(ref.shape) and np.abs(ours.astype(int) - ref.numpy()).max() <= 1


def test_bad_sizes_are_errors_not_crashes():
    with pytest.raises(ValueError, match="chroma planes"):
        _cpu.yuv420_to_rgb(np.zeros((4, 4), np.uint8), np.zeros((1, 2), np.uint8), np.zeros((2, 2), np.uint8),
                           np.eye(3, dtype=np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="3-channel"):
        _cpu.upsample_add(torch.zeros(1, 16, 2, 2), torch.zeros(1, 1, 2, 2), 4, yuv=(np.eye(3, dtype=np.float32),
                                                                                   np.zeros(3, np.float32)))
