"""Bench whole-model throughput: frames per second, 180x320 -> 720x1280 (x4), per backend, dense vs sparse.

Runs ``step`` on a stream of synthetic frames with decoded-MV-like motion and codec-like residual masks
(see bench/_common.py): torch eager dense, torch sparse (the gather path) and, on the CPU, the OpenVINO
backend (dense; ``cvsr.runtime.openvino``: f32, bf16 where the CPU has it, int8 where NNCF is installed), interleaved so machine load hits all alike. Prints fps, the
ratio OpenVINO / torch eager, and the convolutions' achieved GFLOP/s next to this CPU's fp32 GEMM peak
measured in the same run (``torch.mm`` of 2048^2 matrices, the best a BLAS gets here). fp32 everywhere,
plus fp16 autocast on CUDA. Untrained weights: speed does not depend on them.

    .venv/bin/python bench/model.py [--device cuda] [--models ciaf ciaf-lite] [--fraction 0.25] [--threads 2]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench/ops.py

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _common import med, mv_field, residual_mask, timed_interleaved  # noqa: E402

from cvsr.models import MODELS, build_model  # noqa: E402
from cvsr.ops import dilate_mask  # noqa: E402
from cvsr.runtime.openvino import OpenVINOStep  # noqa: E402
from cvsr.runtime.openvino import available as openvino_available  # noqa: E402
from cvsr.runtime.openvino import bf16_supported  # noqa: E402


def conv_gmacs(model, h, w, active=1.0, halo=1.0):
    """Multiply-accumulates (G) of one step's convolutions; block conv1 runs on the halo, conv2 on the
    active set (sparse), the head and tail on every pixel."""
    c, s = model.config.channels, model.config.scale
    px = h * w
    head = px * (3 + c + (3 * s * s if model.config.hr_feedback else 0)) * c * 9
    blocks = model.config.num_blocks * px * c * c * 9 * (halo + active)
    tail = px * c * 3 * s * s * 9
    return (head + blocks + tail) / 1e9


def gemm_peak(reps: int = 5, n: int = 2048) -> float:
    """fp32 GFLOP/s of torch.mm on (n, n) matrices with the current threads: the CPU's practical peak."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    t = timed_interleaved({"mm": lambda: torch.mm(a, b)}, reps, "cpu")["mm"]
    return 2 * n ** 3 / min(t) / 1e9


def bench_model(name, args, device, dtype, peak=None):
    n, h, w = 1, args.height, args.width
    torch.manual_seed(0)
    model = build_model(name).to(device).eval()
    frames = [torch.rand((n, 3, h, w), device=device) for _ in range(2)]
    mvs = [mv_field(n, h, w, seed=i, device=device) for i in range(2)]
    masks = [residual_mask(n, h, w, args.fraction, args.mask_kind, seed=i, device=device) for i in range(2)]
    autocast = (torch.autocast("cuda", dtype=torch.float16) if dtype == "fp16" else contextlib.nullcontext())
    with torch.no_grad(), autocast:
        _, state0 = model.step(frames[0])
        counter = {"i": 0}

        def run(sparse):
            i = counter["i"] = counter["i"] + 1
            model.step(frames[i % 2], mvs[i % 2], masks[i % 2] if sparse else None, state0)

        reps = args.reps if not (MODELS[name][1].channels >= 128 and device == "cpu") else args.big_reps
        fns = {"dense": lambda: run(False), "sparse": lambda: run(True)}
        if device == "cpu" and dtype == "fp32" and openvino_available():
            precs = ("f32", "bf16") if bf16_supported() else ("f32",)
            if importlib.util.find_spec("nncf"):
                precs += ("int8",)  # calibrated on the (untrained) model's own synthetic sequence
            for prec in precs:
                ov = OpenVINOStep(model, threads=args.threads, precision=prec, cache=False)
                ov.prepare(h, w)

                def run_ov(ov=ov):
                    i = counter["i"] = counter["i"] + 1
                    ov.step(frames[i % 2], mvs[i % 2], state0)

                fns[f"openvino {prec}"] = run_ov
        cpu = {}
        t = timed_interleaved(fns, reps, device, cpu_times=cpu)
    d, s = med(t["dense"]), med(t["sparse"])
    cpu_ratio = med(cpu["dense"]) / med(cpu["sparse"])
    active = sum(m.float().mean().item() for m in masks) / len(masks)
    halo = sum(dilate_mask(m, 1).float().mean().item() for m in masks) / len(masks)
    gd, gs = conv_gmacs(model, h, w), conv_gmacs(model, h, w, active, halo)
    line = (f"{name:14s} {dtype:5s} {device:5s} torch dense {d * 1e3:7.1f} ms {1 / d:5.2f} fps ({gd:4.1f} GMAC, "
            f"{2 * gd / d:5.1f} GFLOP/s) | sparse {active:.0%} {s * 1e3:7.1f} ms {1 / s:5.2f} fps ({gs:4.1f} GMAC) "
            f"x{d / s:4.2f} (cpu time x{cpu_ratio:4.2f})")
    for key in (k for k in t if k.startswith("openvino")):
        o = med(t[key])
        line += (f"\n{'':26s}{key:13s} {o * 1e3:7.1f} ms {1 / o:5.2f} fps, {2 * gd / o:5.1f} GFLOP/s"
                 + (f" ({2 * gd / o / peak:4.0%} of the fp32 peak)" if peak else "")
                 + f", x{d / o:4.2f} vs torch dense, x{s / o:4.2f} vs torch sparse")
    print(line + f" [{reps} reps]", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--models", nargs="+", default=["ciaf", "ciaf-lite", "baseline-lite"], choices=sorted(MODELS))
    p.add_argument("--height", type=int, default=180)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--fraction", type=float, default=0.25, help="active pixels of the residual mask")
    p.add_argument("--mask-kind", default="blob", choices=["blob", "scatter"])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--big-reps", type=int, default=2, help="reps for 128-channel models on CPU")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY')}, {args.height}x{args.width} -> x4, load {os.getloadavg()[0]:.2f}")
    dtypes = ["fp32"]
    peak = None
    if args.device.startswith("cuda"):
        print(torch.cuda.get_device_name())
        dtypes.append("fp16")
    else:
        peak = gemm_peak()
        print(f"fp32 GEMM peak (torch.mm 2048^2, {torch.get_num_threads()} threads): {peak:.1f} GFLOP/s")
    for name in args.models:
        for dtype in dtypes:
            bench_model(name, args, args.device, dtype, peak)


if __name__ == "__main__":
    main()
