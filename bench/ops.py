"""Bench the ops: one residual block dense vs sparse, and the warp, at 180x320 LR, 128 channels.

Prints wall-clock ratios measured in one run (calls interleaved, medians), never asserts on time.

    .venv/bin/python bench/ops.py [--device cuda] [--reps 7] [--channels 128]
"""
from __future__ import annotations

import argparse
import os
import sys

# Passive OpenMP waiting: on a shared 2-core machine, spinning OpenMP barriers made the many short
# parallel regions of the sparse path 2-3x slower whenever another process held a core (dense conv
# was unaffected). Must be set before torch loads libgomp; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _common import med, mv_field, residual_mask, timed_interleaved  # noqa: E402

from cvsr.models import MODELS, build_model  # noqa: E402
from cvsr.ops import ResblockPlan, resblocks_ref, sparse_resblocks, warp  # noqa: E402


def bench_block(args, device):
    n, c, h, w = 1, args.channels, args.height, args.width
    g = torch.Generator().manual_seed(0)
    x = torch.randn((n, c, h, w), generator=g).to(device)
    block = [tuple(t.to(device) for t in (torch.randn((c, c, 3, 3), generator=g) * 0.03, torch.zeros(c),
                                          torch.randn((c, c, 3, 3), generator=g) * 0.03, torch.zeros(c)))]
    x_cl = x.contiguous(memory_format=torch.channels_last)
    dtype_note = ""
    fns = {"dense NCHW": lambda: resblocks_ref(x, block, None),
           "dense channels_last": lambda: resblocks_ref(x_cl, block, None)}
    cases = []
    for kind in args.kinds:
        for frac in args.fractions:
            mask = residual_mask(n, h, w, frac, kind, seed=1, device=device)
            plan = ResblockPlan(mask)
            label = f"{kind} {frac:.0%}"
            fns[f"sparse {label}"] = lambda m=mask: sparse_resblocks(x_cl, block, m)
            fns[f"sparse {label} (plan reused)"] = lambda p=plan: sparse_resblocks(x_cl, block, p)
            cases.append((label, mask.float().mean().item(), plan.halo.count / (n * h * w)))
    cpu = {}
    with torch.no_grad():
        t = timed_interleaved(fns, args.reps, device, cpu_times=cpu)
    dense = min(med(t["dense NCHW"]), med(t["dense channels_last"]))
    dense_cpu = min(med(cpu["dense NCHW"]), med(cpu["dense channels_last"]))
    print(f"\n== one residual block (conv3x3-ReLU-conv3x3 + skip), {c} ch, {h}x{w}, {device}{dtype_note}, "
          f"median of {args.reps} ==")
    print(f"dense NCHW           {med(t['dense NCHW']) * 1e3:8.1f} ms")
    print(f"dense channels_last  {med(t['dense channels_last']) * 1e3:8.1f} ms   (ratios below use the faster dense)")
    print(f"{'mask':14s} {'active':>7s} {'halo':>6s} {'sparse ms':>10s} {'speedup':>8s} "
          f"{'plan reused ms':>15s} {'speedup':>8s} {'cpu-time speedup':>17s} {'ideal':>6s}")
    for label, active, halo in cases:
        s, sp = med(t[f"sparse {label}"]), med(t[f"sparse {label} (plan reused)"])
        sc = med(cpu[f"sparse {label}"])
        ideal = 2.0 / (active + halo)  # conv1 on the halo, conv2 on the active set
        print(f"{label:14s} {active:7.1%} {halo:6.1%} {s * 1e3:10.1f} {dense / s:7.2f}x {sp * 1e3:15.1f} "
              f"{dense / sp:7.2f}x {dense_cpu / sc:16.2f}x {ideal:5.1f}x")
    print("speedup: dense wall / sparse wall (plan built in the call, or reused as the model does across its "
          "blocks); cpu-time speedup: the same from process CPU time (steadier on a shared machine); "
          "ideal: dense MACs / sparse MACs")


def bench_warp(args, device):
    n, h, w = 1, args.height, args.width
    mv = mv_field(n, h, w, seed=2, device=device)
    lr = torch.rand((n, 3, h, w), device=device)
    print(f"\n== warp vs one model step (dense, fp32), {h}x{w}, {device} ==")
    for name in ("ciaf-paper", "ciaf", "ciaf-lite"):
        config = MODELS[name][1]
        torch.manual_seed(0)
        model = build_model(name).to(device).eval()
        feat = torch.randn((n, config.channels, h, w), device=device)
        with torch.no_grad():
            _, state = model.step(lr)

            def align():  # every warp of a step: features, and the fed-back output at HR
                warp(state.feat, mv)
                if state.hr is not None:
                    model.align_hr(state.hr, mv)

            reps = args.model_reps if config.channels >= 128 else args.reps
            t = timed_interleaved({"warp": align, "step": lambda: model.step(lr, mv, None, state)}, reps, device)
        del feat
        tw, ts = med(t["warp"]), med(t["step"])
        print(f"{name:10s} ({config.channels:3d} ch): warp {tw * 1e3:7.1f} ms, step {ts * 1e3:8.1f} ms, "
              f"warp = {tw / ts:5.1%} of a step")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--height", type=int, default=180)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--channels", type=int, default=128)
    p.add_argument("--fractions", type=float, nargs="+", default=[0.10, 0.25, 0.50])
    p.add_argument("--kinds", nargs="+", default=["blob", "scatter"], choices=["blob", "scatter"])
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--model-reps", type=int, default=3, help="reps for the full-size model step")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    p.add_argument("--skip-warp", action="store_true")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, device {args.device}, load {os.getloadavg()[0]:.2f}")
    if args.device.startswith("cuda"):
        print(torch.cuda.get_device_name())
        from cvsr.ops import _cuda
        print(f"CuPy kernels: {'on' if _cuda.available() else 'off (torch paths)'}")
    bench_block(args, args.device)
    if not args.skip_warp:
        bench_warp(args, args.device)


if __name__ == "__main__":
    main()
