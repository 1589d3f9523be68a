"""Cost of the codec-info export: decode a 720p, 500-frame H.264 or HEVC clip through libcvsr with
the export off, on, and (H.264, for reference) with upstream's +export_mvs, in one run.

    .venv/bin/python bench/export_overhead.py [--codec h264|hevc] [--threads 1 0] [--reps 5] [--clip PATH]

The clip is made once with the project's ffmpeg (libx264 or libx265, preset fast, CRF 23, the
encoder's default B-frames, references and loop filters) from a real camera clip of ../shared/data scaled to 1280x720 when
present, else testsrc2, and cached under build/bench/.  Configurations run interleaved
(ABCABC...) so that machine load hits them alike; the ratio uses the median of each.
Decoding goes through the C API in a tight loop (cvsr_read_frame + cvsr_frame_free), so the
numbers are the decoder's; the Python facade (numpy views, side data parse) is timed apart.
Both wall time and the process's CPU time (all decoder threads) are reported: on a shared
machine the CPU time is the steadier measure of the work the export adds, and the median of
the per-round ratios (paired) the steadiest: whole rounds drift together.
Prints ratios, asserts nothing.  Target: export on / off <= 1.10x.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cvsr.ffmpeg import find_ffmpeg

REPO = Path(__file__).resolve().parents[1]
FFMPEG = find_ffmpeg()
SHARED_CLIP = REPO.parent / "shared" / "data" / "intel_sample_videos" / "one-by-one-person-detection.mp4"
FRAMES = 500


ENCODERS = {"h264": "libx264", "hevc": "libx265"}


def make_clip(out: Path, codec: str = "h264") -> Path:
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    if SHARED_CLIP.exists():
        src = ["-i", str(SHARED_CLIP), "-vf", "scale=1280:720:flags=bicubic"]
    else:
        src = ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25"]
    tmp = out.with_suffix(".part.mp4")
    subprocess.run([str(FFMPEG), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *src,
                    "-frames:v", str(FRAMES), "-an", "-c:v", ENCODERS[codec], "-preset", "fast", "-crf", "23",
                    *(["-x265-params", "log-level=error"] if codec == "hevc" else []),
                    "-pix_fmt", "yuv420p", str(tmp)], check=True)
    tmp.rename(out)
    return out


def decode_c(path: Path, threads: int, export: bool, export_mvs: bool) -> tuple[float, float, int]:
    """Wall and CPU seconds to open and decode every frame through the C API; frames decoded."""
    from cvsr.codec._lib import ffi, lib
    from cvsr.codec.errors import check

    opts = ffi.new("CvsrOptions *")
    lib.cvsr_options_default(opts)
    opts.threads = threads
    opts.export_codec_info = export
    opts.export_mvs = export_mvs
    reader = ffi.new("CvsrReader **")
    frame = ffi.new("CvsrFrame **")
    n = 0
    t0, c0 = time.perf_counter(), time.process_time()
    check(lib.cvsr_open(reader, str(path).encode(), opts), str(path))
    try:
        while check(lib.cvsr_read_frame(reader[0], frame)) > 0:
            if export and n == 0 and frame[0].codec_info == ffi.NULL:
                raise RuntimeError("export on, but the decoder exported no codec info: is the patch built?")
            lib.cvsr_frame_free(frame)
            n += 1
    finally:
        lib.cvsr_close(reader)
    return time.perf_counter() - t0, time.process_time() - c0, n


def decode_facade(path: Path, threads: int) -> tuple[float, float, int]:
    """Wall and CPU seconds through cvsr.open with the views and the side data parse touched per frame."""
    import cvsr

    n = 0
    t0, c0 = time.perf_counter(), time.process_time()
    with cvsr.open(path, threads=threads) as r:
        for f in r:
            f.y, f.codec_info.mv(0), f.codec_info.residual(0)
            n += 1
    return time.perf_counter() - t0, time.process_time() - c0, n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--codec", choices=sorted(ENCODERS), default="h264", help="codec of the made clip")
    p.add_argument("--clip", type=Path, default=None, help="clip to decode (default: made under build/bench/)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 0], help="decoder threads to test (0: auto)")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args(argv)

    suffix = "" if args.codec == "h264" else f"_{args.codec}"
    clip = args.clip or make_clip(REPO / "build" / "bench" / f"export_720p_{FRAMES}{suffix}.mp4", args.codec)
    import cvsr

    with cvsr.open(clip, export=False) as r:
        s = r.stream
    print(f"clip: {clip} ({s.codec_name} {s.width}x{s.height}, {s.nb_frames} frames, "
          f"reorder depth {s.has_b_frames})")
    configs = {
        "off": dict(export=False, export_mvs=False),
        "codec_info": dict(export=True, export_mvs=False),
    }
    if s.codec_name == "h264":      # upstream exports no HEVC motion vectors
        configs["upstream_mvs"] = dict(export=False, export_mvs=True)
    for threads in args.threads:
        wall: dict[str, list[float]] = {k: [] for k in [*configs, "facade"]}
        cpu: dict[str, list[float]] = {k: [] for k in wall}
        for cfg in configs.values():            # warm-up (page cache, allocators)
            decode_c(clip, threads, **cfg)
        for _ in range(args.reps):
            for name, cfg in configs.items():
                w, c, n = decode_c(clip, threads, **cfg)
                wall[name].append(w)
                cpu[name].append(c)
            w, c, _ = decode_facade(clip, threads)
            wall["facade"].append(w)
            cpu["facade"].append(c)
        mw = {k: statistics.median(v) for k, v in wall.items()}
        mc = {k: statistics.median(v) for k, v in cpu.items()}
        # per-round ratios (each round runs every configuration back to back): robust to the
        # slow drifts of a shared machine that shift whole rounds
        paired = {k: statistics.median(a / b for a, b in zip(v, cpu["off"])) for k, v in cpu.items()}
        label = "auto" if threads == 0 else str(threads)
        print(f"\nthreads={label}: medians of {args.reps} runs, {n} frames")
        print(f"  {'':14s} {'wall s':>7s} {'ratio':>6s}   {'cpu s':>7s} {'ratio':>6s}   {'paired cpu ratio':>16s}")
        for name in wall:
            print(f"  {name:14s} {mw[name]:7.3f} {mw[name] / mw['off']:5.3f}x   "
                  f"{mc[name]:7.3f} {mc[name] / mc['off']:5.3f}x   {paired[name]:15.3f}x")
        r_wall, r_cpu, r_pair = mw["codec_info"] / mw["off"], mc["codec_info"] / mc["off"], paired["codec_info"]
        verdict = "meets" if r_pair <= 1.10 else "MISSES"
        print(f"  export overhead: wall {r_wall:.3f}x, cpu {r_cpu:.3f}x, paired cpu {r_pair:.3f}x "
              f"({verdict} the 1.10x target on paired cpu time)")
        print("  (facade = cvsr.open with views + side data parse per frame, export on)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
