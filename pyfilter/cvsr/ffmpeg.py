"""Where the project's patched FFmpeg programs are: the one locator every part of cvsr uses."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

__all__ = ["find_ffmpeg"]


def find_ffmpeg(tool: str = "ffmpeg") -> str:
    """Path of the patched ``ffmpeg`` (or ``ffprobe``): ``$CVSR_FFMPEG`` (ffprobe: the file next to it), else
    the one next to the running Python (the project's venv, ``setup.sh`` installs it there), else PATH.
    Raises FileNotFoundError with what to do."""
    if tool not in ("ffmpeg", "ffprobe"):
        raise ValueError(f"tool must be 'ffmpeg' or 'ffprobe', got {tool!r}")
    env = os.environ.get("CVSR_FFMPEG")
    candidates = [Path(env).with_name(tool) if tool != "ffmpeg" else Path(env)] if env else []
    candidates.append(Path(sys.executable).with_name(tool))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    if env:
        raise FileNotFoundError(f"CVSR_FFMPEG={env}: no executable {tool} there")
    found = shutil.which(tool)
    if not found:
        raise FileNotFoundError(f"no {tool} next to this Python or on PATH: build the project (./setup.sh) "
                                "or set CVSR_FFMPEG")
    return found
