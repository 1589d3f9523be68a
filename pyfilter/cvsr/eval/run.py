"""``cvsr eval``: Y-PSNR / SSIM of models against bicubic on a split of shards, per CRF.

Every eval clip is processed from its first frame (the clip's only I frame) with the recurrent
state carried through, exactly as the ffmpeg filter would.  Rows:
  - ``bicubic``: torch bicubic x4 (``align_corners=False``, a = -0.75) of the decoded LR frame;
  - each model densely (every pixel computed: ``residual_mask=None``);
  - CIAF-family models also sparsely: the body runs only where the decoder's luma residual is
    nonzero (paper eq. (5)); ``skip`` is the share of pixels skipped over the frames that have a
    state (every frame but the first).
Outputs are clamped to [0, 1] and rounded to uint8 before scoring, as a filter's output would be.
Metrics: ``cvsr.eval.metrics`` (BT.601 luma, ``BORDER`` px cropped); a clip's score is the mean
over its frames, a CRF's the mean over clips; ``tdiff`` (``temporal_error``) measures flicker, and
the per-frame PSNR drift (``--split temporal``: a 300-frame held-out clip).  Writes ``eval.md``, ``eval.json``, ``psnr.png`` and
side-by-side crops ``crops/<clip>_crf<c>.png`` (bicubic | models | GT).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cvsr.data.shards import load_shard
from cvsr.eval.metrics import BORDER, psnr_y, ssim_y, temporal_error
from cvsr.eval.report import draw_plot, markdown_table, save_crop_strip, save_crops


@dataclass
class Row:
    clip: str
    crf: int
    method: str
    psnr: float
    ssim: float
    skip: float | None = None
    seconds: float = 0.0
    tdiff: float | None = None          # cvsr.eval.metrics.temporal_error (flicker), None for 1-frame clips
    psnr_frames: list | None = None     # Y-PSNR of every frame (drift over a long clip)


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """(t, 3, H, W) float [0, 1] -> (t, H, W, 3) uint8."""
    return x.clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def bicubic(lr: np.ndarray, scale: int = 4) -> np.ndarray:
    x = torch.from_numpy(lr).permute(0, 3, 1, 2).float() / 255
    return _to_uint8(F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False))


@torch.inference_mode()
def run_model(model, lr: np.ndarray, mv: np.ndarray, mask: np.ndarray | None, device) -> tuple[np.ndarray, float | None]:
    """Run a model over a whole clip. lr (t, h, w, 3) uint8, mv (t, h, w, 2) int16 quarter pixels,
    mask (t, h, w) bool or None (dense). Returns ((t, 4h, 4w, 3) uint8, skipped share or None)."""
    state, outs, kept, total = None, [], 0, 0
    for i in range(lr.shape[0]):
        x = torch.from_numpy(lr[i]).permute(2, 0, 1)[None].float().div(255).to(device)
        flow = torch.from_numpy(mv[i].astype(np.float32) / 4)[None].to(device)
        m = None
        if mask is not None and state is not None:
            m = torch.from_numpy(mask[i])[None].to(device)
            kept += int(m.sum())
            total += m.numel()
        hr, state = model.step(x, flow, m, state)
        outs.append(_to_uint8(hr)[0])
    return np.stack(outs), (1 - kept / total if total else None)


def _score(clip: str, crf: int, method: str, sr: np.ndarray, hr: np.ndarray, skip=None, seconds=0.0) -> Row:
    per_frame = [psnr_y(a, b) for a, b in zip(sr, hr)]
    s = float(np.mean([ssim_y(a, b) for a, b in zip(sr, hr)]))
    tdiff = temporal_error(sr, hr) if len(sr) > 1 else None
    return Row(clip, crf, method, float(np.mean(per_frame)), s, skip, seconds, tdiff, [round(p, 3) for p in per_frame])


def resolve_models(specs: list[str], weights: Path | None, device):
    from cvsr.models import load_checkpoint, load_model

    models = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        if path:
            models[name] = load_checkpoint(path, device)
        elif weights is not None:
            models[name] = load_checkpoint(Path(weights) / f"{name}.safetensors", device)
        else:
            models[name] = load_model(name, device)
        models[name] = models[name].float().eval()
    return models


def evaluate(models: list[str], data: Path, split: str = "eval", out: Path = Path("build/eval"),
             crfs: tuple[int, ...] = (18, 23, 28), device: str = "cpu", weights: Path | None = None,
             max_frames: int | None = None, clips: tuple[str, ...] = (), log=print, backend: str = "torch",
             precision: str = "fp32") -> list[Row]:
    """Evaluate ``models`` (see ``resolve_models``) on ``data``/shards/``split`` (only the clips named
    in ``clips`` if given); writes the report into ``out`` and returns the rows.
    backend / precision: what runs the dense steps, as the filter's options (``cvsr.host.runner``); a
    non-default pair names the rows ``MODEL[BACKEND PRECISION]``."""
    from cvsr.host.runner import ModelRunner
    from cvsr.models import Baseline

    device = torch.device(device)
    out = Path(out)
    (out / "crops").mkdir(parents=True, exist_ok=True)
    nets = resolve_models(models, weights, device)
    if (backend, precision) != ("torch", "fp32"):
        nets = {f"{name}[{backend} {precision}]": net for name, net in nets.items()}
    runners = {name: ModelRunner(name, net, device, torch.float32, True, backend, 0, precision)
               for name, net in nets.items()}
    paths = sorted((Path(data) / "shards" / split).glob("*.npz"))
    if clips:
        paths = [p for p in paths if p.stem in clips]
    if not paths:
        raise FileNotFoundError(f"no shards in {Path(data) / 'shards' / split}: run `cvsr data build`")
    rows: list[Row] = []
    meta_all = {}
    for path in paths:
        shard = load_shard(path, crfs)
        meta_all[path.stem] = shard.meta
        hr = shard.hr[:max_frames]
        for crf in crfs:
            if crf not in shard.coded:
                continue
            c = shard.coded[crf]
            lr, mv, mask = c.lr[:max_frames], c.mv[:max_frames], c.residual_mask[:max_frames]
            bic = bicubic(lr)
            rows.append(_score(path.stem, crf, "bicubic", bic, hr))
            panels = {"bicubic": bic}
            for name, net in nets.items():
                if not isinstance(net, Baseline) and not shard.meta.get("codec_info"):
                    raise ValueError(f"{path} has no codec information; MV models cannot be evaluated on it")
                t0 = time.time()
                sr, _ = run_model(runners[name], lr, mv, None, device)
                rows.append(_score(path.stem, crf, f"{name} dense", sr, hr, None, time.time() - t0))
                panels[f"{name}"] = sr
                if not isinstance(net, Baseline) and shard.meta.get("codec_info"):
                    t0 = time.time()
                    sr_s, skip = run_model(runners[name], lr, mv, mask, device)
                    rows.append(_score(path.stem, crf, f"{name} sparse", sr_s, hr, skip, time.time() - t0))
                    panels[f"{name} sparse"] = sr_s
            panels["GT"] = hr
            save_crops(out / "crops" / f"{path.stem}_crf{crf}.png", panels, frame=len(hr) // 2)
            if len(hr) >= 48:  # a long clip: the same crop over time shows flicker and drift
                save_crop_strip(out / "crops" / f"{path.stem}_crf{crf}_time.png", panels,
                                frames=np.linspace(0, len(hr) - 1, 6).round().astype(int).tolist())
            log(" | ".join(f"{r.method} {r.psnr:.2f}" for r in rows if r.clip == path.stem and r.crf == crf)
                + f"   [{path.stem} crf{crf}]")
    write_report(out, rows, meta_all)
    return rows


def write_report(out: Path, rows: list[Row], meta: dict) -> None:
    (out / "eval.json").write_text(json.dumps({"rows": [r.__dict__ for r in rows], "clips": meta,
                                               "border": BORDER}, indent=1))
    (out / "eval.md").write_text(markdown_table(rows, meta))
    draw_plot(out / "psnr.png", rows)


def merge_reports(parts: list[Path], out: Path) -> list[Row]:
    """Combine the eval.json of runs over disjoint clips (e.g. run in parallel) into one report."""
    rows, meta = [], {}
    for part in parts:
        doc = json.loads((Path(part) / "eval.json").read_text())
        rows += [Row(**r) for r in doc["rows"]]
        meta.update(doc["clips"])
    Path(out).mkdir(parents=True, exist_ok=True)
    write_report(Path(out), rows, meta)
    return rows
