"""Convolutions evaluated only at active pixels (CIAF's residual-informed sparse processing).

Layout. The sparse path works on *pixel rows*: a feature map (n, c, h, w) is viewed channels-last as a
matrix of n*h*w rows of c values, row ``p = (b * h + y) * w + x`` (a view, no copy, when the tensor is
channels_last contiguous). Zero padding without padding the image: a neighbour outside the frame is
gathered from the pixel itself and its gathered values are then zeroed (``Neighbours.outside``).

A k x k convolution at the A active pixels is then
    cols = rows[nbr]            (A, k*k*c_in)   gather, nbr (A, k*k) neighbour row indices (precomputed)
    out  = cols @ W + bias      (A, c_out)      one GEMM, W = weight.permute(2, 3, 1, 0) -> (k*k*c_in, c_out)
and the result is scattered into a base map whose inactive pixels are kept.

Residual blocks (``sparse_resblocks``). A block computes ``x + conv2(relu(conv1(x)))``. Semantics chosen
here, shared by the dense reference ``resblocks_ref`` and by the models:
  * at active pixels the block output is exactly the dense block's output;
  * at inactive pixels the block output is its input (the residual branch is multiplied by the mask);
  * so conv2 at an active pixel needs relu(conv1(x)) on its k x k neighbourhood: conv1 runs on the
    active set dilated by the kernel radius (the *halo*), conv2 on the active set only. The block's input
    x is defined everywhere (earlier blocks leave inactive pixels unchanged), so no further dilation is
    needed when blocks are chained: sparse blocks equal ``x + mask * branch(x)`` computed densely.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "ActiveSet",
    "Neighbours",
    "ResblockPlan",
    "sparse_conv",
    "sparse_conv_ref",
    "sparse_resblocks",
    "resblocks_ref",
    "dilate_mask",
]

# Rows per GEMM chunk: bounds the im2col workspace (8192 x 9 x 128 x 4 B = 36 MiB); chunks of 2k-32k
# rows measured within noise of each other on 2 cores for one 180x320 residual block.
_CHUNK_ROWS = 8192


def _check_mask(mask: torch.Tensor) -> torch.Tensor:
    if mask.dim() == 4 and mask.shape[1] == 1:
        mask = mask[:, 0]
    if mask.dim() != 3:
        raise ValueError(f"mask must be (n, h, w) or (n, 1, h, w), got shape {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        mask = mask != 0
    return mask


def dilate_mask(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Binary dilation of a (n, h, w) bool mask by a (2r+1)^2 square; pixels outside the frame are inactive."""
    mask = _check_mask(mask)
    if radius <= 0:
        return mask
    k = 2 * radius + 1
    return F.max_pool2d(mask[:, None].to(torch.float32), k, stride=1, padding=radius)[:, 0] > 0


@dataclass(frozen=True)
class ActiveSet:
    """The active pixels of a (n, h, w) mask, as row indices into the pixel-row layout.

    ``rows``: (A,) int64, increasing, ``(b * h + y) * w + x``. Build with ``ActiveSet.from_mask``.
    """

    rows: torch.Tensor
    shape: tuple[int, int, int]  # (n, h, w)

    @staticmethod
    def from_mask(mask: torch.Tensor) -> "ActiveSet":
        """mask: (n, h, w) or (n, 1, h, w); nonzero/True marks an active pixel."""
        mask = _check_mask(mask)
        rows = torch.nonzero(mask.reshape(-1), as_tuple=False).reshape(-1)
        n, h, w = mask.shape
        return ActiveSet(rows, (n, h, w))

    @property
    def count(self) -> int:
        return int(self.rows.numel())

    @property
    def num_pixels(self) -> int:
        n, h, w = self.shape
        return n * h * w

    def neighbours(self, kernel_size: int) -> "Neighbours":
        """Row indices of each active pixel's k x k neighbourhood, (ky, kx) order; see ``Neighbours``."""
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        _, h, w = self.shape
        r = kernel_size // 2
        rows = self.rows
        y = (rows % (h * w)) // w
        x = rows % w
        off = torch.arange(-r, r + 1, device=rows.device)
        dy = off.repeat_interleave(kernel_size)
        dx = off.repeat(kernel_size)
        yy = y[:, None] + dy[None]
        xx = x[:, None] + dx[None]
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        index = torch.where(inside, rows[:, None] + dy[None] * w + dx[None], rows[:, None])
        outside = torch.nonzero(~inside.reshape(-1), as_tuple=False).reshape(-1)
        return Neighbours(index, outside)


@dataclass(frozen=True)
class Neighbours:
    """Gather indices of a k x k conv at A pixels.

    ``index``: (A, k*k) int64 source rows; a neighbour outside the frame points at the pixel itself and
    its flat position ``a * k*k + k`` is listed in ``outside`` (M,), whose gathered values are zeroed
    (zero padding without padding or copying the source).
    """

    index: torch.Tensor
    outside: torch.Tensor

    def remap(self, lut: torch.Tensor) -> "Neighbours":
        """Same neighbourhoods read from another row layout: ``index -> lut[index]``."""
        return Neighbours(lut[self.index], self.outside)


def _wants_grad(*tensors: torch.Tensor | None) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def _as_active(active: torch.Tensor | ActiveSet, shape: tuple[int, int, int]) -> ActiveSet:
    if isinstance(active, ActiveSet):
        return active
    if active.dim() == 1 and not active.dtype.is_floating_point and active.dtype != torch.bool:
        n, h, w = shape
        rows = active.to(torch.int64)
        if rows.numel() and (int(rows.min()) < 0 or int(rows.max()) >= n * h * w):
            raise ValueError(f"active pixel indices must be in [0, {n * h * w}), got "
                             f"[{int(rows.min())}, {int(rows.max())}]")
        return ActiveSet(rows, shape)
    return ActiveSet.from_mask(active)


def _to_rows(x: torch.Tensor, copy: bool) -> torch.Tensor:
    """(n, c, h, w) -> (n*h*w, c) channels-last rows: a view if x is channels_last contiguous and
    ``copy`` is false, else a new tensor."""
    n, c, h, w = x.shape
    nhwc = x.permute(0, 2, 3, 1)
    if not copy and nhwc.is_contiguous():
        return nhwc.view(n * h * w, c)
    out = x.new_empty((n * h * w, c))
    out.view(n, h, w, c).copy_(nhwc)
    return out


def _from_rows(rows: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """(n*h*w, c) rows -> (n, c, h, w) view (channels_last memory format, no copy)."""
    n, h, w = shape
    return rows.view(n, h, w, rows.shape[1]).permute(0, 3, 1, 2)


def _weight_matrix(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(c_out, c_in, k, k) -> (k*k*c_in, c_out), matching the (ky, kx, c) order of gathered columns."""
    c_out, c_in, kh, kw = weight.shape
    return weight.permute(2, 3, 1, 0).reshape(kh * kw * c_in, c_out).to(dtype)


class _Workspace:
    """Scratch buffers reused across calls (per thread).

    Fresh large CPU allocations are page-faulted in on first touch: gathering 19k x 1152 floats into a
    new tensor took 57 ms, into a reused one 7 ms (2 cores). Grows, never shrinks.
    """

    def __init__(self):
        self._local = threading.local()

    def get(self, slot: str, numel: int, like: torch.Tensor) -> torch.Tensor:
        bufs = self._local.__dict__.setdefault("bufs", {})
        # inference tensors cannot be written outside inference mode: separate buffers for each
        key = (slot, like.device, like.dtype, torch.is_inference_mode_enabled())
        buf = bufs.get(key)
        if buf is None or buf.numel() < numel:
            buf = like.new_empty((max(numel, 1),))
            bufs[key] = buf
        return buf[:numel]

    def clear(self) -> None:
        self._local.__dict__.pop("bufs", None)


_workspace = _Workspace()


def _gather_gemm(src_rows: torch.Tensor, nbr: Neighbours, wmat: torch.Tensor,
                 bias: torch.Tensor | None, out: torch.Tensor | None = None) -> torch.Tensor:
    """out[i] = concat_k src_rows[nbr.index[i, k]] @ wmat + bias (outside neighbours read as 0); (A, c_out).

    Uses torch ops only, so it runs (and differentiates) on any device. Without autograd the im2col
    columns go to a reused workspace, in chunks of at most ``_CHUNK_ROWS`` rows.
    """
    a, kk = nbr.index.shape
    c_in = src_rows.shape[1]
    c_out = wmat.shape[1]
    if _wants_grad(src_rows, wmat, bias):
        cols = src_rows.index_select(0, nbr.index.reshape(-1))
        if nbr.outside.numel():
            cols = cols.index_fill(0, nbr.outside, 0)
        cols = cols.view(a, kk * c_in)
        return cols @ wmat if bias is None else torch.addmm(bias.to(cols.dtype), cols, wmat)
    if out is None:
        out = src_rows.new_empty((a, c_out))
    if a == 0:
        return out
    chunk = min(a, _CHUNK_ROWS)
    cols_buf = _workspace.get("cols", chunk * kk * c_in, src_rows)
    for s in range(0, a, chunk):
        e = min(a, s + chunk)
        cols = cols_buf[: (e - s) * kk * c_in].view((e - s) * kk, c_in)
        torch.index_select(src_rows, 0, nbr.index[s:e].reshape(-1), out=cols)
        if nbr.outside.numel():
            pos = nbr.outside
            if s > 0 or e < a:
                pos = pos[(pos >= s * kk) & (pos < e * kk)] - s * kk
            cols.index_fill_(0, pos, 0)
        cols = cols.view(e - s, kk * c_in)
        if bias is None:
            torch.mm(cols, wmat, out=out[s:e])
        else:
            torch.addmm(bias.to(cols.dtype), cols, wmat, out=out[s:e])
    return out


def sparse_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                active: torch.Tensor | ActiveSet, base: torch.Tensor | None = None) -> torch.Tensor:
    """2-D convolution (stride 1, 'same' zero padding, odd square kernel) computed only at active pixels.

    x: (n, c_in, h, w) input features. weight: (c_out, c_in, k, k). bias: (c_out,) or None.
    active: (n, h, w) / (n, 1, h, w) mask (nonzero = active), a 1-D integer tensor of active pixel indices
        ``(b * h + y) * w + x`` (unique), or an ``ActiveSet`` (build once, reuse across convs).
    base: (n, c_out, h, w) values kept at inactive pixels; None means zeros.
    Returns (n, c_out, h, w): ``conv2d(x)`` at active pixels, ``base`` elsewhere (channels_last memory format).
    Inputs outside the active set are read (a conv needs its neighbourhood) but not computed.
    """
    if x.dim() != 4 or weight.dim() != 4 or weight.shape[1] != x.shape[1] or weight.shape[2] != weight.shape[3]:
        raise ValueError(f"expected x (n, c, h, w) and weight (c_out, c, k, k), got {tuple(x.shape)} "
                         f"and {tuple(weight.shape)}")
    n, _, h, w = x.shape
    aset = _as_active(active, (n, h, w))
    if aset.shape != (n, h, w):
        raise ValueError(f"active set shape {aset.shape} does not match x {(n, h, w)}")
    c_out = weight.shape[0]
    if base is None:
        base = x.new_zeros((n, c_out, h, w))
    elif base.shape != (n, c_out, h, w):
        raise ValueError(f"base must be {(n, c_out, h, w)}, got {tuple(base.shape)}")
    if x.is_cuda and not _wants_grad(x, weight, bias, base):
        from . import _cuda
        if _cuda.available():
            return _cuda.sparse_conv(x, weight, bias, aset, base)
    src = _to_rows(x, copy=False)
    vals = _gather_gemm(src, aset.neighbours(weight.shape[2]), _weight_matrix(weight, src.dtype), bias)
    out_rows = _to_rows(base, copy=True)
    if _wants_grad(vals, base):
        out_rows = out_rows.index_copy(0, aset.rows, vals.to(out_rows.dtype))
    else:
        out_rows.index_copy_(0, aset.rows, vals.to(out_rows.dtype))
    return _from_rows(out_rows, (n, h, w))


def sparse_conv_ref(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                    mask: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
    """Reference for ``sparse_conv``: dense ``conv2d`` then select; same arguments (mask only)."""
    mask = _check_mask(mask)
    dense = F.conv2d(x, weight, bias, padding=weight.shape[2] // 2)
    if base is None:
        base = torch.zeros_like(dense)
    return torch.where(mask[:, None], dense, base)


BlockWeights = tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]


def resblocks_ref(x: torch.Tensor, blocks: Sequence[BlockWeights], mask: torch.Tensor | None) -> torch.Tensor:
    """Dense reference of chained residual blocks with the module-level semantics.

    x: (n, c, h, w). blocks: (w1, b1, w2, b2) per block, 3x3 (or any odd k) convs c -> c.
    mask: (n, h, w) bool / {0,1} or soft float in [0, 1] (training: Gumbel mask), or None (dense).
    Each block: ``x = x + mask * conv2(relu(conv1(x)))``.
    """
    m = None
    if mask is not None:
        if mask.dim() == 3:
            mask = mask[:, None]
        m = mask.to(x.dtype)
    for w1, b1, w2, b2 in blocks:
        t = F.relu(F.conv2d(x, w1, b1, padding=w1.shape[2] // 2))
        r = F.conv2d(t, w2, b2, padding=w2.shape[2] // 2)
        x = x + (r if m is None else r * m)
    return x


class ResblockPlan:
    """Index plan shared by every block of a chain of residual blocks on one active mask.

    ``active``, ``halo``: ActiveSets of the mask and of the mask dilated by the kernel radius.
    ``nbr_halo``: neighbours of the halo pixels in the block-input rows (n*h*w rows).
    ``nbr_active``: neighbours of the active pixels in the conv1-output rows (one row per halo pixel).
    Build it once per frame and pass it instead of the mask when it is needed more than once.
    """

    def __init__(self, mask: torch.Tensor, kernel_size: int = 3):
        mask = _check_mask(mask)
        n, h, w = mask.shape
        self.shape = (n, h, w)
        self.kernel_size = kernel_size
        self.active = ActiveSet.from_mask(mask)
        self.halo = ActiveSet.from_mask(dilate_mask(mask, kernel_size // 2))
        self.nbr_halo = self.halo.neighbours(kernel_size)
        # Every in-frame neighbour of an active pixel is a halo pixel; outside ones are zeroed anyway.
        lut = torch.zeros((n * h * w,), dtype=torch.int64, device=mask.device)
        lut[self.halo.rows] = torch.arange(self.halo.count, device=mask.device)
        self.nbr_active = self.active.neighbours(kernel_size).remap(lut)


def sparse_resblocks(x: torch.Tensor, blocks: Sequence[BlockWeights], mask: torch.Tensor | ResblockPlan,
                     inplace: bool = False) -> torch.Tensor:
    """Chained residual blocks ``x + conv2(relu(conv1(x)))`` evaluated sparsely; see the module docstring.

    x: (n, c, h, w). blocks: (w1, b1, w2, b2) per block, square odd kernels, c -> c.
    mask: (n, h, w) bool active mask, or a ``ResblockPlan`` built from it.
    inplace: without autograd, allowed to overwrite x when x is channels_last contiguous (saves a copy).
    Returns (n, c, h, w) (channels_last memory format): equal to ``resblocks_ref(x, blocks, mask)``
    at every pixel (inactive pixels keep x). Differentiable through the torch path.
    """
    if not blocks:
        return x
    plan = mask if isinstance(mask, ResblockPlan) else ResblockPlan(mask, blocks[0][0].shape[2])
    n, c, h, w = x.shape
    if plan.shape != (n, h, w):
        raise ValueError(f"mask shape {plan.shape} does not match x {(n, h, w)}")
    kernels = {t.shape[2] for blk in blocks for t in (blk[0], blk[2])}
    if kernels != {plan.kernel_size}:
        raise ValueError(f"all block convs must have the plan's kernel size {plan.kernel_size}, got {sorted(kernels)}")
    if plan.active.count == 0:
        return x
    training = _wants_grad(x, *(t for blk in blocks for t in blk))
    if x.is_cuda and not training:
        from . import _cuda
        if _cuda.available():
            return _cuda.sparse_resblocks(x, blocks, plan)
    rows = _to_rows(x, copy=not inplace or training)
    a, a1 = plan.active.count, plan.halo.count
    for w1, b1, w2, b2 in blocks:
        wm1, wm2 = _weight_matrix(w1, rows.dtype), _weight_matrix(w2, rows.dtype)
        if training:
            t = F.relu(_gather_gemm(rows, plan.nbr_halo, wm1, b1))
            rows = rows.index_add(0, plan.active.rows, _gather_gemm(t, plan.nbr_active, wm2, b2))
            continue
        t = _gather_gemm(rows, plan.nbr_halo, wm1, b1, out=_workspace.get("halo", a1 * c, rows).view(a1, c))
        torch.relu_(t)
        r = _gather_gemm(t, plan.nbr_active, wm2, b2, out=_workspace.get("branch", a * c, rows).view(a, c))
        rows.index_add_(0, plan.active.rows, r)  # conv1 of this block already read rows: safe in place
    return _from_rows(rows, (n, h, w))
