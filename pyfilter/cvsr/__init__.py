"""cvsr: compressed-video super-resolution that reuses what the decoder knows."""

__version__ = "0.1.0"


def open(path, **options):
    """Open a video for decoding with codec-info export: see :func:`cvsr.codec.open`.

    Imported lazily, so that ``import cvsr`` works without the native shim.
    """
    from cvsr.codec import open as _open

    return _open(path, **options)


def upscale(src, dst, workers: int = 1, cluster: str | None = None, **options):
    """Upscale a video x4 with the filter's host: see :func:`cvsr.host.upscale`. With ``workers`` > 1 or a
    Dask scheduler address in ``cluster``, split at closed GOPs and run in parallel (the same output):
    see :func:`cvsr.host.parallel.upscale_parallel`."""
    if workers > 1 or cluster:
        from cvsr.host.parallel import upscale_parallel

        options.pop("progress", None)
        return upscale_parallel(src, dst, workers=workers, cluster=cluster, **options)
    from cvsr.host.upscale import upscale as _upscale

    return _upscale(src, dst, **options)
