"""cvsr networks: one per file, one registry (``MODELS``), checkpoints that carry their config."""
from .baseline import Baseline, BaselineConfig
from .ciaf import (CIAF, CIAFConfig, CIAFState, ClipOutput, gumbel_temperature, sparsity_loss,
                   sparsity_weight)
from .registry import (DEFAULT_MODEL, MODELS, WEIGHTS_DIR, build_model, load_checkpoint, load_model, rebuild,
                       save_checkpoint, weights_path)

__all__ = ["MODELS", "DEFAULT_MODEL", "WEIGHTS_DIR", "build_model", "rebuild", "load_checkpoint", "load_model", "save_checkpoint",
           "weights_path", "CIAF", "CIAFConfig", "CIAFState", "ClipOutput", "Baseline", "BaselineConfig",
           "gumbel_temperature", "sparsity_weight", "sparsity_loss"]
