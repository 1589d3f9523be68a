"""bench/scaleout: GOP-parallel upscaling (cvsr.host.parallel) on this machine, 1 vs 2 Dask workers.

One run on a 600-frame, 6-GOP H.264 clip (B-frames, an IDR every 100 frames), ``ciaf-lite`` on the default
backend, lossless output: the sequential ``cvsr.upscale`` (all cores), the parallel path with 1 worker (all
cores: the engine's overhead — cutting, the cluster, per-task model loading, joining — against the
sequential run) and with 2 workers (one core each). Prints wall times, the speed-up, the measured cost per
piece, and a paper estimate for N machines: fixed cost + ceil(pieces / N) x cost per piece. Never asserts.

    .venv/bin/python bench/scaleout.py [--frames 600] [--gop 100] [--size 160x96] [--model ciaf-lite]
"""
from __future__ import annotations

import argparse
import math
import os
import subprocess
import tempfile
import time
from pathlib import Path

from cvsr.ffmpeg import find_ffmpeg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--gop", type=int, default=100)
    ap.add_argument("--size", default="160x96")
    ap.add_argument("--model", default="ciaf-lite")
    args = ap.parse_args()

    import cvsr
    from cvsr.host.parallel import closed_gop_starts, upscale_parallel

    cores = os.cpu_count() or 1
    codec = ("-c:v", "ffv1")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clip.mp4"
        subprocess.run([find_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={args.size}:r=25",
                        "-frames:v", str(args.frames), "-c:v", "libx264", "-bf", "2", "-g", str(args.gop),
                        "-keyint_min", str(args.gop), "-sc_threshold", "0", str(src)], check=True, timeout=600)
        gops = len(closed_gop_starts(src)[0])
        t = time.perf_counter()
        cvsr.upscale(src, Path(tmp) / "seq.mkv", model=args.model, threads=cores, progress=False, video_codec=codec)
        t_seq = time.perf_counter() - t
        runs = {}
        for workers in (1, 2):
            t = time.perf_counter()
            r = upscale_parallel(src, Path(tmp) / f"par{workers}.mkv", workers=workers, model=args.model,
                                 threads=max(1, cores // workers), video_codec=codec, min_frames=args.gop)
            runs[workers] = (time.perf_counter() - t, r.chunks)
    (t1, pieces1), (t2, pieces2) = runs[1], runs[2]
    print(f"clip: {args.frames} frames {args.size}, {gops} closed GOPs, model {args.model}, {cores} cores")
    print(f"sequential cvsr.upscale ({cores} threads):     {t_seq:6.1f} s ({args.frames / t_seq:5.1f} fps)")
    print(f"parallel, 1 worker x {cores} threads, {pieces1} pieces: {t1:6.1f} s (engine overhead x{t1 / t_seq:.2f})")
    print(f"parallel, 2 workers x {max(1, cores // 2)} thread(s), {pieces2} pieces: {t2:6.1f} s "
          f"(speed-up x{t_seq / t2:.2f} vs sequential)")
    # paper estimate: split at every GOP, one worker per machine: the GOPs run in ceil(gops / N) waves; the
    # fixed part (cutting, cluster start, joining, model loads) is what the one-worker run spends beyond the
    # sequential run
    per_gop = t_seq / gops
    fixed = max(0.0, t1 - t_seq)
    print(f"cost per GOP ~{per_gop:.1f} s of one machine, fixed ~{fixed:.1f} s; estimate for N machines "
          f"(one worker each, a piece per GOP): "
          + ", ".join(f"N={n}: {fixed + math.ceil(gops / n) * per_gop:.1f} s" for n in (1, 2, 3, 6)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
