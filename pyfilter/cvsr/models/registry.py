"""The one registry of networks, and checkpoints (safetensors with the config as metadata).

``MODELS`` maps a name to (network class, frozen config). The CLI, the ffmpeg option ``model=`` and
checkpoints all resolve names through it. Packaged weights live in ``cvsr/models/weights/<name>.safetensors``.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from torch import nn

from .baseline import Baseline, BaselineConfig
from .ciaf import CIAF, CIAFConfig

__all__ = ["MODELS", "DEFAULT_MODEL", "WEIGHTS_DIR", "build_model", "rebuild", "save_checkpoint", "load_checkpoint",
           "load_model", "weights_path"]

MODELS: dict[str, tuple[type[nn.Module], object]] = {
    # the default: MV-aligned features plus the MV-warped previous output fed back (FRVSR+MV); sized for a CPU,
    # ~20 GMAC per 180x320 -> 720x1280 frame
    "ciaf": (CIAF, CIAFConfig(channels=48, num_blocks=7, hr_feedback=True)),
    # the fast CPU tier, same design (~7 GMAC per frame)
    "ciaf-lite": (CIAF, CIAFConfig(channels=32, num_blocks=5, hr_feedback=True)),
    # the paper's configuration: 128 channels, 7 residual blocks, feature propagation only (~260 GMAC; GPU)
    "ciaf-paper": (CIAF, CIAFConfig(channels=128, num_blocks=7)),
    # the same networks without MV alignment (features and fed-back output used unwarped): the ablation,
    # like-for-like sizes
    "baseline": (Baseline, BaselineConfig(channels=48, num_blocks=7, hr_feedback=True)),
    "baseline-lite": (Baseline, BaselineConfig(channels=32, num_blocks=5, hr_feedback=True)),
    "baseline-paper": (Baseline, BaselineConfig(channels=128, num_blocks=7)),
}

# The model used when none is named (Python API, CLI, demo, and the ffmpeg filter, whose `model` option is
# unset by default so that the host picks this): the sharpest model whose weights ship that runs on a CPU.
DEFAULT_MODEL = "ciaf"

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

_FORMAT = "cvsr-checkpoint-1"


def _name_for_config(config) -> str:
    """The registry name of a config: the entry equal to it, else the first of its type."""
    for name, (_, default) in MODELS.items():
        if default == config:
            return name
    for name, (_, default) in MODELS.items():
        if type(default) is type(config):
            return name
    raise TypeError(f"no registered model takes a {type(config).__name__}; known: {sorted(MODELS)}")


def rebuild(name: str, config: dict | object) -> nn.Module:
    """A freshly initialised network of the registered kind ``name`` with ``config`` (a config instance or
    its fields, as checkpoints store them); the network remembers ``name`` (``net.name``)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    cls, default = MODELS[name]
    if isinstance(config, dict):
        config = type(default)(**config)
    elif type(config) is not type(default):
        raise ValueError(f"model {name!r} takes a {type(default).__name__}, got a {type(config).__name__}")
    net = cls(config)
    net.name = name
    return net


def build_model(name_or_config) -> nn.Module:
    """A freshly initialised network from a registry name ("ciaf", ...) or a config instance."""
    if isinstance(name_or_config, str):
        if name_or_config not in MODELS:
            raise ValueError(f"unknown model {name_or_config!r}; choose one of {sorted(MODELS)}")
        return rebuild(name_or_config, MODELS[name_or_config][1])
    return rebuild(_name_for_config(name_or_config), name_or_config)


def save_checkpoint(model: nn.Module, path: str | Path, name: str | None = None,
                    extra: dict[str, str] | None = None) -> None:
    """Write the weights as safetensors; metadata holds the registry name, config JSON and ``extra``.

    name: the registry name to record (default: the name the network was built or loaded under, else the
    entry whose config equals the network's, else the first of its config type).
    """
    from safetensors.torch import save_file

    config = model.config
    name = name or getattr(model, "name", None) or _name_for_config(config)
    if name not in MODELS or type(MODELS[name][1]) is not type(config):
        raise ValueError(f"name {name!r} does not match a registered model for {type(config).__name__}")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": _FORMAT, "model": name, "config": json.dumps(dataclasses.asdict(config))}
    metadata.update(extra or {})
    save_file(tensors, str(path), metadata=metadata)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the network a checkpoint describes and load its weights (eval mode)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    if metadata.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a cvsr checkpoint (metadata format {metadata.get('format')!r}, "
                         f"expected {_FORMAT!r})")
    name = metadata.get("model")
    if name not in MODELS:
        raise ValueError(f"{path} was saved for model {name!r}, which this version does not know; "
                         f"known: {sorted(MODELS)}")
    model = rebuild(name, json.loads(metadata["config"]))
    model.load_state_dict(load_file(str(path), device=str(device)))
    return model.to(device).eval()


def weights_path(name: str) -> Path:
    """Where the packaged weights of a registered model live (they may be absent)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return WEIGHTS_DIR / f"{name}.safetensors"


def load_model(name_or_path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """A trained network: a registry name (packaged weights) or a checkpoint path."""
    if isinstance(name_or_path, str) and name_or_path in MODELS:
        path = weights_path(name_or_path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no packaged weights for model {name_or_path!r}: {path} is missing; train them "
                f"(cvsr.train) and copy the checkpoint there, or pass a checkpoint path instead")
        return load_checkpoint(path, device)
    return load_checkpoint(name_or_path, device)
