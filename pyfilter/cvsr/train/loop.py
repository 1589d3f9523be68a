"""``cvsr train``: the CIAF training recipe (supplementary 1.1, paper Sec. 3.3 / 4.1).

- Charbonnier loss (eps 1e-3) between the network output and HR, every frame of the clip;
- Adam (0.9, 0.999), learning rate ``lr`` (paper 2e-4) multiplied by 0.1 at ``milestones``
  (fractions of the run; the paper's 40 and 50 of 60 epochs are 2/3 and 5/6);
- random LR patches of ``frames``-frame windows (paper 64x64, 7 frames) with one of the 8
  flips / rotations applied to frames, MV fields and masks alike (``cvsr.train.augment``);
- sparse variant (``--sparse``, CIAF models) with ``mask_source="residual"``: the decoder's residual
  masks, as at test time; with ``"cnn"`` (the paper): the mask CNN's Gumbel-softmax masks at temperature
  ``gumbel_temperature`` plus ``sparsity_weight`` x mean mask; the paper's epoch-based schedules
  (T_epoch 20, T_temp 40 of 60 epochs) are driven by the fraction of the run done: epoch = 60 * step / steps.

A run folder holds ``checkpoint.pt`` (model, optimizer, scheduler, step, every RNG: resumable
with ``--resume``), ``train.jsonl`` (one record per ``log_every`` steps), ``options.json`` and, at the
end, ``<model>.safetensors`` (fp32) and ``<model>.fp16.safetensors`` (what ships), both in the
``cvsr.models`` checkpoint format.  ``stop_at`` ends a run early without changing its schedules
(which follow ``steps``); ``max_minutes`` ends it after that much wall time (a CPU session's budget),
with the checkpoint saved and the weights exported.  ``init`` starts from the weights of a ``.safetensors`` checkpoint
(fine-tuning: the optimiser and schedules start fresh).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cvsr.models import MODELS, gumbel_temperature, rebuild, sparsity_loss, sparsity_weight
from cvsr.train.dataset import Batch, ClipPatches

PAPER_EPOCHS = 60


@dataclass
class TrainOptions:
    model: str
    out: Path
    data: Path = Path("build/data")
    steps: int = 1000
    batch: int = 8
    patch: int = 64
    frames: int = 7
    lr: float = 2e-4
    milestones: list = field(default_factory=lambda: [2 / 3, 5 / 6])
    crfs: list = field(default_factory=lambda: [18, 23, 28])
    device: str = "cpu"
    threads: int = 0
    seed: int = 0
    save_every: int = 200
    log_every: int = 10
    resume: bool = False
    config: str | None = None
    sparse: bool = False
    mask_source: str = "cnn"
    stop_at: int | None = None
    max_minutes: float | None = None
    init: Path | None = None
    progress: bool = True


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def model_config(opts: TrainOptions):
    """The registered config of ``opts.model`` with ``opts.config``'s overrides."""
    if opts.model not in MODELS:
        raise ValueError(f"unknown model {opts.model!r}; choose one of {sorted(MODELS)}")
    config = MODELS[opts.model][1]
    if opts.config:
        config = dataclasses.replace(config, **json.loads(opts.config))
    return config


def uses_motion(model) -> bool:
    """Whether the network reads MV fields (the Baseline ablation ignores them)."""
    from cvsr.models import Baseline

    return not isinstance(model, Baseline)


def _truncate_log(path: Path, step: int) -> None:
    """Drop the log records after ``step`` (a run stopped between two checkpoints logged steps that a resume
    runs again)."""
    if path.exists():
        lines = path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if json.loads(line)["step"] <= step]
        if len(kept) != len(lines):
            path.write_text("".join(kept))


def _rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def train_step(model, batch: Batch, opts: TrainOptions, step: int, generator: torch.Generator | None = None):
    """One optimisation step's forward: returns (total loss, dict of logged scalars)."""
    motion = uses_motion(model)
    mvs = batch.mv if motion else None
    if opts.sparse and opts.mask_source == "residual":
        # The test-time condition (paper eq. 5): the decoder's residual mask, no mask CNN, no sparsity loss.
        out = model.forward_clip(batch.lr, mvs, batch.residual_mask[:, :, 0])
        pix = charbonnier(out.hr, batch.hr)
        return pix, {"charbonnier": pix.item(), "mask_mean": out.masks[:, 1:].mean().item()}
    if opts.sparse:
        epoch = PAPER_EPOCHS * step / max(opts.steps, 1)
        tau, lam = gumbel_temperature(epoch), sparsity_weight(epoch)
        out = model.forward_clip(batch.lr, mvs, None, mask_source="cnn", tau=tau, generator=generator)
        # Frame 0 has no state and is always dense: the sparsity term covers the others.
        reg = sparsity_loss(out.masks[:, 1:])
        pix = charbonnier(out.hr, batch.hr)
        return pix + lam * reg, {"charbonnier": pix.item(), "mask_mean": reg.item(), "tau": tau, "lambda": lam}
    out = model.forward_clip(batch.lr, mvs, None)
    pix = charbonnier(out.hr, batch.hr)
    return pix, {"charbonnier": pix.item()}


def train(opts: TrainOptions) -> Path:
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    device = torch.device(opts.device)
    config = model_config(opts)
    model = rebuild(opts.model, config).to(device)
    if opts.sparse and not hasattr(model, "predict_mask"):
        raise ValueError(f"model {opts.model} has no mask CNN; --sparse needs a CIAF-family model")
    if opts.mask_source not in ("cnn", "residual"):
        raise ValueError(f"mask_source must be 'cnn' or 'residual', got {opts.mask_source!r}")
    data = ClipPatches(Path(opts.data) / "shards" / "train", clip_len=opts.frames, patch=opts.patch,
                       crfs=tuple(opts.crfs), require_codec_info=uses_motion(model), seed=opts.seed)
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr, betas=(0.9, 0.999))
    milestones = sorted({max(1, int(round(f * opts.steps))) for f in opts.milestones})
    sched = torch.optim.lr_scheduler.MultiStepLR(optim, milestones=milestones, gamma=0.1)
    gen = torch.Generator(device="cpu").manual_seed(opts.seed + 1)
    step = 0
    ckpt_path = out / "checkpoint.pt"
    if opts.resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=False)
        if ckpt["model_name"] != opts.model:
            raise ValueError(f"{ckpt_path} is a {ckpt['model_name']} run, not {opts.model}")
        model.load_state_dict(ckpt["model"])
        optim.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        step = ckpt["step"]
        _truncate_log(out / "train.jsonl", step)
        _set_rng_state(ckpt["rng"])
        data.load_state(ckpt["data_rng"])
        gen.set_state(ckpt["gumbel_rng"])
    else:
        torch.manual_seed(opts.seed)
        np.random.seed(opts.seed)
        random.seed(opts.seed)
        if opts.init:
            # Fine-tuning (e.g. sparse training from dense weights): weights only, fresh optimiser.
            from cvsr.models import load_checkpoint

            init = load_checkpoint(opts.init)
            if type(init.config) is not type(config):
                raise ValueError(f"--init {opts.init} holds a {type(init.config).__name__}, not a {type(config).__name__}")
            model.load_state_dict(init.state_dict())
    (out / "options.json").write_text(json.dumps(
        dict(dataclasses.asdict(opts), out=str(out), data=str(opts.data), init=opts.init and str(opts.init),
             model_config=dataclasses.asdict(config),
             clips=len(data.clips), torch_threads=torch.get_num_threads()), indent=1))

    def save(path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        torch.save({"model_name": opts.model, "config": dataclasses.asdict(config), "model": model.state_dict(),
                    "optimizer": optim.state_dict(), "scheduler": sched.state_dict(), "step": step,
                    "rng": _rng_state(), "data_rng": data.state(), "gumbel_rng": gen.get_state(),
                    "options": dataclasses.asdict(opts) | {"out": str(out), "data": str(opts.data),
                                                            "init": opts.init and str(opts.init)}}, tmp)
        os.replace(tmp, path)

    from tqdm import tqdm

    log = open(out / "train.jsonl", "a")
    last = min(opts.steps, opts.stop_at or opts.steps)
    bar = tqdm(total=last, initial=step, desc=f"train {opts.model}", unit="step", mininterval=5,
               disable=not opts.progress, dynamic_ncols=True)
    model.train()
    t_start, window = time.time(), []
    try:
        while step < last:
            batch = data.sample(opts.batch).to(device)
            loss, scalars = train_step(model, batch, opts, step, gen)
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"loss is {loss.item()} at step {step}; lower --lr")
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            sched.step()
            step += 1
            window.append(scalars["charbonnier"])
            bar.update(1)
            if step % opts.log_every == 0 or step == last:
                rec = {"step": step, "loss": float(np.mean(window)), "lr": optim.param_groups[0]["lr"],
                       "elapsed_s": round(time.time() - t_start, 1), **{k: v for k, v in scalars.items()
                                                                         if k != "charbonnier"}}
                log.write(json.dumps(rec) + "\n")
                log.flush()
                bar.set_postfix(loss=f"{rec['loss']:.4f}")
                window = []
            out_of_time = opts.max_minutes is not None and time.time() - t_start > 60 * opts.max_minutes
            if step % opts.save_every == 0 or step == last or out_of_time:
                save(ckpt_path)
            if out_of_time:
                break
    finally:
        bar.close()
        log.close()
    from cvsr.train.export import export

    final = out / f"{opts.model}.safetensors"
    export(ckpt_path, final, half=False)
    export(ckpt_path, out / f"{opts.model}.fp16.safetensors", half=True)
    return final
