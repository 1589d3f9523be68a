"""Shared helpers for the benches: synthetic codec-like residual masks, MV fields, timing, a process's memory."""
from __future__ import annotations

import statistics
import subprocess
import threading
import time

import torch
import torch.nn.functional as F


def residual_mask(n: int, h: int, w: int, fraction: float, kind: str = "blob", seed: int = 0,
                  device: str = "cpu") -> torch.Tensor:
    """(n, h, w) bool mask with ~fraction active pixels, built from 4x4 blocks like H.264 residual maps.

    kind "blob": a smoothed random field on the 4x4-block grid thresholded at its quantile, so active
    blocks cluster (textured regions, moving edges), as in real residual maps at CRF 18-28.
    kind "scatter": independent random 4x4 blocks (worst case for the halo).
    """
    g = torch.Generator().manual_seed(seed)
    bh, bw = (h + 3) // 4, (w + 3) // 4
    field = torch.rand((n, 1, bh, bw), generator=g)
    if kind == "blob":
        field = F.avg_pool2d(F.avg_pool2d(field, 5, 1, 2, count_include_pad=False), 5, 1, 2,
                             count_include_pad=False)
    elif kind != "scatter":
        raise ValueError(f"kind must be 'blob' or 'scatter', got {kind!r}")
    thr = torch.quantile(field.reshape(n, -1), 1.0 - fraction, dim=1).view(n, 1, 1, 1)
    blocks = (field > thr).float()
    mask = F.interpolate(blocks, scale_factor=4, mode="nearest")[:, 0, :h, :w] > 0
    return mask.to(device)


def mv_field(n: int, h: int, w: int, seed: int = 0, device: str = "cpu") -> torch.Tensor:
    """(n, h, w, 2) piecewise-constant quarter-pel motion on 4x4 blocks, a few pixels, like decoded MVs."""
    g = torch.Generator().manual_seed(seed)
    blocks = torch.round(torch.randn((n, 2, (h + 3) // 4, (w + 3) // 4), generator=g) * 8) / 4
    mv = F.interpolate(blocks, scale_factor=4, mode="nearest")[:, :, :h, :w]
    return mv.permute(0, 2, 3, 1).contiguous().to(device)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed_interleaved(fns: dict, reps: int, device: str, warmup: int = 1,
                      cpu_times: dict | None = None) -> dict[str, list[float]]:
    """Run each callable ``reps`` times, interleaved (ABAB...) so that machine load hits all alike;
    returns wall seconds per call. ``cpu_times``, if given, receives this process's CPU seconds per call
    (all threads), which other processes on a shared machine disturb less than wall time."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync(device)
    times = {k: [] for k in fns}
    if cpu_times is not None:
        cpu_times.update({k: [] for k in fns})
    for _ in range(reps):
        for k, fn in fns.items():
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            sync(device)
            times[k].append(time.perf_counter() - t0)
            if cpu_times is not None:
                cpu_times[k].append(time.process_time() - c0)
    return times


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def rss_kib(pid: int) -> int:
    """Resident memory of a process (KiB), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_sampling_rss(cmd: list, period: float = 0.1, timeout: float | None = None):
    """Run ``cmd`` (stderr captured), sampling its RSS every ``period`` s.
    Returns (wall seconds, [(seconds since start, RSS KiB)] while it ran, stderr bytes, return code)."""
    samples: list[tuple[float, int]] = []
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], stderr=subprocess.PIPE)

    def sample():
        while proc.poll() is None:
            samples.append((time.perf_counter() - t0, rss_kib(proc.pid)))
            time.sleep(period)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        err = proc.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    elapsed = time.perf_counter() - t0
    sampler.join()
    return elapsed, [s for s in samples if s[1] > 0], err, proc.returncode
