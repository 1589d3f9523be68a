"""CUDA kernels (CuPy RawModule) behind ``cvsr.ops``: warp forward/backward, sparse-conv gathers.

Imported only for CUDA tensors; CuPy itself is imported on first use. GEMMs go through ``torch.mm``
(cuBLAS). All launches run on torch's current CUDA stream.

STATUS: written without access to a GPU; the CUDA tests in tests/ops compare every kernel with the
CPU references and skip when CuPy or a GPU is missing. Until they have been run on a GPU, set
``CVSR_CUDA_KERNELS=0`` to use the pure-torch paths on CUDA tensors.
"""
from __future__ import annotations

import functools
import os

import torch

_SOURCE = r"""
// ---- warp: one thread per output pixel (n, y, x), looping over channels. Layout NCHW, float32.
// flow (N, H, W, 2) in pixels: sample position (x + flow[..., 0], y + flow[..., 1]).
struct Taps {
    int n;             // batch index of the pixel
    long long rem;     // its offset within the (H, W) plane
    float ax, ay;      // fractional parts of the sample position
    bool clamped_x, clamped_y;
    bool v00, v01, v10, v11;       // which of the four taps lie inside the frame
    float w00, w01, w10, w11;      // their bilinear weights
    long long i00, i01, i10, i11;  // their offsets within the plane
};

// The bilinear taps of output pixel pix = (n, y, x) sampling at (x + flow[..., 0], y + flow[..., 1]).
__device__ __forceinline__ Taps warp_taps(const float* flow, long long pix, int H, int W, int zeros) {
    long long HW = (long long)H * W;
    Taps t;
    t.n = (int)(pix / HW);
    t.rem = pix - t.n * HW;
    int y = (int)(t.rem / W), x = (int)(t.rem - (long long)y * W);
    float px = (float)x + flow[2 * pix];
    float py = (float)y + flow[2 * pix + 1];
    t.clamped_x = false;
    t.clamped_y = false;
    if (!zeros) {
        // clamp-to-edge; the position gradient is 0 where clamped (as grid_sample's "border")
        if (!(px > 0.f)) { px = 0.f; t.clamped_x = true; }
        else if (px >= (float)(W - 1)) { px = (float)(W - 1); t.clamped_x = true; }
        if (!(py > 0.f)) { py = 0.f; t.clamped_y = true; }
        else if (py >= (float)(H - 1)) { py = (float)(H - 1); t.clamped_y = true; }
    } else {
        // all four taps are outside beyond these bounds; keeps the int conversion in range
        px = fminf(fmaxf(px, -2.f), (float)W + 1.f);
        py = fminf(fmaxf(py, -2.f), (float)H + 1.f);
    }
    float fx = floorf(px), fy = floorf(py);
    int x0 = (int)fx, y0 = (int)fy, x1 = x0 + 1, y1 = y0 + 1;
    t.ax = px - fx;
    t.ay = py - fy;
    bool vx0 = x0 >= 0 && x0 < W, vx1 = x1 >= 0 && x1 < W;
    bool vy0 = y0 >= 0 && y0 < H, vy1 = y1 >= 0 && y1 < H;
    t.v00 = vy0 && vx0; t.v01 = vy0 && vx1; t.v10 = vy1 && vx0; t.v11 = vy1 && vx1;
    t.w00 = (1.f - t.ax) * (1.f - t.ay); t.w01 = t.ax * (1.f - t.ay);
    t.w10 = (1.f - t.ax) * t.ay;         t.w11 = t.ax * t.ay;
    t.i00 = (long long)y0 * W + x0; t.i01 = (long long)y0 * W + x1;
    t.i10 = (long long)y1 * W + x0; t.i11 = (long long)y1 * W + x1;
    return t;
}

extern "C" __global__ void warp_fwd(const float* __restrict__ feat, const float* __restrict__ flow,
                                    float* __restrict__ out, int N, int C, int H, int W, int zeros) {
    long long pix = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long HW = (long long)H * W;
    if (pix >= (long long)N * HW) return;
    Taps t = warp_taps(flow, pix, H, W, zeros);
    const float* src = feat + (long long)t.n * C * HW;
    float* dst = out + (long long)t.n * C * HW + t.rem;
    for (int c = 0; c < C; ++c, src += HW, dst += HW) {
        float v = 0.f;
        if (t.v00) v += t.w00 * src[t.i00];
        if (t.v01) v += t.w01 * src[t.i01];
        if (t.v10) v += t.w10 * src[t.i10];
        if (t.v11) v += t.w11 * src[t.i11];
        *dst = v;
    }
}

// grad_feat must be zero-initialised (atomics); grad_flow (N, H, W, 2) is fully written.
extern "C" __global__ void warp_bwd(const float* __restrict__ feat, const float* __restrict__ flow,
                                    const float* __restrict__ grad_out, float* __restrict__ grad_feat,
                                    float* __restrict__ grad_flow, int N, int C, int H, int W, int zeros,
                                    int need_feat, int need_flow) {
    long long pix = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long HW = (long long)H * W;
    if (pix >= (long long)N * HW) return;
    Taps t = warp_taps(flow, pix, H, W, zeros);
    const float* src = feat + (long long)t.n * C * HW;
    float* gsrc = grad_feat + (long long)t.n * C * HW;
    const float* g = grad_out + (long long)t.n * C * HW + t.rem;
    float gx = 0.f, gy = 0.f;
    for (int c = 0; c < C; ++c, src += HW, gsrc += HW, g += HW) {
        float go = *g;
        float v00 = t.v00 ? src[t.i00] : 0.f;
        float v01 = t.v01 ? src[t.i01] : 0.f;
        float v10 = t.v10 ? src[t.i10] : 0.f;
        float v11 = t.v11 ? src[t.i11] : 0.f;
        if (need_flow) {
            gx += go * ((1.f - t.ay) * (v01 - v00) + t.ay * (v11 - v10));
            gy += go * ((1.f - t.ax) * (v10 - v00) + t.ax * (v11 - v01));
        }
        if (need_feat) {
            if (t.v00) atomicAdd(gsrc + t.i00, t.w00 * go);
            if (t.v01) atomicAdd(gsrc + t.i01, t.w01 * go);
            if (t.v10) atomicAdd(gsrc + t.i10, t.w10 * go);
            if (t.v11) atomicAdd(gsrc + t.i11, t.w11 * go);
        }
    }
    if (need_flow) {
        grad_flow[2 * pix] = t.clamped_x ? 0.f : gx;
        grad_flow[2 * pix + 1] = t.clamped_y ? 0.f : gy;
    }
}

// ---- sparse conv: im2col restricted to active pixels, channels-last rows, dtype-agnostic copies.
// cols[a, k, c] = src[q, c] where q is the row of the k-th neighbour of pixel rows[a] (k = ky * K + kx),
// looked up through lut (pixel -> row of src, -1 = zero) when lut is not null; 0 outside the frame.
#define IM2COL(NAME, T)                                                                              \
extern "C" __global__ void NAME(const T* __restrict__ src, const long long* __restrict__ rows,      \
                                const long long* __restrict__ lut, T* __restrict__ cols,            \
                                long long A, int C, int H, int W, int K) {                          \
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;                                  \
    long long KK = (long long)K * K;                                                                 \
    if (i >= A * KK * C) return;                                                                     \
    int c = (int)(i % C);                                                                            \
    long long t = i / C;                                                                             \
    int k = (int)(t % KK);                                                                           \
    long long a = t / KK;                                                                            \
    long long p = rows[a];                                                                           \
    long long HW = (long long)H * W;                                                                 \
    long long rem = p % HW;                                                                          \
    int y = (int)(rem / W), x = (int)(rem % W);                                                      \
    int r = K / 2;                                                                                   \
    int yy = y + k / K - r, xx = x + k % K - r;                                                      \
    T v = (T)0;                                                                                      \
    if (yy >= 0 && yy < H && xx >= 0 && xx < W) {                                                    \
        long long q = p + (long long)(yy - y) * W + (xx - x);                                        \
        if (lut) q = lut[q];                                                                         \
        if (q >= 0) v = src[q * C + c];                                                              \
    }                                                                                                \
    cols[i] = v;                                                                                     \
}
IM2COL(im2col_active_b32, unsigned int)
IM2COL(im2col_active_b16, unsigned short)

// out[rows[a], c] = vals[a, c]
#define SCATTER(NAME, T)                                                                             \
extern "C" __global__ void NAME(const T* __restrict__ vals, const long long* __restrict__ rows,      \
                                T* __restrict__ out, long long A, int C) {                          \
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;                                  \
    if (i >= A * C) return;                                                                          \
    long long a = i / C;                                                                             \
    out[rows[a] * C + (i - a * C)] = vals[i];                                                        \
}
SCATTER(scatter_rows_b32, unsigned int)
SCATTER(scatter_rows_b16, unsigned short)
"""

_THREADS = 256


def available() -> bool:
    """True when the CuPy kernels should be used for CUDA tensors (CuPy importable, not disabled)."""
    if os.environ.get("CVSR_CUDA_KERNELS", "1") == "0":
        return False
    try:
        _cupy()
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=None)
def _cupy():
    import cupy  # noqa: PLC0415 - lazy on purpose: CPU users never need CuPy

    return cupy


@functools.lru_cache(maxsize=None)
def _module(device_index: int):
    cupy = _cupy()
    with cupy.cuda.Device(device_index):
        return cupy.RawModule(code=_SOURCE, options=("-std=c++14",))


def _launch(name: str, total: int, device: torch.device, *args) -> None:
    if total == 0:
        return
    cupy = _cupy()
    index = device.index if device.index is not None else torch.cuda.current_device()
    blocks = (total + _THREADS - 1) // _THREADS
    with cupy.cuda.Device(index):
        fn = _module(index).get_function(name)  # compiled (NVRTC) and loaded on first use
        with cupy.cuda.ExternalStream(torch.cuda.current_stream(device).cuda_stream):
            fn((blocks,), (_THREADS,), args)


def _arr(t: torch.Tensor | None):
    """Zero-copy CuPy view of a contiguous CUDA tensor (None -> 64-bit null pointer)."""
    if t is None:
        return _np().uint64(0)
    # detach: __cuda_array_interface__ refuses tensors that require grad (autograd inputs do)
    return _cupy().asarray(t.detach())


def _np():
    import numpy as np  # noqa: PLC0415

    return np


# ---------------------------------------------------------------------------------------- warp

class _Warp(torch.autograd.Function):
    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)
    def forward(ctx, feat, flow, zeros: bool):
        feat = feat.float().contiguous()
        flow = flow.float().contiguous()
        n, c, h, w = feat.shape
        out = torch.empty_like(feat)
        np = _np()
        _launch("warp_fwd", n * h * w, feat.device, _arr(feat), _arr(flow), _arr(out),
                np.int32(n), np.int32(c), np.int32(h), np.int32(w), np.int32(zeros))
        ctx.save_for_backward(feat, flow)
        ctx.zeros = zeros
        return out

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, grad_out):
        feat, flow = ctx.saved_tensors
        n, c, h, w = feat.shape
        need_feat, need_flow = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_feat = torch.zeros_like(feat)
        grad_flow = torch.empty_like(flow)
        np = _np()
        _launch("warp_bwd", n * h * w, feat.device, _arr(feat), _arr(flow),
                _arr(grad_out.float().contiguous()), _arr(grad_feat), _arr(grad_flow),
                np.int32(n), np.int32(c), np.int32(h), np.int32(w), np.int32(ctx.zeros),
                np.int32(need_feat), np.int32(need_flow))
        return (grad_feat if need_feat else None), (grad_flow if need_flow else None), None


def warp(feat: torch.Tensor, flow: torch.Tensor, padding: str) -> torch.Tensor:
    """CUDA warp; arguments as ``cvsr.ops.warp``. Computes in and returns float32 (fp16 is upcast)."""
    return _Warp.apply(feat, flow, padding == "zeros")


# ----------------------------------------------------------------------------------- sparse conv

def _suffix(t: torch.Tensor) -> str:
    size = t.element_size()
    if size not in (2, 4):
        raise ValueError(f"CUDA sparse conv supports 16- and 32-bit floats, got {t.dtype}")
    return "b32" if size == 4 else "b16"


def _bits(t: torch.Tensor) -> torch.Tensor:
    """Reinterpret float32/float16/bfloat16 storage as same-size integers (the kernels only copy)."""
    return t.view(torch.int32 if t.element_size() == 4 else torch.int16)


def _im2col(src_rows: torch.Tensor, rows: torch.Tensor, lut: torch.Tensor | None,
            shape: tuple[int, int, int], k: int) -> torch.Tensor:
    """(A, k*k*c) columns of the active pixels ``rows`` gathered from channels-last ``src_rows``."""
    _, h, w = shape
    a, c = rows.numel(), src_rows.shape[1]
    cols = src_rows.new_empty((a, k * k * c))
    np = _np()
    _launch(f"im2col_active_{_suffix(src_rows)}", a * k * k * c, src_rows.device,
            _arr(_bits(src_rows.contiguous())), _arr(rows), _arr(lut), _arr(_bits(cols)),
            np.int64(a), np.int32(c), np.int32(h), np.int32(w), np.int32(k))
    return cols


def _scatter_rows(vals: torch.Tensor, rows: torch.Tensor, out_rows: torch.Tensor) -> None:
    np = _np()
    _launch(f"scatter_rows_{_suffix(out_rows)}", vals.numel(), vals.device,
            _arr(_bits(vals.contiguous())), _arr(rows), _arr(_bits(out_rows)),
            np.int64(rows.numel()), np.int32(out_rows.shape[1]))


def _wmat(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    c_out, c_in, kh, kw = weight.shape
    return weight.permute(2, 3, 1, 0).reshape(kh * kw * c_in, c_out).to(dtype)


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    if torch.is_autocast_enabled("cuda"):
        return torch.get_autocast_dtype("cuda")
    return x.dtype


def sparse_conv(x, weight, bias, aset, base):
    """CUDA ``sparse_conv`` (inference: no autograd through the custom gathers)."""
    n, _, h, w = x.shape
    c_out, _, k, _ = weight.shape
    dtype = _compute_dtype(x)
    src = x.permute(0, 2, 3, 1).contiguous().to(dtype).reshape(n * h * w, -1)
    rows = aset.rows.contiguous()
    cols = _im2col(src, rows, None, (n, h, w), k)
    wmat = _wmat(weight, dtype)
    vals = torch.mm(cols, wmat) if bias is None else torch.addmm(bias.to(dtype), cols, wmat)
    out = base.permute(0, 2, 3, 1).contiguous().to(dtype).reshape(n * h * w, c_out)
    _scatter_rows(vals.to(out.dtype), rows, out)
    return out.view(n, h, w, c_out).permute(0, 3, 1, 2)


def sparse_resblocks(x, blocks, plan):
    """CUDA ``sparse_resblocks`` (inference). conv1 on the halo, conv2 on the active set via a lut."""
    n, c, h, w = x.shape
    dtype = _compute_dtype(x)
    rows = x.permute(0, 2, 3, 1).contiguous().to(dtype).reshape(n * h * w, c)
    halo_rows = plan.halo.rows.contiguous()
    active_rows = plan.active.rows.contiguous()
    lut = torch.full((n * h * w,), -1, dtype=torch.int64, device=x.device)
    lut[halo_rows] = torch.arange(halo_rows.numel(), device=x.device)
    for w1, b1, w2, b2 in blocks:
        k = w1.shape[2]
        cols = _im2col(rows, halo_rows, None, (n, h, w), k)
        wm1 = _wmat(w1, dtype)
        t = torch.mm(cols, wm1) if b1 is None else torch.addmm(b1.to(dtype), cols, wm1)
        torch.relu_(t)
        cols = _im2col(t, active_rows, lut, (n, h, w), w2.shape[2])
        wm2 = _wmat(w2, dtype)
        r = torch.mm(cols, wm2) if b2 is None else torch.addmm(b2.to(dtype), cols, wm2)
        rows.index_add_(0, active_rows, r)  # active rows are unique: no write conflicts
    return rows.view(n, h, w, c).permute(0, 3, 1, 2)
