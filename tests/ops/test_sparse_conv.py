import importlib

import pytest
import torch

from cvsr.ops import (ActiveSet, ResblockPlan, dilate_mask, resblocks_ref, sparse_conv, sparse_conv_ref,
                      sparse_resblocks)


def _rand(shape, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * scale


def _mask(shape, p, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g) < p


def _blocks(c, n, seed, k=3):
    return [(_rand((c, c, k, k), seed + 4 * i, 0.2), _rand((c,), seed + 4 * i + 1, 0.1),
             _rand((c, c, k, k), seed + 4 * i + 2, 0.2), _rand((c,), seed + 4 * i + 3, 0.1)) for i in range(n)]


@pytest.fixture(params=[False, True], ids=["one-chunk", "chunked"])
def chunking(request, monkeypatch):
    if request.param:
        # cvsr.ops.sparse_conv is the function; the module is only reachable by its full name
        monkeypatch.setattr(importlib.import_module("cvsr.ops.sparse_conv"), "_CHUNK_ROWS", 7)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_all_active_equals_dense(k, chunking):
    x, wt, b = _rand((2, 5, 9, 13), 0), _rand((6, 5, k, k), 1), _rand((6,), 2)
    out = sparse_conv(x, wt, b, torch.ones(2, 9, 13, dtype=torch.bool))
    torch.testing.assert_close(out, torch.nn.functional.conv2d(x, wt, b, padding=k // 2), atol=1e-5, rtol=1e-5)


def test_empty_mask_returns_base():
    x, wt, base = _rand((1, 4, 6, 7), 0), _rand((3, 4, 3, 3), 1), _rand((1, 3, 6, 7), 2)
    out = sparse_conv(x, wt, None, torch.zeros(1, 6, 7, dtype=torch.bool), base)
    assert torch.equal(out, base)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.8])
def test_random_mask_equals_dense_then_select(p, chunking):
    x, wt, b = _rand((2, 8, 11, 17), 3), _rand((4, 8, 3, 3), 4), _rand((4,), 5)
    base, mask = _rand((2, 4, 11, 17), 6), _mask((2, 11, 17), p, 7)
    out = sparse_conv(x, wt, b, mask, base)
    torch.testing.assert_close(out, sparse_conv_ref(x, wt, b, mask, base), atol=1e-5, rtol=1e-5)
    # an ActiveSet built once, or the list of active pixel indices, gives the same result
    torch.testing.assert_close(sparse_conv(x, wt, b, ActiveSet.from_mask(mask), base), out, atol=0, rtol=0)
    index = torch.nonzero(mask.reshape(-1)).reshape(-1)
    torch.testing.assert_close(sparse_conv(x, wt, b, index, base), out, atol=0, rtol=0)


def test_neighbours_outside_frame_are_listed():
    aset = ActiveSet.from_mask(torch.tensor([[[True, False], [False, True]]]))
    nbr = aset.neighbours(3)
    assert nbr.index.shape == (2, 9)
    assert nbr.outside.numel() == 10  # 5 of 9 neighbours of each corner pixel are off a 2x2 frame


def test_dilate_mask():
    m = torch.zeros(1, 5, 5, dtype=torch.bool)
    m[0, 0, 0] = True
    assert dilate_mask(m, 1).sum() == 4 and dilate_mask(m, 2).sum() == 9


@pytest.mark.parametrize("p", [0.0, 0.15, 0.5, 1.0])
def test_sparse_resblocks_equal_dense_blocks(p, chunking):
    x, blocks, mask = _rand((2, 6, 10, 15), 8), _blocks(6, 3, 9), _mask((2, 10, 15), p, 10)
    ref = resblocks_ref(x, blocks, mask)
    out = sparse_resblocks(x, blocks, mask)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    # inactive pixels keep the input, active ones equal a dense block chain there
    torch.testing.assert_close(out.masked_select(~mask[:, None]), x.masked_select(~mask[:, None]), atol=0, rtol=0)
    if p == 1.0:
        torch.testing.assert_close(out, resblocks_ref(x, blocks, None), atol=1e-5, rtol=1e-5)


def test_sparse_resblocks_inplace_and_plan_reuse():
    x, blocks, mask = _rand((1, 4, 8, 9), 11), _blocks(4, 2, 12), _mask((1, 8, 9), 0.3, 13)
    ref = resblocks_ref(x, blocks, mask)
    plan = ResblockPlan(mask)
    xc = x.contiguous(memory_format=torch.channels_last)
    kept = xc.clone()
    torch.testing.assert_close(sparse_resblocks(xc, blocks, plan), ref, atol=1e-5, rtol=1e-5)
    assert torch.equal(xc, kept)  # not in place unless asked
    out = sparse_resblocks(xc, blocks, plan, inplace=True)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    assert out.data_ptr() == xc.data_ptr()


def test_workspace_survives_inference_mode_switches():
    x, blocks, mask = _rand((1, 4, 8, 9), 17), _blocks(4, 1, 18), _mask((1, 8, 9), 0.5, 19)
    ref = resblocks_ref(x, blocks, mask)
    with torch.inference_mode():
        torch.testing.assert_close(sparse_resblocks(x, blocks, mask), ref, atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(sparse_resblocks(x, blocks, mask), ref, atol=1e-5, rtol=1e-5)


def test_sparse_resblocks_gradients_match_dense():
    x, blocks, mask = _rand((1, 3, 7, 8), 14), _blocks(3, 2, 15), _mask((1, 7, 8), 0.4, 16)
    params = [t.clone().requires_grad_() for blk in blocks for t in blk]
    xs = x.clone().requires_grad_()
    grouped = [tuple(params[4 * i: 4 * i + 4]) for i in range(2)]
    sparse_resblocks(xs, grouped, mask).square().sum().backward()
    params_ref = [t.clone().requires_grad_() for blk in blocks for t in blk]
    xr = x.clone().requires_grad_()
    resblocks_ref(xr, [tuple(params_ref[4 * i: 4 * i + 4]) for i in range(2)], mask).square().sum().backward()
    torch.testing.assert_close(xs.grad, xr.grad, atol=1e-4, rtol=1e-4)
    for a, b in zip(params, params_ref):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-4, rtol=1e-4)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="mask must be"):
        sparse_conv(torch.zeros(1, 2, 4, 4), torch.zeros(2, 2, 3, 3), None, torch.zeros(4, 4))
    with pytest.raises(ValueError, match="odd"):
        sparse_conv(torch.zeros(1, 2, 4, 4), torch.zeros(2, 2, 2, 2), None, torch.ones(1, 4, 4))
    with pytest.raises(ValueError, match="indices"):
        sparse_conv(torch.zeros(1, 2, 4, 4), torch.zeros(2, 2, 3, 3), None, torch.tensor([0, 16]))
    with pytest.raises(ValueError, match="base"):
        sparse_conv(torch.zeros(1, 2, 4, 4), torch.zeros(2, 2, 3, 3), None, torch.ones(1, 4, 4),
                    torch.zeros(1, 3, 4, 4))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_cuda_sparse_conv_matches_reference(dtype):
    pytest.importorskip("cupy")
    from cvsr.ops import _cuda

    if not _cuda.available():
        pytest.skip("CuPy kernels disabled")
    x, wt, b = _rand((2, 16, 23, 41), 20), _rand((8, 16, 3, 3), 21, 0.1), _rand((8,), 22)
    base, mask = _rand((2, 8, 23, 41), 23), _mask((2, 23, 41), 0.3, 24)
    ref = sparse_conv_ref(x, wt, b, mask, base)
    with torch.no_grad():
        out = sparse_conv(x.cuda().to(dtype), wt.cuda().to(dtype), b.cuda().to(dtype), mask.cuda(),
                          base.cuda().to(dtype))
    tol = 1e-4 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(out.float().cpu(), ref, atol=tol, rtol=tol)


@pytest.mark.cuda
def test_cuda_sparse_resblocks_match_reference():
    pytest.importorskip("cupy")
    x, blocks, mask = _rand((1, 32, 45, 80), 25), _blocks(32, 3, 26), _mask((1, 45, 80), 0.25, 27)
    blocks = [tuple(t * 0.3 for t in blk) for blk in blocks]
    ref = resblocks_ref(x, blocks, mask)
    with torch.no_grad():
        out = sparse_resblocks(x.cuda(), [tuple(t.cuda() for t in blk) for blk in blocks], mask.cuda())
    torch.testing.assert_close(out.cpu(), ref, atol=1e-4, rtol=1e-4)
