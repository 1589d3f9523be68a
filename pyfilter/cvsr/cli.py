"""cvsr: x4 super-resolution of compressed video that reuses the decoder's motion vectors and residuals.

    cvsr data build --out build/data        fetch sources, render, degrade, encode, decode, write shards
    cvsr degrade IN OUT                      the training degradation (blur + x4) of a video or image
    cvsr train --model ciaf-lite ...         train a model on shards
    cvsr eval --models ciaf-lite,... ...     Y-PSNR / SSIM tables, plot and crops on the eval split
    cvsr card NAME --run ... --eval ...      write the model card of packaged weights
    cvsr demo [--out out]                    the main job on a sample the project makes (see cvsr.demo)
    cvsr upscale IN OUT [--model ciaf]       x4 super-resolution with the ffmpeg filter's host (cvsr.host)

This module is a thin argparse dispatcher; the work lives in the package modules.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cvsr.host.options import OPTIONS


def _cmd_data_build(args) -> int:
    from cvsr.data.build import build

    build(args.out, cache=args.cache, intel_dir=args.intel_dir, decoder=args.decoder,
          only=tuple(args.only or ()), crfs=tuple(args.crfs))
    return 0


def _cmd_degrade(args) -> int:
    from cvsr.data.degradation import degrade_file

    degrade_file(args.input, args.output, crf=args.crf)
    return 0


def _cmd_upscale(args) -> int:
    from cvsr.host.upscale import upscale

    codec = ("-c:v", "ffv1") if args.lossless else ("-c:v", "libx264", "-preset", args.preset, "-crf", str(args.crf))
    options = {o.name: getattr(args, o.name) for o in OPTIONS if o.name != "align"}
    if args.workers > 1 or args.cluster:
        from cvsr.host.parallel import upscale_parallel

        result = upscale_parallel(args.input, args.output, workers=args.workers, cluster=args.cluster,
                                  align=not args.no_align, video_codec=codec, audio=not args.no_audio, **options)
    else:
        result = upscale(args.input, args.output, align=not args.no_align, progress=not args.quiet,
                         video_codec=codec, audio=not args.no_audio, **options)
    if not args.quiet:
        print(f"{args.output}: {result.frames} frames {result.width}x{result.height}, "
              f"{result.frames_aligned} aligned with codec info")
    return 0


def _cmd_train(args) -> int:
    from cvsr.train.loop import TrainOptions, train

    train(TrainOptions(**{k: v for k, v in vars(args).items() if k in TrainOptions.__dataclass_fields__}))
    return 0


def _cmd_eval(args) -> int:
    from cvsr.eval.run import evaluate, merge_reports

    if args.merge:
        merge_reports(args.merge, args.out)
        return 0
    if not args.models:
        raise ValueError("cvsr eval needs --models (or --merge to combine earlier reports)")

    evaluate(models=args.models.split(","), data=args.data, split=args.split, out=args.out,
             crfs=tuple(args.crfs), device=args.device, weights=args.weights, max_frames=args.max_frames,
             clips=tuple(args.clips or ()), backend=args.backend, precision=args.precision)
    return 0


def _cmd_card(args) -> int:
    import json

    from cvsr.models import WEIGHTS_DIR, weights_path
    from cvsr.train.card import write_card

    eval_md = "\n".join((Path(d) / "eval.md").read_text() for d in args.eval)
    path = write_card(WEIGHTS_DIR / f"{args.name}.md", name=args.name, weights=weights_path(args.name), run=args.run,
                      eval_md=eval_md, manifest=json.loads((args.data / "manifest.json").read_text()),
                      reproduce=args.reproduce.read_text().strip(),
                      notes=args.notes.read_text() if args.notes else "")
    print(f"cvsr: wrote {path}")
    return 0


def _cmd_demo(args) -> int:
    from cvsr.demo import run

    run(args.out, source=args.source, frames=args.frames)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cvsr", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="training / evaluation data")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    b = data_sub.add_parser("build", help="build shards (see cvsr.data.build)")
    b.add_argument("--out", type=Path, default=Path("build/data"))
    b.add_argument("--cache", type=Path, default=None, help="download cache (default OUT/cache)")
    b.add_argument("--intel-dir", type=Path, default=None, help="Intel sample videos (default ../shared/data/...)")
    b.add_argument("--decoder", choices=("auto", "codec_info", "pixels"), default="auto",
                   help="codec_info: the project's export (MVs, residuals); pixels: PyAV, frames only")
    b.add_argument("--only", nargs="*", help="build only clips whose name contains one of these")
    b.add_argument("--crfs", type=int, nargs="+", default=[18, 23, 28])
    b.set_defaults(func=_cmd_data_build)

    d = sub.add_parser("degrade", help="blur sigma 1.5 + x4 decimation (+ optional x264 low delay)")
    d.add_argument("input", type=Path, help="video (any format PyAV reads) or image")
    d.add_argument("output", type=Path, help="image (.png), raw video (.mkv / .mp4 / .nut: lossless ffv1 "
                   "unless --crf is given, then H.264 low delay)")
    d.add_argument("--crf", type=int, default=None, help="also encode with libx264 low delay at this CRF")
    d.set_defaults(func=_cmd_degrade)

    t = sub.add_parser("train", help="train a model on shards")
    t.add_argument("--model", required=True, help="a name in cvsr.models.MODELS")
    t.add_argument("--data", type=Path, default=Path("build/data"))
    t.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, train.jsonl, weights")
    t.add_argument("--steps", type=int, default=1000)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--patch", type=int, default=64, help="LR patch side")
    t.add_argument("--frames", type=int, default=7, help="frames per training clip")
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--milestones", type=float, nargs="*", default=[2 / 3, 5 / 6],
                   help="fractions of --steps where the learning rate is multiplied by 0.1")
    t.add_argument("--crfs", type=int, nargs="+", default=[18, 23, 28])
    t.add_argument("--device", default="cpu")
    t.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--save-every", type=int, default=200)
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--sparse", action="store_true",
                   help="CIAF sparse training: Gumbel mask CNN + sparsity loss on the paper's schedule")
    t.add_argument("--mask-source", choices=("cnn", "residual"), default="cnn",
                   help="--sparse masks: the Gumbel mask CNN (paper) or the decoder's residual masks (test-time condition)")
    t.add_argument("--log-every", type=int, default=10)
    t.add_argument("--init", type=Path, default=None,
                   help="start from these weights (.safetensors); optimiser and schedules start fresh")
    t.add_argument("--stop-at", type=int, default=None,
                   help="stop after this many steps; learning-rate and mask schedules still follow --steps")
    t.add_argument("--max-minutes", type=float, default=None,
                   help="stop after this much wall time (checkpoint saved, weights exported); --resume continues")
    t.add_argument("--config", default=None, help="JSON overrides of the model config, e.g. '{\"channels\": 32}'")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("eval", help="evaluate models on a split")
    e.add_argument("--models", help="comma-separated model names; NAME=PATH uses those weights")
    e.add_argument("--data", type=Path, default=Path("build/data"))
    e.add_argument("--split", default="eval")
    e.add_argument("--out", type=Path, default=Path("build/eval"))
    e.add_argument("--crfs", type=int, nargs="+", default=[18, 23, 28])
    e.add_argument("--device", default="cpu")
    e.add_argument("--weights", type=Path, default=None, help="folder with NAME.safetensors (default: shipped)")
    e.add_argument("--max-frames", type=int, default=None)
    e.add_argument("--clips", nargs="*", help="only these clips of the split (e.g. to run parts in parallel)")
    e.add_argument("--merge", type=Path, nargs="+",
                   help="combine the reports of earlier runs over disjoint clips (their --out folders) into --out")
    e.add_argument("--backend", choices=("torch", "openvino"), default="torch",
                   help="what runs the dense steps (sparse steps run on torch); rows are named MODEL[BACKEND PRECISION]")
    e.add_argument("--precision", choices=("fp32", "bf16", "int8"), default="fp32",
                   help="bf16: OpenVINO on a CPU with bf16; int8: OpenVINO, convolutions quantized (needs nncf)")
    e.set_defaults(func=_cmd_eval)

    c = sub.add_parser("card", help="write the model card of packaged weights (cvsr/models/weights/NAME.md) "
                       "from the training run, the eval reports and the data manifest")
    c.add_argument("name", help="registered model name whose packaged weights the card describes")
    c.add_argument("--run", type=Path, required=True, help="the training run folder (options.json, train.jsonl)")
    c.add_argument("--eval", type=Path, nargs="+", required=True, help="cvsr eval output folders (eval.md)")
    c.add_argument("--data", type=Path, default=Path("build/data"), help="data folder with manifest.json")
    c.add_argument("--reproduce", type=Path, required=True, help="text file: the exact commands")
    c.add_argument("--notes", type=Path, default=None, help="markdown file appended to the training section")
    c.set_defaults(func=_cmd_card)

    m = sub.add_parser("demo", help="encode real footage, write its motion/residual picture (OUT/codec_info.png), "
                       "upscale an x4-degraded copy with ffmpeg -vf cvsr and write zoomed crops "
                       "bicubic | cvsr | ground truth (OUT/side_by_side.png)")
    m.add_argument("--out", type=Path, default=Path("out"))
    m.add_argument("--source", default=None,
                   help="video to encode, or testsrc2 (default: cityCC0.mpg, fetched into build/data/cache)")
    m.add_argument("--frames", type=int, default=48)
    m.set_defaults(func=_cmd_demo)

    u = sub.add_parser("upscale", help="x4 super-resolution of a video (the ffmpeg filter's host, from Python)")
    u.add_argument("input", type=Path, help="source video (H.264 or HEVC for codec-info alignment)")
    u.add_argument("output", type=Path, help="output video; audio streams are copied")
    for option in OPTIONS:  # the filter's options, same values and defaults (cvsr.host.options)
        if option.name == "align":
            u.add_argument("--no-align", action="store_true", help="ignore the codec info (plain recurrent upscaling)")
        elif option.choices:
            u.add_argument(f"--{option.name}", choices=option.choices, default=option.default, help=option.help)
        else:
            u.add_argument(f"--{option.name}", type=int if isinstance(option.default, int) else str,
                           default=option.default, help=option.help)
    u.add_argument("--crf", type=int, default=18, help="x264 quality of the output")
    u.add_argument("--preset", default="fast", help="x264 preset of the output")
    u.add_argument("--lossless", action="store_true", help="encode the output with ffv1")
    u.add_argument("--no-audio", action="store_true", help="drop the audio instead of copying it")
    u.add_argument("--workers", type=int, default=1,
                   help="split the input at closed GOPs and upscale the pieces on this many Dask workers "
                        "(a local cluster on 127.0.0.1 unless --cluster); the output equals the sequential one")
    u.add_argument("--cluster", default=None, help="address of a running Dask scheduler (tcp://HOST:8786); the "
                   "workers must see the input and output folders")
    u.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    u.set_defaults(func=_cmd_upscale)
    return parser


# What a user can fix (missing file, bad option, unsupported stream, a failed ffmpeg run: the project reports
# failed external tools as RuntimeError): one line, no traceback. A bug that raises one of these still shows
# its traceback with --debug; any other exception propagates with its traceback.
_USER_ERRORS = (OSError, ValueError, NotImplementedError, RuntimeError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    args = parser.parse_args(argv)
    import subprocess

    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("cvsr: interrupted", file=sys.stderr)
        return 130
    except (*_USER_ERRORS, subprocess.CalledProcessError) as e:
        if args.debug:
            raise
        what = (f"{' '.join(map(str, e.cmd[:1]))} exited with status {e.returncode}"
                if isinstance(e, subprocess.CalledProcessError) else str(e) or type(e).__name__)
        print(f"cvsr: error: {what} (--debug shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
