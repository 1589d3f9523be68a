"""bench/soak: ``ffmpeg -vf cvsr`` over a long stream; memory and Python objects must stay flat.

One run of the patched ffmpeg over N frames (default 20,000) of a small H.264 clip with B-frames and
periodic I-frames (the host resets its state at each), the shipped ``ciaf-lite`` on the default backend:
prints the process's RSS sampled every 0.2 s at 10 / 25 / 50 / 75 / 98 % of the run (98: before the process
winds down), the growth from 10% to 98% (target: within 2%), and the host's live-Python-object counts after 1,000 frames and at the end
(``-v verbose`` line "python objects"). Never asserts on time; exits 1 if RSS grew more than 2% or the
object count more than 1%.

    .venv/bin/python bench/soak.py [--frames 20000] [--size 64x48] [--model ciaf-lite] [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import run_sampling_rss  # noqa: E402

from cvsr.ffmpeg import find_ffmpeg  # noqa: E402

FFMPEG = find_ffmpeg()
OBJECTS = re.compile(rb"python objects (\d+) after (\d+) frames, (\d+) at the end")
FRAMES = re.compile(rb"cvsr host: (\d+) frames")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--size", default="64x48")
    ap.add_argument("--model", default="ciaf-lite")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "long.mp4"
        subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={args.size}:r=25",
                        "-frames:v", str(args.frames), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                        "-bf", "2", "-g", "250", str(clip)], check=True, timeout=1800)
        cmd = [FFMPEG, "-v", "verbose", "-nostdin", "-i", str(clip),
               "-vf", f"cvsr=model={args.model}:threads={args.threads}", "-f", "null", "-"]
        elapsed, samples, err, returncode = run_sampling_rss(cmd, period=0.2, timeout=4 * 3600)
    if returncode != 0:
        sys.stderr.write(err.decode(errors="replace")[-3000:])
        return 1
    frames = int(FRAMES.findall(err)[-1])
    objects = OBJECTS.search(err)

    def at(fraction):
        t = samples[-1][0] * fraction
        return next(r for s, r in samples if s >= t) / 1024

    points = {f: at(f) for f in (0.10, 0.25, 0.50, 0.75, 0.98)}  # 98%: before the process winds down
    growth = points[0.98] / points[0.10]
    print(f"{frames} frames {args.size}, model {args.model}, {elapsed:.0f} s ({frames / elapsed:.1f} fps)")
    print("ffmpeg RSS at " + " / ".join(f"{int(f * 100)}%" for f in points) + ": "
          + " / ".join(f"{v:.0f}" for v in points.values()) + f" MiB; growth 10% -> 98%: {growth:.4f}x")
    ok = growth <= 1.02
    if objects:
        early, after, end = int(objects[1]), int(objects[2]), int(objects[3])
        print(f"python objects: {early} after {after} frames, {end} at the end ({end / early:.4f}x)")
        ok = ok and end <= early * 1.01
    print("flat" if ok else "NOT FLAT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
