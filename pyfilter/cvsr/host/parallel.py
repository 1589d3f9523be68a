"""GOP-parallel upscaling on a Dask cluster: the same result as ``cvsr.upscale``, frame for frame.

The host resets its recurrent state at every I-frame, so a stream cut at the start of a *closed* GOP (an
I-frame that no later-decoded picture displays before: no leading pictures that reference the previous GOP)
gives segments that decode and upscale independently. The steps:

1. ``closed_gop_starts``: the video packets' timestamps and keyframe flags (ffprobe, no decoding); a keyframe
   is a closed-GOP start when every packet decoded before it is displayed before it and every packet decoded
   after it is displayed after it. Open-GOP streams are split only there (at IDR frames in practice), never
   at an open I-frame.
2. Consecutive GOPs are grouped into chunks (about four per worker, at least ``min_frames`` frames each) and
   cut out of the input with FFmpeg's segment muxer (packets copied, no re-encoding).
3. Each chunk is a task: ``cvsr.upscale`` over it on a worker (same host, model and options as a sequential
   run), retried on another worker if it fails or its worker dies.
4. The chunks' outputs are joined with FFmpeg's concat demuxer (packets copied) and the source's audio is
   copied once; the result is written to a temporary name and renamed, so a failed run never leaves a
   file at ``dst``.

Why Dask (``distributed``): it binds and advertises only the address it is given (``127.0.0.1`` for the
local cluster, no network namespace needed), installs from PyPI as pure Python, and a local cluster starts in
about a second. Ray (measured here, ``../shared/FACTS.md``) advertises the host's interface address even
when told 127.0.0.1 and needs a network namespace to stay on loopback.

With ``cluster`` (a scheduler address, ``tcp://host:8786``) the workers must see the same file system as
the caller: the chunks are written next to ``dst``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from cvsr.ffmpeg import find_ffmpeg

from .upscale import DEFAULT_VIDEO_CODEC, UpscaleResult, upscale

__all__ = ["closed_gop_starts", "upscale_parallel", "ParallelResult"]


@dataclass
class ParallelResult(UpscaleResult):
    chunks: int = 0          # tasks the stream was split into


def _packets(src: str) -> list[tuple[int, int, bool]]:
    """(pts, dts, keyframe) of the first video stream's packets, in decode order."""
    r = subprocess.run([find_ffmpeg("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "packet=pts,dts,flags", "-of", "json", src], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise ValueError(f"{src}: cannot read its packets: {r.stderr.strip().splitlines()[-1] if r.stderr else ''}")
    out = []
    for p in json.loads(r.stdout).get("packets", []):
        if "pts" not in p or "dts" not in p:
            raise ValueError(f"{src}: a video packet has no timestamp; cannot find GOP boundaries")
        out.append((int(p["pts"]), int(p["dts"]), "K" in p.get("flags", "")))
    return out


def closed_gop_starts(src) -> tuple[list[int], int]:
    """Indices (decode order) of the packets that start a closed GOP, and the number of video packets."""
    packets = _packets(os.fspath(src))
    n = len(packets)
    starts = []
    # prefix max of pts before i, suffix min of pts after i
    before, m = [], None
    for pts, _, _ in packets:
        before.append(m)
        m = pts if m is None else max(m, pts)
    after, m = [None] * n, None
    for i in range(n - 1, -1, -1):
        after[i] = m
        m = packets[i][0] if m is None else min(m, packets[i][0])
    for i, (pts, _, key) in enumerate(packets):
        if key and (before[i] is None or before[i] < pts) and (after[i] is None or after[i] > pts):
            starts.append(i)
    return starts, n


def _chunks(starts: list[int], n: int, workers: int, min_frames: int) -> list[int]:
    """First packet index of each chunk: GOPs grouped to about four chunks per worker."""
    if not starts or starts[0] != 0:
        raise ValueError("the stream does not start with a closed GOP (no keyframe at its first packet)")
    target = max(min_frames, -(-n // (4 * workers)))
    firsts = [0]
    for s in starts[1:]:
        if s - firsts[-1] >= target and n - s >= min(target, min_frames):
            firsts.append(s)
    return firsts


def _run(cmd: list[str], what: str) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=24 * 3600)
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed: {r.stderr.strip()[-2000:]}")


def _upscale_chunk(src: str, dst: str, options: dict) -> tuple[int, int, int, int]:
    """A task: ``cvsr.upscale`` of one chunk (runs on a worker)."""
    r = upscale(src, dst, progress=False, audio=False, **options)
    return r.frames, r.width, r.height, r.frames_aligned


def upscale_parallel(src, dst, workers: int = 2, cluster: str | None = None, min_frames: int = 50,
                     retries: int = 2, video_codec=DEFAULT_VIDEO_CODEC, audio: bool = True, threads: int = 0,
                     **options) -> ParallelResult:
    """``cvsr.upscale(src, dst, ...)`` split at closed GOPs over ``workers`` Dask workers (a local cluster
    on 127.0.0.1, or the scheduler at ``cluster``). ``options``: the filter's (model, device, ...);
    ``threads``: CPU threads per worker (0: the CPU's cores divided among the local workers).
    The output equals the sequential run's frame for frame (tests/host)."""
    from distributed import Client, LocalCluster

    src, dst = os.fspath(src), os.fspath(dst)
    if os.path.abspath(src) == os.path.abspath(dst):
        raise ValueError("dst must differ from src")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if not os.path.isfile(src):
        raise FileNotFoundError(f"{src}: no such file")
    starts, n = closed_gop_starts(src)
    firsts = _chunks(starts, n, workers, min_frames)
    if not threads and cluster is None:
        threads = max(1, (os.cpu_count() or 1) // workers)
    ffmpeg = find_ffmpeg()
    work = tempfile.mkdtemp(prefix=".cvsr-parallel-", dir=os.path.dirname(os.path.abspath(dst)))
    try:
        # 1. cut the input at the chunk starts, packets copied
        pattern = os.path.join(work, "in_%05d.mkv")
        cut = [ffmpeg, "-v", "error", "-nostdin", "-i", src, "-map", "0:v:0", "-c", "copy", "-f", "segment",
               "-reset_timestamps", "1"]
        if len(firsts) > 1:
            cut += ["-segment_frames", ",".join(str(f) for f in firsts[1:])]
        else:
            cut += ["-segment_time", "1000000000"]   # one piece: the whole input (seconds)
        _run(cut + [pattern], f"cutting {src} at its GOP boundaries")
        pieces = sorted(f for f in os.listdir(work) if f.startswith("in_"))
        if len(pieces) != len(firsts):
            raise RuntimeError(f"cutting {src} gave {len(pieces)} pieces, expected {len(firsts)}")
        outs = [os.path.join(work, p.replace("in_", "out_")) for p in pieces]
        task_options = dict(options, threads=threads, video_codec=tuple(video_codec))

        # 2. the chunks on the cluster
        local = None
        if cluster is None:
            local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                 dashboard_address=None, scheduler_kwargs={"dashboard": False},
                                 silence_logs=40)
        try:
            with Client(local if local is not None else cluster) as client:
                futures = [client.submit(_upscale_chunk, os.path.join(work, p), o, task_options, retries=retries,
                                         pure=False, key=f"cvsr-chunk-{i}")
                           for i, (p, o) in enumerate(zip(pieces, outs))]
                results = client.gather(futures)
        finally:
            if local is not None:
                local.close()

        # 3. join, copy the audio once; write under a temporary name, then rename
        listing = os.path.join(work, "chunks.ffconcat")
        with open(listing, "w") as f:
            f.write("ffconcat version 1.0\n")
            for o in outs:
                f.write(f"file '{os.path.basename(o)}'\n")
        tmp_dst = os.path.join(work, "joined" + os.path.splitext(dst)[1])
        join = [ffmpeg, "-v", "error", "-nostdin", "-f", "concat", "-safe", "0", "-i", listing]
        if audio:
            join += ["-i", src, "-map", "0:v:0", "-map", "1:a?", "-c:a", "copy"]
        _run(join + ["-c:v", "copy", "-y", tmp_dst], "joining the upscaled chunks")
        os.replace(tmp_dst, dst)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    frames = sum(r[0] for r in results)
    return ParallelResult(frames, results[0][1], results[0][2], sum(r[3] for r in results), 0, chunks=len(outs))
