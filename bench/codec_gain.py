"""Does the codec info pay off, for H.264 and for HEVC?  The shipped model on the held-out clips of
``cvsr data build`` (their HR frames, the training degradation, then each codec in the same low-delay
configuration at the same CRF), run with the exported motion and with zero motion (what the filter does
when the export is off or the stream has none), Y-PSNR against the HR frames, in one run.

    .venv/bin/python bench/codec_gain.py [--data build/data] [--model ciaf] [--crfs 23] [--max-frames 24]

Prints a table: bicubic, the model without and with the codec info, and the gain, per codec and clip.
Asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cvsr.data.decode import decode_codec_info
from cvsr.data.degradation import degrade
from cvsr.data.encode import ENCODER_ARGS, encode
from cvsr.data.shards import load_shard
from cvsr.eval.metrics import psnr_y
from cvsr.eval.run import bicubic, resolve_models, run_model
from cvsr.host.runner import ModelRunner


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=Path("build/data"))
    p.add_argument("--split", default="eval")
    p.add_argument("--model", default="ciaf")
    p.add_argument("--crfs", type=int, nargs="+", default=[23])
    p.add_argument("--max-frames", type=int, default=24)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    net = resolve_models([args.model], None, device)[args.model]
    runner = ModelRunner(args.model, net, device, torch.float32, True, "torch", args.threads, "fp32")
    paths = sorted((args.data / "shards" / args.split).glob("*.npz"))
    if not paths:
        raise SystemExit(f"no shards in {args.data / 'shards' / args.split}: run `cvsr data build`")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            hr = load_shard(path, ()).hr[:args.max_frames]
            lr = degrade(hr)
            for codec in ENCODER_ARGS:
                for crf in args.crfs:
                    t0 = time.time()
                    clip = decode_codec_info(encode(lr, Path(tmp) / f"{path.stem}_{codec}_{crf}.mkv", crf, codec=codec))
                    scores = {"bicubic": np.mean([psnr_y(a, b) for a, b in zip(bicubic(clip.lr), hr)])}
                    for label, mv in (("no codec info", np.zeros_like(clip.mv)), ("codec info", clip.mv)):
                        sr, _ = run_model(runner, clip.lr, mv, None, device)
                        scores[label] = float(np.mean([psnr_y(a, b) for a, b in zip(sr, hr)]))
                    rows.append((path.stem, codec, crf, scores))
                    print(f"{path.stem} {codec} crf{crf}: " + ", ".join(f"{k} {v:.2f}" for k, v in scores.items())
                          + f" ({time.time() - t0:.0f} s)", flush=True)

    print(f"\n{args.model}, {args.split} clips, first {args.max_frames} frames, Y-PSNR dB")
    print(f"| clip | codec | CRF | bicubic | {args.model} without codec info | with | gain |")
    print("|---|---|---|---|---|---|---|")
    for clip, codec, crf, s in rows:
        print(f"| {clip} | {codec} | {crf} | {s['bicubic']:.2f} | {s['no codec info']:.2f} | {s['codec info']:.2f} | "
              f"{s['codec info'] - s['no codec info']:+.2f} |")
    for codec in ENCODER_ARGS:
        gains = [s["codec info"] - s["no codec info"] for _, c, _, s in rows if c == codec]
        print(f"mean gain of the codec info, {codec}: {np.mean(gains):+.3f} dB over {len(gains)} clip/CRF pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
