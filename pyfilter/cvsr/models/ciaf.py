"""CIAF: MV-aligned unidirectional recurrent VSR with residual-informed sparse processing.

Zhang et al., "A Codec Information Assisted Framework for Efficient Compressed Video Super-Resolution",
ECCV 2022 (../shared/papers/ciaf_*). One recurrent step, as in the paper's Fig. 1:

    feat_prop = warp(state.feat, mv_field)                    MV alignment in feature space (Table 2 (b))
    hr_prop   = warp(state.hr, s * mv_field up x s)           hr_feedback only: MV alignment of the previous output
    detail    = space_to_depth(hr_prop - upsample(lr))        (FRVSR+MV, CIAF Table 1), so detail accumulates
    feat      = lrelu(head(cat(lr, feat_prop[, detail])))     dense
    feat      = resblocks(feat)                               sparse: only where residual_mask != 0
    feat      = where(residual_mask, feat, feat_prop)         skipped pixels reuse the warped features
    hr        = pixel_shuffle(tail(feat)) + upsample(lr)      dense
    state     = (feat, lr, hr)

Tensors and units:
  * lr: (n, 3, h, w) float RGB in [0, 1]. hr: (n, 3, s*h, s*w) RGB, nominally [0, 1], not clamped.
  * mv_field: (n, h, w, 2) float, LR pixels, (dx, dy): the current pixel (x, y) is predicted from
    (x + dx, y + dy) in the previous frame (H.264 MV convention, see ``cvsr.ops.warp``). Intra blocks carry
    MV = 0 (features at the same position are reused). None means all zero.
  * residual_mask: (n, h, w) (or (n, 1, h, w)); nonzero where the codec residual is nonzero. bool/{0,1}
    selects the sparse path; a float mask in [0, 1] (training, Gumbel-softmax) multiplies instead.
    None runs the blocks densely (the "Baseline+MV" model of Table 3).
  * state: ``CIAFState`` from the previous step, or None to reset (first frame, I-frame when the caller
    wants a cut). Without a state there is nothing to reuse, so the mask is ignored and the step is dense.

Sparse semantics (``cvsr.ops.sparse_conv`` module docstring): inside the body, each residual block adds its
branch only at active pixels (conv1 runs on the active set plus a 1-pixel halo so conv2 sees exact inputs);
after the body, inactive pixels take the MV-warped previous features ("For the rest areas, we reuse
features of the previous frame by warping [them] according to MVs", Sec. 1/3.3), or the head output with
``skip_fill="head"``. The sparse gather path equals the masked dense path exactly (up to float rounding),
which is what training runs.

HR feedback (``hr_feedback=True``): the previous output is warped at HR with the MV field repeated over
each s x s HR block and multiplied by s (exact for the block-constant H.264 motion), minus the
interpolated current LR frame, and folded into s*s*3 LR channels. In H.264 skip blocks the LR content *is*
the MV-shifted reference, so the warped previous output is the best estimate there; the network learns where
to trust it. After a reset the detail input is zero. In sparse mode (a residual mask, ``skip_fill="warped"``)
pixels without residual take the warped previous features *and* the warped previous output (the codec says
nothing changed there but the motion), back-projected onto the current LR frame (``back_project``) so the
reused output stays anchored to the current frame instead of drifting.

Precision: fp32 weights and activations. On CUDA, wrap calls in ``torch.autocast("cuda", torch.float16)``
for fp16 convolutions and GEMMs (the warp always computes in fp32); states may then hold fp16 features.

Training-time mask (Sec. 3.3): a light CNN on (lr, MV-warped previous lr) gives 2-class logits; a
Gumbel-softmax sample with temperature ``gumbel_temperature(epoch)`` is the soft mask, and the mean mask
is penalised with weight ``sparsity_weight(epoch)``. At test time the codec residual mask replaces it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import (ResblockPlan, degrade_tensor, feedback_detail, hr_flow, resblocks_ref, sparse_resblocks,
                   upsample_add, warp)

__all__ = ["CIAF", "CIAFConfig", "CIAFState", "ClipOutput", "gumbel_temperature", "sparsity_weight",
           "sparsity_loss"]


@dataclass(frozen=True)
class CIAFConfig:
    """Hyper-parameters of a CIAF network (paper: 128 channels, 7 residual blocks, x4)."""

    channels: int = 128
    num_blocks: int = 7
    scale: int = 4
    mask_channels: int = 16          # width of the training-time mask CNN
    skip_fill: str = "warped"        # inactive pixels after the body: "warped" features or "head" output
    lr_upsample: str = "bilinear"    # interpolation of the LR frame the network output is added to
    hr_feedback: bool = False        # feed the MV-warped previous output back (space-to-depth) to the head

    def __post_init__(self):
        if self.channels < 1 or self.num_blocks < 0:
            raise ValueError(f"channels must be >= 1 and num_blocks >= 0, got {self.channels}, {self.num_blocks}")
        if self.scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4, got {self.scale}")
        if self.skip_fill not in ("warped", "head"):
            raise ValueError(f"skip_fill must be 'warped' or 'head', got {self.skip_fill!r}")
        if self.lr_upsample not in ("bilinear", "bicubic"):
            raise ValueError(f"lr_upsample must be 'bilinear' or 'bicubic', got {self.lr_upsample!r}")


class CIAFState(NamedTuple):
    """Recurrent state carried between steps (LR grid of the previous frame)."""

    feat: torch.Tensor  # (n, channels, h, w) hidden features (body output) of the previous frame
    lr: torch.Tensor    # (n, 3, h, w) previous LR frame, input of the mask CNN
    hr: torch.Tensor | None = None  # (n, 3, s*h, s*w) previous output (hr_feedback), None after a reset


class ClipOutput(NamedTuple):
    hr: torch.Tensor                 # (n, t, 3, s*h, s*w)
    masks: torch.Tensor | None       # (n, t, h, w) masks used per frame (1 where dense), None if all dense
    state: CIAFState                 # state after the last frame


def gumbel_temperature(epoch: float, t_temp: float = 40.0, tau_min: float = 0.5) -> float:
    """Gumbel-softmax temperature, paper eq. (4): tau = max(1 - epoch / T_temp, 0.5), T_temp = 40.

    epoch may be fractional (step / steps_per_epoch), so the schedule can be driven per step.
    """
    return max(1.0 - epoch / t_temp, tau_min)


def sparsity_weight(epoch: float, t_epoch: float = 20.0, lambda0: float = 0.004) -> float:
    """Weight of the sparsity loss, paper eq. (3): lambda = min(epoch / T_epoch, 1) * lambda0."""
    return min(epoch / t_epoch, 1.0) * lambda0


def sparsity_loss(masks: torch.Tensor) -> torch.Tensor:
    """Paper eq. (2): mean of the (soft) masks, (n, t, h, w) or (n, h, w) -> scalar."""
    return masks.float().mean()


class ResidualBlock(nn.Module):
    """conv3x3 - ReLU - conv3x3 with identity skip, no normalisation."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        with torch.no_grad():  # small residual branches at init: the recurrence starts near identity
            self.conv2.weight.mul_(0.1)

    def weights(self):
        return (self.conv1.weight, self.conv1.bias, self.conv2.weight, self.conv2.bias)


class MaskPredictor(nn.Module):
    """Light CNN: (lr, aligned previous lr) (n, 6, h, w) -> 2-class logits (n, 2, h, w); class 1 = compute."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(6, channels, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(channels, 2, 3, padding=1),
        )

    def forward(self, lr: torch.Tensor, lr_prev_aligned: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat((lr, lr_prev_aligned), dim=1))


class CIAF(nn.Module):
    """The CIAF recurrent network; ``step`` is one frame, ``forward_clip`` a training clip.

    The module holds weights only; the recurrent state is passed in and returned.
    """

    def __init__(self, config: CIAFConfig):
        super().__init__()
        self.config = config
        c, s = config.channels, config.scale
        self.head = nn.Conv2d(3 + c + (3 * s * s if config.hr_feedback else 0), c, 3, padding=1)
        self.blocks = nn.ModuleList(ResidualBlock(c) for _ in range(config.num_blocks))
        self.tail = nn.Conv2d(c, 3 * s * s, 3, padding=1)
        with torch.no_grad():  # start close to the interpolated LR frame
            self.tail.weight.mul_(0.1)
            self.tail.bias.zero_()
        self.mask_net = MaskPredictor(config.mask_channels)

    # -- pieces a subclass may change ----------------------------------------------------------
    motion_aligned = True  # False: previous-frame data is used at the same position (``Baseline``)

    def align(self, x: torch.Tensor, mv_field: torch.Tensor | None) -> torch.Tensor:
        """Backward-warp previous-frame data (n, c, h, w) to the current frame with the MV field."""
        if mv_field is None or not self.motion_aligned:
            return x
        return warp(x, mv_field, padding="border")  # interpolates in fp32 for fp16 features

    def align_hr(self, hr: torch.Tensor, mv_field: torch.Tensor | None) -> torch.Tensor:
        """Backward-warp the previous output (n, 3, s*h, s*w) with the LR MV field scaled to HR pixels."""
        if mv_field is None or not self.motion_aligned:
            return hr
        return self.align(hr, hr_flow(mv_field, self.config.scale))

    # -- one recurrent step -------------------------------------------------------------------
    def initial_state(self, lr: torch.Tensor) -> CIAFState:
        """All-zero state for a (n, 3, h, w) frame (what a reset means)."""
        n, _, h, w = lr.shape
        return CIAFState(lr.new_zeros((n, self.config.channels, h, w)), lr.new_zeros((n, 3, h, w)))

    def step(self, lr: torch.Tensor, mv_field: torch.Tensor | None = None,
             residual_mask: torch.Tensor | None = None, state: CIAFState | None = None, *,
             sparse_impl: str = "auto", trunk=None, output=None) -> tuple[torch.Tensor, CIAFState]:
        """One frame: (lr, mv_field, residual_mask, state) -> (hr, new state). See the module docstring.

        sparse_impl: how a bool mask is applied: "gather" (sparse convolutions; the inference path),
        "masked" (dense convs, branch multiplied by the mask; the training path) or "auto" ("gather"
        without autograd, else "masked"). Float masks always use "masked".
        trunk: a callable standing in for ``self.trunk`` on dense steps (an inference backend,
        ``cvsr.runtime``): it takes the list of trunk inputs (LR frame, aligned features[, fed-back detail]),
        which it concatenates itself, and returns (features, output residual); the alignment,
        interpolation and fed-back detail around it stay here.
        output: a callable standing in for ``cvsr.ops.upsample_add`` (res, lr, scale, mode) -> hr on dense
        steps, whose output is final there (the filter host's, which also converts it to YUV on the way).
        """
        self._check_inputs(lr, mv_field, residual_mask, state)
        if sparse_impl not in ("auto", "gather", "masked"):
            raise ValueError(f"sparse_impl must be 'auto', 'gather' or 'masked', got {sparse_impl!r}")
        if state is None:
            state = self.initial_state(lr)
            residual_mask = None  # nothing to reuse: compute everything
        feat_prop = self.align(state.feat, mv_field)
        s, mode = self.config.scale, self.config.lr_upsample
        inputs = [lr, feat_prop]
        hr_prop = None  # the aligned previous output itself: only sparse steps reuse it (``_reuse_output``)
        if self.config.hr_feedback:
            if state.hr is None:
                detail = lr.new_zeros((lr.shape[0], 3 * s * s, *lr.shape[2:]))
            elif residual_mask is not None and self.config.skip_fill == "warped":
                hr_prop = self.align_hr(state.hr, mv_field).to(lr.dtype)
                detail = feedback_detail(hr_prop, lr, None, s, mode)  # hr_prop is aligned already
            else:
                detail = feedback_detail(state.hr, lr, mv_field if self.motion_aligned else None, s, mode)
            inputs.append(detail)
        if trunk is not None and residual_mask is None:
            feat, res = trunk(inputs)
        else:
            dtype = self.head.weight.dtype  # an fp16 model takes fp32 frames too (autocast runs fp32 weights)
            x = torch.cat([t.to(dtype) for t in inputs], dim=1)
            # channels_last: 2.4x (32 ch) and 1.4x (128 ch) faster 3x3 convs than NCHW on the 2-core CPU
            # (oneDNN), and the sparse path then reads the features without a copy
            x = x.contiguous(memory_format=torch.channels_last)
            feat, res = self.trunk(x, feat_prop, residual_mask, sparse_impl)
        hr = (output if output is not None and residual_mask is None else upsample_add)(res, lr, s, mode)
        if hr_prop is not None and residual_mask is not None and self.config.skip_fill == "warped":
            hr = self._reuse_output(hr, self.back_project(hr_prop, lr), residual_mask)
        return hr, CIAFState(feat, lr, hr if self.config.hr_feedback else None)

    def back_project(self, hr: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
        """``hr`` corrected so that it degrades to ``lr``: hr + up(lr - degrade(hr)) (one step of
        iterative back-projection with the training degradation, ``cvsr.ops.degrade``).

        What sparse mode outputs where the codec coded no residual: the MV-warped previous output keeps
        its detail, the correction pins its low frequencies to the current frame (deblocking, chroma
        residual, weighted prediction, blocks whose vector moved part of their content wrongly), so errors
        do not pile up over the frames a region is reused (held-out CRF 23: -0.15 dB against dense where
        adding the interpolated LR change against the warped previous LR frame lost 0.38 dB).
        """
        err = lr.to(hr.dtype) - degrade_tensor(hr, self.config.scale)
        return hr + F.interpolate(err, scale_factor=self.config.scale, mode=self.config.lr_upsample,
                                  align_corners=False)

    def trunk(self, x: torch.Tensor, feat_prop: torch.Tensor | None = None, mask: torch.Tensor | None = None,
              sparse_impl: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
        """The convolutions of a step: head, residual blocks (sparse with a ``mask``, see ``_body``), tail.

        x: (n, 3 + c [+ 3 s^2], h, w), the concatenated LR frame, aligned features [and fed-back detail].
        Returns (features (n, c, h, w), output residual before depth-to-space (n, 3 s^2, h, w)). Called
        with ``x`` alone it is the dense trunk an inference backend exports (``cvsr.runtime``).
        """
        feat = F.leaky_relu(self.head(x), 0.1, inplace=True)
        feat = self._body(feat, feat_prop, mask, sparse_impl)
        return feat, self.tail(feat)

    def _reuse_output(self, hr, hr_fill, mask):
        """Where the codec coded no residual the LR frame *is* the motion-compensated reference, so the
        output is the MV-warped previous output (quarter-pel vectors are whole HR pixels at x4: a copy, no
        blur), back-projected onto the current LR frame; elsewhere the network's.
        mask: (n, h, w) or (n, 1, h, w), bool or float in [0, 1]."""
        s = self.config.scale
        m = (mask if mask.dim() == 4 else mask[:, None])
        m = m.repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)
        if m.dtype.is_floating_point:
            m = m.to(hr.dtype)
            return m * hr + (1 - m) * hr_fill.to(hr.dtype)
        return torch.where(m != 0, hr, hr_fill.to(hr.dtype))

    def _body(self, feat, feat_prop, mask, sparse_impl):
        blocks = [blk.weights() for blk in self.blocks]
        if mask is None:
            return resblocks_ref(feat, blocks, None)
        if mask.dim() == 4:
            mask = mask[:, 0]
        if not mask.dtype.is_floating_point:
            mask = mask != 0  # bool / integer {0, 1} masks: binary
        use_gather = mask.dtype == torch.bool and (
            sparse_impl == "gather" or (sparse_impl == "auto" and not torch.is_grad_enabled()))
        if mask.dtype != torch.bool and sparse_impl == "gather":
            raise ValueError("sparse_impl='gather' needs a bool residual_mask")
        if use_gather:
            plan = ResblockPlan(mask)
            feat = sparse_resblocks(feat, blocks, plan, inplace=not torch.is_grad_enabled())
            if self.config.skip_fill == "warped":
                feat = torch.where(mask[:, None], feat, feat_prop.to(feat.dtype))
            return feat
        m = mask[:, None].to(feat.dtype)
        feat = resblocks_ref(feat, blocks, m)
        if self.config.skip_fill == "warped":
            feat = m * feat + (1 - m) * feat_prop.to(feat.dtype)
        return feat

    # -- training-time mask -------------------------------------------------------------------
    def predict_mask(self, lr: torch.Tensor, mv_field: torch.Tensor | None, state: CIAFState, tau: float = 1.0,
                     hard: bool | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mask from the light CNN, (n, h, w).

        Training (``hard`` False): Gumbel-softmax sample of class 1 at temperature tau, soft in (0, 1)
        (paper eq. (1)). ``hard`` True: bool argmax of the logits (no noise; evaluation with CNN masks).
        hard=None means ``not self.training``.
        """
        if hard is None:
            hard = not self.training
        logits = self.mask_net(lr, self.align(state.lr, mv_field))
        if hard:
            return logits[:, 1] > logits[:, 0]
        u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
        gumbel = -torch.log((-torch.log(u.clamp_min(1e-10))).clamp_min(1e-10))  # Gumbel(0, 1)
        return torch.softmax((logits + gumbel) / tau, dim=1)[:, 1]

    # -- clips --------------------------------------------------------------------------------
    def forward_clip(self, lrs: torch.Tensor, mvs: torch.Tensor | None = None, masks: torch.Tensor | None = None,
                     *, mask_source: str = "given", tau: float = 1.0, state: CIAFState | None = None,
                     generator: torch.Generator | None = None) -> ClipOutput:
        """Run ``step`` over a clip.

        lrs: (n, t, 3, h, w) RGB [0, 1]. mvs: (n, t, h, w, 2) pixels (frame i -> frame i-1; mvs[:, 0] is
        only used when a state is given) or None. masks: (n, t, h, w) residual masks or None (dense).
        mask_source: "given" uses ``masks``; "cnn" predicts them with the mask CNN (Gumbel at temperature
        tau in training mode, hard argmax in eval mode) and ignores ``masks``.
        state: state before the first frame, None to start from a reset.
        Returns ``ClipOutput(hr (n, t, 3, s*h, s*w), masks used (n, t, h, w) or None, final state)``;
        frames computed densely (the first one after a reset) count as all-ones in ``masks``.
        """
        if lrs.dim() != 5:
            raise ValueError(f"lrs must be (n, t, 3, h, w), got shape {tuple(lrs.shape)}")
        if mask_source not in ("given", "cnn"):
            raise ValueError(f"mask_source must be 'given' or 'cnn', got {mask_source!r}")
        n, t, _, h, w = lrs.shape
        hrs, used = [], []
        for i in range(t):
            lr = lrs[:, i]
            mv = None if mvs is None else mvs[:, i]
            if state is None:
                mask = None
            elif mask_source == "cnn":
                mask = self.predict_mask(lr, mv, state, tau=tau, generator=generator)
            else:
                mask = None if masks is None else masks[:, i]
            hr, state = self.step(lr, mv, mask, state)
            hrs.append(hr)
            used.append(lr.new_ones((n, h, w)) if mask is None else mask.to(lr.dtype).reshape(n, h, w))
        all_dense = masks is None and mask_source == "given"
        return ClipOutput(torch.stack(hrs, dim=1), None if all_dense else torch.stack(used, dim=1), state)

    def forward(self, lrs, mvs=None, masks=None, **kwargs) -> ClipOutput:
        """Same as ``forward_clip``."""
        return self.forward_clip(lrs, mvs, masks, **kwargs)

    def _check_inputs(self, lr, mv_field, residual_mask, state):
        if lr.dim() != 4 or lr.shape[1] != 3:
            raise ValueError(f"lr must be (n, 3, h, w) RGB, got shape {tuple(lr.shape)}")
        n, _, h, w = lr.shape
        if mv_field is not None and mv_field.shape != (n, h, w, 2):
            raise ValueError(f"mv_field must be (n, h, w, 2) = {(n, h, w, 2)} in LR pixels, "
                             f"got {tuple(mv_field.shape)}")
        if residual_mask is not None and residual_mask.shape not in ((n, h, w), (n, 1, h, w)):
            raise ValueError(f"residual_mask must be (n, h, w) = {(n, h, w)}, got {tuple(residual_mask.shape)}")
        s = self.config.scale
        if state is not None and (state.feat.shape != (n, self.config.channels, h, w)
                                  or state.lr.shape != lr.shape
                                  or (state.hr is not None and state.hr.shape != (n, 3, s * h, s * w))):
            raise ValueError(f"state does not match this frame: feat {tuple(state.feat.shape)}, expected "
                             f"{(n, self.config.channels, h, w)}; pass state=None after a size change")
