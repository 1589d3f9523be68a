"""The loaded libcvsr (``cvsr._native``) and what is derived from its tables.

Record types come from ``cvsr_layout()``, i.e. from the C headers libcvsr was
compiled with (libavutil/codec_info.h of the patched FFmpeg): Python never
hardcodes an offset.
"""
from __future__ import annotations

import numpy as np

try:
    from cvsr._native import ffi, lib
except ImportError as e:  # pragma: no cover - depends on the build
    raise ImportError(
        f"cvsr's native shim is not built or not installed ({e}): run ./setup.sh "
        "(or cmake --build build && pip install --no-build-isolation --no-deps -e .)") from e

__all__ = ["ffi", "lib", "struct_dtype", "constant", "LOG_QUIET", "LOG_ERROR", "LOG_WARNING", "LOG_INFO",
           "LOG_VERBOSE", "LOG_DEBUG"]



def struct_dtype(name: str) -> np.dtype:
    """numpy record type of the C struct ``name`` ("AVCodecInfo", "AVMotionVector").

    Field names, offsets, element types and shapes, and the itemsize, are the
    C compiler's (offsetof / sizeof in native/src/layout.c).
    """
    layout = lib.cvsr_layout(name.encode())
    if layout == ffi.NULL:
        raise KeyError(f"libcvsr has no layout for {name!r}")
    names, formats, offsets = [], [], []
    for i in range(layout.nb_fields):
        field = layout.fields[i]
        base = np.dtype(ffi.string(field.type).decode())
        if base.itemsize != field.elem_size:
            raise RuntimeError(f"{name}.{ffi.string(field.name).decode()}: element size "
                               f"{field.elem_size} is not {base}")
        shape = tuple(field.shape[d] for d in range(field.ndim))
        names.append(ffi.string(field.name).decode())
        formats.append((base, shape) if shape else base)
        offsets.append(field.offset)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": layout.size})


def struct_version(name: str) -> int:
    layout = lib.cvsr_layout(name.encode())
    return int(layout.version) if layout != ffi.NULL else 0


def constant(name: str) -> int:
    found = ffi.new("int *")
    value = lib.cvsr_constant(name.encode(), found)
    if not found[0]:
        raise KeyError(f"libcvsr has no constant {name!r}")
    return int(value)


# av_log levels, from libavutil through libcvsr
LOG_QUIET, LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_VERBOSE, LOG_DEBUG = (
    constant(f"AV_LOG_{name}") for name in ("QUIET", "ERROR", "WARNING", "INFO", "VERBOSE", "DEBUG"))


def set_log_level(level: int) -> None:
    """FFmpeg log level inside libcvsr (messages go to stderr): LOG_QUIET, LOG_ERROR (default), ..."""
    lib.cvsr_set_log_level(int(level))


set_log_level(LOG_ERROR)
