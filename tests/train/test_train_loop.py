import json

import numpy as np
import torch

from cvsr.data.degradation import degrade
from cvsr.data.shards import CodedClip, Shard, save_shard
from cvsr.train.loop import TrainOptions, charbonnier, train


def _tiny_shard(folder, seed=0, t=8, size=64, shift=1):
    """A textured HR clip panning right by ``shift`` LR pixels per frame, with its exact MV field."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size // 4, size // 4 + t * shift + 2, 3)).astype(np.float32)
    big = torch.nn.functional.interpolate(torch.from_numpy(base).permute(2, 0, 1)[None], scale_factor=4,
                                          mode="bicubic", align_corners=False)[0].permute(1, 2, 0).numpy()
    hr = np.stack([big[:, 4 * shift * i: 4 * shift * i + size] for i in range(t)]).clip(0, 255).astype(np.uint8)
    lr = degrade(hr)
    h, w = lr.shape[1:3]
    mv = np.zeros((t, h, w, 2), np.int16)
    mv[1:, ..., 0] = 4 * shift          # frame i at x is frame i-1 at x + shift (quarter pixels)
    coded = CodedClip(lr=lr, mv=mv, residual_mask=np.ones((t, h, w), bool),
                      frame_type=np.frombuffer(b"I" + b"P" * (t - 1), np.uint8).copy(), qp=np.full(t, 26, np.int16))
    folder.mkdir(parents=True, exist_ok=True)
    save_shard(folder / f"clip{seed}.npz", Shard(hr=hr, coded={23: coded}, meta={"name": "tiny", "codec_info": True}))


def test_charbonnier_is_about_l1_for_large_errors():
    a, b = torch.zeros(10), torch.full((10,), 0.5)
    assert abs(float(charbonnier(a, b)) - 0.5) < 1e-5
    assert abs(float(charbonnier(a, a)) - 1e-3) < 1e-7


def test_short_run_lowers_the_loss_and_resumes(tmp_path):
    torch.set_num_threads(1)
    for s in range(2):
        _tiny_shard(tmp_path / "data" / "shards" / "train", seed=s)
    opts = TrainOptions(model="ciaf-lite", data=tmp_path / "data", out=tmp_path / "run", steps=160, batch=2, patch=8,
                        frames=3, lr=2e-3, crfs=[23], log_every=10, save_every=80, sparse=True, progress=False,
                        config='{"channels": 8, "num_blocks": 1, "mask_channels": 4}')
    final = train(opts)
    log = [json.loads(line) for line in (tmp_path / "run" / "train.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 160
    first, last = np.mean([r["loss"] for r in log[:2]]), np.mean([r["loss"] for r in log[-2:]])
    assert last < 0.8 * first, (first, last)
    assert final.is_file()
    # Resuming a finished run does nothing more; a longer one continues from the checkpoint.
    opts.steps, opts.resume = 170, True
    train(opts)
    log = [json.loads(line) for line in (tmp_path / "run" / "train.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 170 and log[-2]["step"] == 160


def test_checkpoint_loads_by_path(tmp_path):
    from cvsr.models import load_checkpoint

    _tiny_shard(tmp_path / "data" / "shards" / "train")
    final = train(TrainOptions(model="baseline-lite", data=tmp_path / "data", out=tmp_path / "run", steps=2, batch=1,
                               patch=8, frames=2, crfs=[23], progress=False, config='{"channels": 4, "num_blocks": 1}'))
    net = load_checkpoint(final)
    assert net.config.channels == 4


def test_sparse_fine_tune_with_residual_masks_from_dense_weights(tmp_path):
    _tiny_shard(tmp_path / "data" / "shards" / "train")
    cfg = '{"channels": 4, "num_blocks": 1, "mask_channels": 2}'
    dense = train(TrainOptions(model="ciaf-lite", data=tmp_path / "data", out=tmp_path / "dense", steps=2, batch=1,
                               patch=8, frames=3, crfs=[23], progress=False, config=cfg))
    train(TrainOptions(model="ciaf-lite", data=tmp_path / "data", out=tmp_path / "ft", steps=3, batch=1, patch=8,
                       frames=3, crfs=[23], progress=False, config=cfg, init=dense, sparse=True,
                       mask_source="residual", log_every=1))
    log = [json.loads(line) for line in (tmp_path / "ft" / "train.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3] and log[0]["mask_mean"] == 1.0


def test_time_budget_stops_with_a_resumable_checkpoint(tmp_path):
    """--max-minutes ends a run early (a session's budget): checkpoint saved, weights exported, and
    --resume continues from there to the end of the same schedule."""
    _tiny_shard(tmp_path / "data" / "shards" / "train")
    opts = TrainOptions(model="ciaf-lite", data=tmp_path / "data", out=tmp_path / "run", steps=6, batch=1, patch=8,
                        frames=2, crfs=[23], progress=False, save_every=100, max_minutes=1e-9,
                        config='{"channels": 4, "num_blocks": 1, "mask_channels": 4}')
    final = train(opts)
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert ckpt["step"] == 1 and final.is_file()
    opts.max_minutes, opts.resume = None, True
    train(opts)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["step"] == 6


def test_resume_drops_log_records_after_the_checkpoint(tmp_path):
    """A run stopped between two checkpoints logged steps that the resumed run repeats: they are dropped."""
    import json

    from cvsr.train.loop import _truncate_log

    log = tmp_path / "train.jsonl"
    log.write_text("".join(json.dumps({"step": s, "loss": 0.1}) + "\n" for s in (20, 40, 60, 80)))
    _truncate_log(log, 40)
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [20, 40]
