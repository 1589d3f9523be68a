"""cvsr: compressed-video super-resolution that reuses what the decoder knows."""

__version__ = "0.1.0"
