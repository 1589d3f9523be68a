"""``cvsr upscale SRC DST``: the argparse side of ``cvsr.upscale`` (registered by cvsr.cli)."""
from __future__ import annotations

import argparse
from pathlib import Path

from cvsr.runtime import BACKENDS


def _cmd_upscale(args) -> int:
    from .upscale import upscale

    codec = ("-c:v", "ffv1") if args.lossless else ("-c:v", "libx264", "-preset", args.preset, "-crf", str(args.crf))
    result = upscale(args.input, args.output, model=args.model, device=args.device, sparse=args.sparse,
                     precision=args.precision, threads=args.threads, align=not args.no_align, backend=args.backend,
                     progress=not args.quiet, video_codec=codec, audio=not args.no_audio)
    if not args.quiet:
        print(f"{args.output}: {result.frames} frames {result.width}x{result.height}, "
              f"{result.frames_aligned} aligned with codec info")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    u = sub.add_parser("upscale", help="x4 super-resolution of a video (the ffmpeg filter's host, from Python)")
    u.add_argument("input", type=Path, help="source video (H.264 for codec-info alignment)")
    u.add_argument("output", type=Path, help="output video; audio streams are copied")
    u.add_argument("--model", default=None, help="registered model name or checkpoint path (default: cvsr.models.DEFAULT_MODEL, ciaf)")
    u.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    u.add_argument("--sparse", choices=("auto", "on", "off"), default="auto")
    u.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"), default="auto",
                   help="fp16: CUDA; bf16: the OpenVINO backend on a CPU with bf16 instructions; "
                        "auto: bf16 where it runs, else fp32")
    u.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="what runs the model: auto (OpenVINO on the CPU when installed, else torch), torch, openvino")
    u.add_argument("--threads", type=int, default=0, help="CPU threads of torch and the backend (0: their default)")
    u.add_argument("--no-align", action="store_true", help="ignore the codec info (plain recurrent upscaling)")
    u.add_argument("--crf", type=int, default=18, help="x264 quality of the output")
    u.add_argument("--preset", default="fast", help="x264 preset of the output")
    u.add_argument("--lossless", action="store_true", help="encode the output with ffv1")
    u.add_argument("--no-audio", action="store_true", help="drop the audio instead of copying it")
    u.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    u.set_defaults(func=_cmd_upscale)
