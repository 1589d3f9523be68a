import pytest
import torch

from cvsr.ops import warp, warp_ref


def _rand(shape, seed, dtype=torch.float32, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


@pytest.mark.parametrize("padding", ["border", "zeros"])
@pytest.mark.parametrize("hw", [(7, 13), (17, 33), (16, 16)])
def test_warp_matches_reference_with_offframe_flows(padding, hw):
    h, w = hw
    feat = _rand((2, 3, h, w), 0)
    flow = _rand((2, h, w, 2), 1, scale=max(h, w) / 2)  # many samples land off-frame
    torch.testing.assert_close(warp(feat, flow, padding), warp_ref(feat, flow, padding), atol=1e-5, rtol=1e-5)


def test_integer_flow_is_exact_shift():
    feat = _rand((1, 4, 9, 11), 2)
    flow = torch.zeros(1, 9, 11, 2)
    flow[..., 0] = 2.0   # sample 2 pixels to the right
    flow[..., 1] = -1.0  # and 1 pixel up
    out = warp(feat, flow, "zeros")
    torch.testing.assert_close(out[:, :, 1:, :-2], feat[:, :, :-1, 2:], atol=1e-6, rtol=0)
    assert torch.all(out[:, :, 0] == 0) and torch.all(out[:, :, :, -2:] == 0)
    out = warp(feat, flow, "border")
    torch.testing.assert_close(out[:, :, 0, :-2], feat[:, :, 0, 2:], atol=1e-6, rtol=0)  # clamped row
    torch.testing.assert_close(out[:, :, 3, -1], feat[:, :, 2, -1], atol=1e-6, rtol=0)  # clamped column


def test_zero_flow_is_identity():
    feat = _rand((1, 2, 5, 6), 3)
    torch.testing.assert_close(warp(feat, torch.zeros(1, 5, 6, 2)), feat, atol=1e-6, rtol=0)


def test_half_pixel_is_average():
    feat = _rand((1, 1, 4, 5), 4)
    flow = torch.zeros(1, 4, 5, 2)
    flow[..., 0] = 0.5
    out = warp(feat, flow)
    torch.testing.assert_close(out[..., :-1], (feat[..., :-1] + feat[..., 1:]) / 2, atol=1e-6, rtol=0)


@pytest.mark.parametrize("padding", ["border", "zeros"])
def test_warp_gradcheck(padding):
    feat = _rand((1, 2, 5, 6), 5, torch.float64).requires_grad_()
    # keep positions away from integer grid lines, where bilinear interpolation has kinks
    flow = _rand((1, 5, 6, 2), 6, torch.float64, 1.5).round() + 0.3 + 0.4 * torch.rand(1, 5, 6, 2,
                                                                                      dtype=torch.float64)
    flow.requires_grad_()
    assert torch.autograd.gradcheck(lambda f, fl: warp(f, fl, padding), (feat, flow), eps=1e-6, atol=1e-5)


def test_half_precision_keeps_subpixel_accuracy():
    w = 1280
    feat = torch.linspace(0, 1, w).view(1, 1, 1, w).expand(1, 1, 2, w).contiguous()
    flow = torch.full((1, 2, w, 2), 0.25)
    flow[..., 1] = 0
    out = warp(feat.half(), flow.half())
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), warp_ref(feat, flow), atol=2e-3, rtol=0)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="flow must be"):
        warp(torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 5, 2))
    with pytest.raises(ValueError, match="padding"):
        warp(torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, 2), "reflect")


@pytest.mark.cuda
@pytest.mark.parametrize("padding", ["border", "zeros"])
def test_cuda_warp_forward_backward_matches_reference(padding):
    pytest.importorskip("cupy")
    from cvsr.ops import _cuda

    if not _cuda.available():
        pytest.skip("CuPy kernels disabled")
    h, w = 19, 37
    feat = _rand((2, 5, h, w), 7)
    flow = _rand((2, h, w, 2), 8, scale=6.0)
    grad = _rand((2, 5, h, w), 9)
    fc, flc = feat.cuda().requires_grad_(), flow.cuda().requires_grad_()
    out = warp(fc, flc, padding)
    out.backward(grad.cuda())
    fr, flr = feat.clone().requires_grad_(), flow.clone().requires_grad_()
    ref = warp_ref(fr, flr, padding)
    ref.backward(grad)
    torch.testing.assert_close(out.cpu(), ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fc.grad.cpu(), fr.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(flc.grad.cpu(), flr.grad, atol=1e-3, rtol=1e-3)


@pytest.mark.cuda
def test_cuda_warp_autocast_fp16():
    pytest.importorskip("cupy")
    feat = _rand((1, 4, 16, 24), 10).cuda()
    flow = _rand((1, 16, 24, 2), 11, scale=3.0).cuda()
    with torch.autocast("cuda", dtype=torch.float16):
        out = warp(feat.half(), flow)
    torch.testing.assert_close(out.float().cpu(), warp_ref(feat.cpu(), flow.cpu()), atol=1e-2, rtol=1e-2)
