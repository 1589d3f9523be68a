"""The CUDA kernels of cvsr.ops._cuda, compiled as plain C++ and run on the CPU, one thread at a time.

There is no GPU on the development machines; this checks the kernels' index arithmetic and gradient
formulas, and the Python wrappers around them (buffer layouts, the halo lut), against the CPU references.
What it cannot check: CuPy interop, streams, races between threads (atomics are sequential here).
"""
import ctypes
import shutil
import subprocess

import numpy as np
import pytest
import torch

from cvsr.ops import ResblockPlan, resblocks_ref, sparse_conv_ref, warp_ref
from cvsr.ops import _cuda

PRELUDE = r"""
#include <math.h>
struct Dim3 { unsigned int x; };
static Dim3 blockIdx, threadIdx, blockDim;
#define __global__
#define __device__
#define __forceinline__ inline
static inline float atomicAdd(float* p, float v) { float old = *p; *p += v; return old; }
"""

LAUNCHERS = r"""
template <typename F, typename... A> static void launch(unsigned nb, unsigned nt, F f, A... a) {
    blockDim.x = nt;
    for (unsigned b = 0; b < nb; ++b) {
        blockIdx.x = b;
        for (unsigned t = 0; t < nt; ++t) { threadIdx.x = t; f(a...); }
    }
}
extern "C" {
void launch_warp_fwd(unsigned nb, unsigned nt, const float* feat, const float* flow, float* out,
                     int N, int C, int H, int W, int zeros)
{ launch(nb, nt, warp_fwd, feat, flow, out, N, C, H, W, zeros); }
void launch_warp_bwd(unsigned nb, unsigned nt, const float* feat, const float* flow, const float* go,
                     float* gf, float* gflow, int N, int C, int H, int W, int zeros, int nf, int nfl)
{ launch(nb, nt, warp_bwd, feat, flow, go, gf, gflow, N, C, H, W, zeros, nf, nfl); }
void launch_im2col_active_b32(unsigned nb, unsigned nt, const unsigned* src, const long long* rows,
                              const long long* lut, unsigned* cols, long long A, int C, int H, int W, int K)
{ launch(nb, nt, im2col_active_b32, src, rows, lut, cols, A, C, H, W, K); }
void launch_im2col_active_b16(unsigned nb, unsigned nt, const unsigned short* src, const long long* rows,
                              const long long* lut, unsigned short* cols, long long A, int C, int H, int W,
                              int K)
{ launch(nb, nt, im2col_active_b16, src, rows, lut, cols, A, C, H, W, K); }
void launch_scatter_rows_b16(unsigned nb, unsigned nt, const unsigned short* vals, const long long* rows,
                             unsigned short* out, long long A, int C)
{ launch(nb, nt, scatter_rows_b16, vals, rows, out, A, C); }
void launch_scatter_rows_b32(unsigned nb, unsigned nt, const unsigned* vals, const long long* rows,
                             unsigned* out, long long A, int C)
{ launch(nb, nt, scatter_rows_b32, vals, rows, out, A, C); }
}
"""


class _Ptr:
    """A tensor's data pointer for ctypes that keeps the tensor alive (as cupy.asarray does)."""

    def __init__(self, t):
        self.tensor = t
        self._as_parameter_ = ctypes.c_void_p(t.data_ptr())


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    d = tmp_path_factory.mktemp("cuda_emu")
    src = d / "kernels.cpp"
    src.write_text(PRELUDE + _cuda._SOURCE + LAUNCHERS)
    lib = d / "kernels.so"
    subprocess.run(["g++", "-O1", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    so = ctypes.CDLL(str(lib))

    def arr(t):
        return ctypes.c_void_p(0) if t is None else _Ptr(t.detach())

    def launch(name, total, device, *args):
        if total == 0:
            return
        conv = []
        for a in args:
            if isinstance(a, np.int32):
                conv.append(ctypes.c_int(int(a)))
            elif isinstance(a, (np.int64,)):
                conv.append(ctypes.c_longlong(int(a)))
            elif isinstance(a, np.uint64):
                conv.append(ctypes.c_void_p(int(a) or None))
            else:
                conv.append(a)
        nt = _cuda._THREADS
        getattr(so, "launch_" + name)(ctypes.c_uint((total + nt - 1) // nt), ctypes.c_uint(nt), *conv)

    mp = pytest.MonkeyPatch()
    mp.setattr(_cuda, "_arr", arr)
    mp.setattr(_cuda, "_launch", launch)
    yield _cuda
    mp.undo()


def _rand(shape, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * scale


@pytest.mark.parametrize("padding", ["border", "zeros"])
def test_emulated_warp_forward_backward(emulated, padding):
    h, w = 7, 11
    feat, flow, grad = _rand((2, 3, h, w), 0), _rand((2, h, w, 2), 1, 4.0), _rand((2, 3, h, w), 2)
    fe, fle = feat.clone().requires_grad_(), flow.clone().requires_grad_()
    out = emulated.warp(fe, fle, padding)
    out.backward(grad)
    fr, flr = feat.clone().requires_grad_(), flow.clone().requires_grad_()
    ref = warp_ref(fr, flr, padding)
    ref.backward(grad)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fe.grad, fr.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fle.grad, flr.grad, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_emulated_sparse_conv(emulated, dtype):
    from cvsr.ops import ActiveSet

    x, wt, b = _rand((2, 5, 9, 13), 3), _rand((4, 5, 3, 3), 4, 0.3), _rand((4,), 5)
    base = _rand((2, 4, 9, 13), 6)
    mask = torch.rand(2, 9, 13, generator=torch.Generator().manual_seed(7)) < 0.4
    out = emulated.sparse_conv(x.to(dtype), wt.to(dtype), b.to(dtype), ActiveSet.from_mask(mask), base.to(dtype))
    assert out.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(out.float(), sparse_conv_ref(x, wt, b, mask, base), atol=tol, rtol=tol)


def test_emulated_sparse_resblocks(emulated):
    c = 6
    x = _rand((1, c, 10, 12), 8)
    blocks = [(_rand((c, c, 3, 3), 9 + i, 0.2), _rand((c,), 20 + i, 0.1), _rand((c, c, 3, 3), 30 + i, 0.2),
               _rand((c,), 40 + i, 0.1)) for i in range(2)]
    mask = torch.rand(1, 10, 12, generator=torch.Generator().manual_seed(9)) < 0.3
    out = emulated.sparse_resblocks(x, blocks, ResblockPlan(mask))
    torch.testing.assert_close(out, resblocks_ref(x, blocks, mask), atol=1e-5, rtol=1e-5)
