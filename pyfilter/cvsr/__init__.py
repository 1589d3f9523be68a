"""cvsr: compressed-video super-resolution that reuses what the decoder knows."""

__version__ = "0.1.0"


def open(path, **options):
    """Open a video for decoding with codec-info export: see :func:`cvsr.codec.open`.

    Imported lazily, so that ``import cvsr`` works without the native shim.
    """
    from cvsr.codec import open as _open

    return _open(path, **options)


def upscale(src, dst, **options):
    """Upscale a video x4 with the filter's host: see :func:`cvsr.host.upscale`."""
    from cvsr.host.upscale import upscale as _upscale

    return _upscale(src, dst, **options)
