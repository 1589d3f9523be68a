"""The filter host: runs a cvsr model over a stream in decode order (see host.py).

``Host`` is what the ffmpeg filter drives through native/bridge; ``upscale``
runs the same host over a file with the project's reader and ffmpeg.
``options`` describes the options both take. ``Host`` is imported lazily, so
that reading the options (the CLI's --help) does not load torch.
"""
from .upscale import upscale  # light; binds the name over the submodule of the same name

__all__ = ["Host", "upscale"]


def __getattr__(name):
    if name == "Host":
        from .host import Host

        return Host
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
