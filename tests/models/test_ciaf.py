import dataclasses

import pytest
import torch

from cvsr.models import (CIAF, MODELS, Baseline, BaselineConfig, CIAFConfig, CIAFState, build_model,
                         gumbel_temperature, load_checkpoint, load_model, save_checkpoint, sparsity_weight)

TINY = CIAFConfig(channels=8, num_blocks=2, mask_channels=4)


def _inputs(n=2, h=10, w=14, seed=0):
    g = torch.Generator().manual_seed(seed)
    lr = torch.rand((n, 3, h, w), generator=g)
    mv = torch.randn((n, h, w, 2), generator=g) * 2
    mask = torch.rand((n, h, w), generator=g) < 0.3
    return lr, mv, mask


def _model(config=TINY, seed=0):
    torch.manual_seed(seed)
    return build_model(config).eval()


def test_shapes_and_explicit_state():
    model = _model()
    lr, mv, mask = _inputs()
    with torch.no_grad():
        hr, state = model.step(lr, None, None, None)
        assert hr.shape == (2, 3, 40, 56)
        assert isinstance(state, CIAFState) and state.feat.shape == (2, 8, 10, 14)
        assert torch.equal(state.lr, lr)
        hr2, state2 = model.step(lr, mv, mask, state)
    assert hr2.shape == hr.shape and state2.feat.shape == state.feat.shape
    assert not any(k.startswith("_") for k in vars(model) if isinstance(getattr(model, k), torch.Tensor))


def test_step_is_pure_and_state_matters():
    model = _model()
    lr, mv, _ = _inputs()
    with torch.no_grad():
        _, state = model.step(lr)
        a, _ = model.step(lr, mv, None, state)
        b, _ = model.step(lr, mv, None, state)
        c, _ = model.step(lr, mv, None, None)
    assert torch.equal(a, b)  # no hidden state on the module
    assert not torch.allclose(a, c)


def test_reset_equals_zero_state_dense():
    model = _model()
    lr, mv, _ = _inputs()
    with torch.no_grad():
        a, _ = model.step(lr, mv, None, None)
        b, _ = model.step(lr, mv, None, model.initial_state(lr))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("skip_fill", ["warped", "head"])
def test_sparse_all_ones_equals_dense(skip_fill):
    model = _model(CIAFConfig(channels=8, num_blocks=2, mask_channels=4, skip_fill=skip_fill))
    lr, mv, _ = _inputs()
    ones = torch.ones(2, 10, 14, dtype=torch.bool)
    with torch.no_grad():
        _, state = model.step(lr)
        dense, sd = model.step(lr, mv, None, state)
        sparse, ss = model.step(lr, mv, ones, state, sparse_impl="gather")
    torch.testing.assert_close(sparse, dense, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ss.feat, sd.feat, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("hr_feedback", [False, True])
@pytest.mark.parametrize("skip_fill", ["warped", "head"])
def test_sparse_gather_equals_masked_dense(skip_fill, hr_feedback):
    model = _model(CIAFConfig(channels=8, num_blocks=3, mask_channels=4, skip_fill=skip_fill, hr_feedback=hr_feedback))
    lr, mv, mask = _inputs()
    with torch.no_grad():
        _, state = model.step(lr)
        a, sa = model.step(lr, mv, mask, state, sparse_impl="gather")
        b, sb = model.step(lr, mv, mask, state, sparse_impl="masked")
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sa.feat, sb.feat, atol=1e-5, rtol=1e-5)
    if skip_fill == "warped":  # skipped pixels hold the MV-warped previous features
        from cvsr.ops import warp

        warped = warp(state.feat, mv)
        inactive = ~mask[:, None].expand_as(warped)
        torch.testing.assert_close(sa.feat[inactive], warped[inactive])


def test_empty_mask_reuses_warped_features():
    model = _model()
    lr, mv, _ = _inputs()
    with torch.no_grad():
        _, state = model.step(lr)
        _, s2 = model.step(lr, mv, torch.zeros(2, 10, 14, dtype=torch.bool), state)
    from cvsr.ops import warp

    torch.testing.assert_close(s2.feat, warp(state.feat, mv))


def test_deterministic_for_fixed_seed():
    lr, mv, mask = _inputs()
    outs = []
    for _ in range(2):
        model = _model(seed=123)
        with torch.no_grad():
            out = model.forward_clip(torch.stack([lr, lr.flip(-1)], 1), torch.stack([mv, mv], 1),
                                     torch.stack([mask, mask], 1))
        outs.append(out.hr)
    assert torch.equal(outs[0], outs[1])


def test_forward_clip_training_with_gumbel_masks_backprops():
    model = _model()
    model.train()
    lr, mv, _ = _inputs(n=1, h=8, w=8)
    lrs = torch.stack([lr, lr.roll(1, -1), lr.roll(2, -1)], 1)
    mvs = torch.zeros(1, 3, 8, 8, 2)
    out = model.forward_clip(lrs, mvs, mask_source="cnn", tau=gumbel_temperature(3.0),
                             generator=torch.Generator().manual_seed(0))
    assert out.hr.shape == (1, 3, 3, 32, 32) and out.masks.shape == (1, 3, 8, 8)
    assert torch.all(out.masks[:, 0] == 1)  # first frame after reset is dense
    soft = out.masks[:, 1:]
    assert soft.min() > 0 and soft.max() < 1
    loss = out.hr.abs().mean() + sparsity_weight(10) * soft.mean()
    loss.backward()
    assert model.mask_net.body[0].weight.grad is not None and model.head.weight.grad is not None


def test_schedules():
    assert gumbel_temperature(0) == 1.0 and gumbel_temperature(10) == 0.75 and gumbel_temperature(100) == 0.5
    assert sparsity_weight(0) == 0.0 and sparsity_weight(10) == pytest.approx(0.002)
    assert sparsity_weight(50) == pytest.approx(0.004)


def test_baseline_ignores_motion():
    torch.manual_seed(0)
    model = Baseline(BaselineConfig(channels=8, num_blocks=2, mask_channels=4)).eval()
    lr, mv, _ = _inputs()
    with torch.no_grad():
        _, state = model.step(lr)
        a, _ = model.step(lr, mv, None, state)
        b, _ = model.step(lr, torch.zeros_like(mv), None, state)
    assert torch.equal(a, b)


def test_bad_inputs_raise():
    model = _model()
    lr, mv, mask = _inputs()
    with pytest.raises(ValueError, match="lr must be"):
        model.step(lr[:, :1])
    with pytest.raises(ValueError, match="mv_field"):
        model.step(lr, mv[:, :5])
    _, state = model.step(lr)
    with pytest.raises(ValueError, match="state does not match"):
        model.step(lr[:, :, :8], None, None, state)
    with pytest.raises(ValueError, match="scale"):
        CIAFConfig(scale=5)


def test_registry_configs():
    assert set(MODELS) >= {"ciaf", "ciaf-lite", "ciaf-paper", "baseline", "baseline-lite", "baseline-paper"}
    assert MODELS["ciaf-paper"][1].channels == 128 and MODELS["ciaf-paper"][1].num_blocks == 7
    for size in ("", "-lite", "-paper"):  # each baseline is its CIAF minus the alignment, nothing else
        assert dataclasses.asdict(MODELS["baseline" + size][1]) == dataclasses.asdict(MODELS["ciaf" + size][1])
    assert isinstance(build_model(TINY), CIAF) and not isinstance(build_model(TINY), Baseline)
    assert isinstance(build_model(BaselineConfig(channels=8, num_blocks=1)), Baseline)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("nope")


@pytest.mark.parametrize("config", [TINY, BaselineConfig(channels=8, num_blocks=1, mask_channels=4)])
def test_checkpoint_round_trip(tmp_path, config):
    model = _model(config, seed=5)
    path = tmp_path / "m.safetensors"
    save_checkpoint(model, path, extra={"note": "test"})
    loaded = load_checkpoint(path)
    assert type(loaded) is type(model) and loaded.config == config
    lr, mv, mask = _inputs()
    with torch.no_grad():
        a = model.step(lr, mv, None, None)[0]
        b = loaded.step(lr, mv, None, None)[0]
    assert torch.equal(a, b)
    assert load_model(str(path)).config == config


def test_missing_packaged_weights_is_a_clear_error(monkeypatch, tmp_path):
    import cvsr.models.registry as registry

    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="no packaged weights for model 'ciaf-lite'"):
        load_model("ciaf-lite")


@pytest.mark.cuda
def test_cuda_step_matches_cpu_and_fp16_runs():
    model = _model(CIAFConfig(channels=16, num_blocks=2, mask_channels=4))
    lr, mv, mask = _inputs(h=24, w=40)
    with torch.no_grad():
        _, state = model.step(lr)
        ref, _ = model.step(lr, mv, mask, state, sparse_impl="masked")
        mc = model.cuda()
        state_c = CIAFState(state.feat.cuda(), state.lr.cuda())
        out, _ = mc.step(lr.cuda(), mv.cuda(), mask.cuda(), state_c, sparse_impl="gather")
        torch.testing.assert_close(out.cpu(), ref, atol=1e-4, rtol=1e-4)
        with torch.autocast("cuda", dtype=torch.float16):
            out16, _ = mc.step(lr.cuda(), mv.cuda(), mask.cuda(), state_c)
        torch.testing.assert_close(out16.float().cpu(), ref, atol=5e-2, rtol=5e-2)


HR_FB = CIAFConfig(channels=8, num_blocks=2, mask_channels=4, hr_feedback=True)


def test_hr_feedback_state_holds_the_output():
    model = _model(HR_FB)
    lr, mv, mask = _inputs()
    with torch.no_grad():
        hr, state = model.step(lr)
        assert torch.equal(state.hr, hr)
        hr2, state2 = model.step(lr, mv, None, state)
        assert torch.equal(state2.hr, hr2)
        # the fed-back output changes the result; a reset equals the all-zero initial state
        hr_other, _ = model.step(lr, mv, None, state._replace(hr=state.hr.flip(-1)))
        assert not torch.allclose(hr2, hr_other)
        a, _ = model.step(lr, mv, None, None)
        b, _ = model.step(lr, mv, None, model.initial_state(lr))
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="state does not match"):
        model.step(lr, mv, None, state._replace(hr=state.hr[..., :-4]))


def test_hr_alignment_is_the_lr_motion_at_hr_scale():
    """An integer LR motion (dx, dy) moves the previous output by (4 dx, 4 dy) HR pixels (independent
    reference: slicing), and per-block motion stays block-constant at HR (no blur across blocks)."""
    model = _model(HR_FB)
    n, h, w, s = 1, 8, 12, 4
    prev_hr = torch.rand((n, 3, s * h, s * w), generator=torch.Generator().manual_seed(1))
    mv = torch.zeros((n, h, w, 2))
    mv[..., 0], mv[..., 1] = 2.0, -1.0       # cur(x, y) = prev(x + 2, y - 1)
    out = model.align_hr(prev_hr, mv)
    # interior: HR rows y with y - 4 >= 0, columns x with x + 8 < s*w
    torch.testing.assert_close(out[..., 4:, :s * w - 8], prev_hr[..., :s * h - 4, 8:])
    mv2 = torch.zeros((n, h, w, 2))
    mv2[:, :, w // 2:, 0] = 1.0              # right half moves by one LR pixel
    out2 = model.align_hr(prev_hr, mv2)
    torch.testing.assert_close(out2[..., : s * w // 2], prev_hr[..., : s * w // 2])
    torch.testing.assert_close(out2[..., s * w // 2:-4], prev_hr[..., s * w // 2 + 4:])
    # the baseline ignores motion for the fed-back output too
    base = build_model(BaselineConfig(**dataclasses.asdict(HR_FB)))
    assert torch.equal(base.align_hr(prev_hr, mv), prev_hr)


def test_hr_feedback_backprops_through_the_recurrence():
    model = _model(HR_FB)
    model.train()
    lr, mv, _ = _inputs(n=1, h=8, w=8)
    lrs = torch.stack([lr, lr.roll(1, -1), lr.roll(2, -1)], 1)
    out = model.forward_clip(lrs, torch.zeros(1, 3, 8, 8, 2))
    out.hr[:, -1].sum().backward()
    # the head's fed-back-detail weights get a gradient only through frame 0's output
    assert model.head.weight.grad[:, 3 + 8:].abs().sum() > 0


def test_hr_feedback_sparse_reuses_the_warped_output_where_nothing_was_coded():
    """A frame that is exactly the motion-compensated previous output, degraded (no residual anywhere): the
    output is the previous output moved by the MVs (whole HR pixels for quarter-pel vectors: a copy).
    Elsewhere, skipped pixels are the moved previous output back-projected onto the current LR frame."""
    import torch.nn.functional as F

    from cvsr.data.degradation import degrade_tensor

    model = _model(HR_FB)
    lr, _, mask = _inputs()
    mv = torch.randint(-8, 9, (2, 10, 14, 2)).float() / 4      # quarter-pel, like H.264
    with torch.no_grad():
        _, state = model.step(lr)
        # independent reference: integer indexing, clamped at the border like the warp
        n, _, H, W = state.hr.shape
        shift = (mv * 4).round().long().repeat_interleave(4, 1).repeat_interleave(4, 2)   # (n, H, W, 2)
        ys = (torch.arange(H)[None, :, None] + shift[..., 1]).clamp(0, H - 1)
        xs = (torch.arange(W)[None, None, :] + shift[..., 0]).clamp(0, W - 1)
        copied = torch.stack([state.hr[i][:, ys[i], xs[i]] for i in range(n)])
        consistent = degrade_tensor(copied)                     # what the moved output looks like at LR
        hr, _ = model.step(consistent, mv, torch.zeros(2, 10, 14, dtype=torch.bool), state)
        torch.testing.assert_close(hr, copied, atol=1e-5, rtol=0)

        other = lr.flip(-1)
        hr_mixed, _ = model.step(other, mv, mask, state)
    fill = copied + F.interpolate(other - degrade_tensor(copied), scale_factor=4, mode="bilinear")
    m = mask.repeat_interleave(4, 1).repeat_interleave(4, 2)[:, None].expand_as(hr)
    torch.testing.assert_close(hr_mixed[~m], fill[~m], atol=1e-5, rtol=0)
    assert not torch.allclose(hr_mixed[m], fill[m])
    # the reused pixels moved towards the current frame: their degradation is closer to it than the copy's
    assert (degrade_tensor(fill) - other).abs().mean() < 0.6 * (degrade_tensor(copied) - other).abs().mean()


def test_checkpoints_record_the_registry_name(tmp_path):
    """A network built or loaded under a name saves under it; an unnamed config saves under the entry it equals."""
    from cvsr.models import CIAFConfig, MODELS, build_model, load_checkpoint, save_checkpoint

    lite = build_model("ciaf-lite")
    save_checkpoint(lite, tmp_path / "a.safetensors")
    again = load_checkpoint(tmp_path / "a.safetensors")
    assert again.name == "ciaf-lite" and again.config == MODELS["ciaf-lite"][1]
    unnamed = build_model(CIAFConfig(channels=32, num_blocks=5, hr_feedback=True))
    assert unnamed.name == "ciaf-lite"
    odd = build_model(CIAFConfig(channels=8, num_blocks=1))
    assert odd.name == "ciaf"  # no entry equals it: the first of its type, config stored as is
    save_checkpoint(odd, tmp_path / "b.safetensors")
    assert load_checkpoint(tmp_path / "b.safetensors").config.channels == 8
