"""bench/filter: the whole ``ffmpeg -i clip -vf cvsr -f null -`` run vs the bare model loop on the same frames.

One run measures, on one clip (H.264 random access, B-frames):

* ffmpeg: wall time of the complete command (decode with codec-info export,
  bridge, host: colour conversion, alignment, scheduling; model; -f null), and,
  from the host's own statistics in the same process (``-v verbose``), the time
  from the first input frame to the last output frame against the time spent
  in ``model.step``: the overhead ratio, measured under the same machine load;
* bare model loop: the host's ``model.step`` calls alone (timed inside the host
  over the same frames in the same order, decoded with the project's reader),
  i.e. what a hand-written loop over pre-made tensors would cost;
* peak RSS of the ffmpeg process, sampled during the run: flat means no leak.

Prints ratios (ffmpeg / bare model, target <= 1.05) from this one run; never
asserts on time.  The model is the registered config (``--model``), with its
packaged weights when present, else a seeded untrained copy (speed does not
depend on the weights).

    .venv/bin/python bench/filter.py --frames 2000 --size 160x96 --model ciaf-lite --threads 2
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import run_sampling_rss  # noqa: E402

from cvsr.ffmpeg import find_ffmpeg  # noqa: E402

FFMPEG = find_ffmpeg()


def make_clip(path: Path, frames: int, size: str, rate: int = 25) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}",
                    "-frames:v", str(frames), "-c:v", "libx264", "-preset", "fast", "-crf", "23",
                    "-bf", "2", "-refs", "3", "-g", "250", str(path)], check=True, timeout=600)


def model_spec(name: str, folder: Path) -> tuple[str, str]:
    """The checkpoint to run: packaged weights if present, else a seeded untrained one (timing only)."""
    import torch

    from cvsr.models import MODELS, build_model, save_checkpoint, weights_path

    if Path(name).is_file():
        return name, "checkpoint"
    if weights_path(name).is_file():
        return name, "packaged weights"
    torch.manual_seed(0)
    path = folder / f"{name}-untrained.safetensors"
    save_checkpoint(build_model(name), path, name=name)
    assert name in MODELS
    return str(path), "untrained (timing only)"


STATS = re.compile(rb"cvsr host: (\d+) frames .*?, ([\d.]+) s from first input to last output, "
                   rb"([\d.]+) s of it compiling the backend, ([\d.]+) s in the model")


def run_ffmpeg(clip: Path, model: str, threads: int, frames: int | None, backend: str = "auto",
               precision: str = "auto"):
    """Wall seconds of the whole command, (time, RSS KiB) samples every 0.1 s, and the host's
    (frames, seconds first input -> last output, seconds of it compiling the backend, seconds in the model)."""
    cmd = [FFMPEG, "-v", "verbose", "-nostdin", "-threads", "1", "-i", str(clip),
           "-vf", f"cvsr=model={model}:threads={threads}:backend={backend}:precision={precision}"]
    if frames:
        cmd += ["-frames:v", str(frames)]
    cmd += ["-f", "null", "-"]
    elapsed, samples, err, returncode = run_sampling_rss(cmd)
    stats = STATS.search(err)
    if returncode != 0 or not stats:
        raise RuntimeError(f"ffmpeg failed: {err.decode(errors='replace')[-2000:]}")
    host = (int(stats[1]), float(stats[2]), float(stats[3]), float(stats[4]))
    return elapsed, samples, host


def bare_model_loop(clip: Path, model: str, threads: int, backend: str = "auto",
                    precision: str = "auto") -> tuple[float, float, int]:
    """(seconds in model.step, seconds of the whole Python host loop incl. decoding, frames)."""
    from cvsr.codec import open as open_video
    from cvsr.host import Host

    host = Host(model=model, threads=threads, backend=backend, precision=precision)
    step = host.model.step
    spent = [0.0]

    def timed_step(*args, **kwargs):
        t = time.perf_counter()
        out = step(*args, **kwargs)
        spent[0] += time.perf_counter() - t
        return out

    host.model.step = timed_step
    frames = 0
    t0 = time.perf_counter()
    with open_video(clip, threads=1) as reader:
        for frame in reader:
            info = frame.codec_info.buffer() if frame.codec_info is not None else None
            host.send(frame.planes, None, frame.width, frame.height, frame.pts or 0, info)
            while host.receive() is not None:
                frames += 1
    host.flush()
    while host.receive() is not None:
        frames += 1
    return spent[0], time.perf_counter() - t0, frames


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--size", default="160x96", help="LR size WxH")
    ap.add_argument("--model", default="ciaf-lite", help="registered name or checkpoint path")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of torch and the backend (both runs)")
    ap.add_argument("--backend", default="auto", choices=("auto", "torch", "openvino"))
    ap.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "int8"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = folder / "clip.mp4"
        make_clip(clip, args.frames, args.size)
        model, weights = model_spec(args.model, folder)

        t_model, t_host, n = bare_model_loop(clip, model, args.threads, args.backend, args.precision)
        t_full, rss, (n_ff, t_pipe, t_compile, t_model_ff) = run_ffmpeg(clip, model, args.threads, None,
                                                                        args.backend, args.precision)

    print(f"clip: {n} frames {args.size} H.264 (B-frames), model {args.model} [{weights}], "
          f"threads {args.threads}, backend {args.backend}, precision {args.precision}")
    print(f"bare model loop (python):  {n / t_model:8.2f} fps  ({1000 * t_model / n:.2f} ms/frame in model.step)")
    print(f"python host loop:          {n / t_host:8.2f} fps  (reader + host + model, no ffmpeg)")
    print(f"ffmpeg -vf cvsr, whole:    {n_ff / t_full:8.2f} fps  ({t_full:.1f} s incl. interpreter start-up "
          f"and model loading {t_full - t_pipe:.1f} s)")
    print(f"ffmpeg -vf cvsr, pipeline: {n_ff / (t_pipe - t_compile):8.2f} fps  (first input -> last output, "
          f"less {t_compile:.2f} s compiling the backend for the frame size once)")
    print(f"  model alone in that run: {n_ff / t_model_ff:8.2f} fps")
    ratio = (t_pipe - t_compile) / t_model_ff
    print(f"ratio ffmpeg pipeline / model, same run: {ratio:.3f}  (overhead target <= 1.05)")
    print(f"ratio ffmpeg whole / bare model loop:    {t_full / t_model:.3f}  (separate runs: machine load varies)")
    if rss:
        quarter = [max(r for t, r in rss if t <= t_full * q) for q in (0.25, 0.5, 0.75, 1.0)]
        print("peak RSS of ffmpeg at 25/50/75/100% of the run: "
              + " / ".join(f"{r / 1024:.0f}" for r in quarter) + " MiB"
              + f"; growth 25%->100%: {quarter[3] / quarter[0]:.3f}x (flat = no leak)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
