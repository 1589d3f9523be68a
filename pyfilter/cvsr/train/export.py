"""Turn a training checkpoint into shipped weights: fp16 safetensors in the ``cvsr.models`` format."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from cvsr.models import rebuild, save_checkpoint


def model_from_run(checkpoint: Path, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild the network of a ``checkpoint.pt`` (run folder or file); returns (model, checkpoint dict)."""
    checkpoint = Path(checkpoint)
    if checkpoint.is_dir():
        checkpoint = checkpoint / "checkpoint.pt"
    ckpt = torch.load(checkpoint, map_location=device, weights_only=False)
    model = rebuild(ckpt["model_name"], ckpt["config"])
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt


def export(checkpoint: Path, out: Path, half: bool = True, extra: dict | None = None) -> Path:
    """Write ``out`` (safetensors, fp16 unless ``half`` is False) from a training checkpoint."""
    model, ckpt = model_from_run(checkpoint)
    if half:
        model = model.half()
    meta = {"steps": str(ckpt["step"]), "options": json.dumps(ckpt["options"])}
    meta.update(extra or {})
    save_checkpoint(model, out, name=ckpt["model_name"], extra=meta)
    return Path(out)
