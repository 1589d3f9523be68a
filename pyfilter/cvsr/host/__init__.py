"""The filter host: runs a cvsr model over a stream in decode order (see host.py).

``Host`` is what the ffmpeg filter drives through native/bridge; ``upscale``
runs the same host over a file with the project's reader and ffmpeg.
"""
from .host import Host
from .upscale import upscale

__all__ = ["Host", "upscale"]
