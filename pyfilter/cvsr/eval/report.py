"""Evaluation outputs a person reads: markdown tables, a PSNR plot (PIL, no matplotlib), crops."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from cvsr.eval.metrics import BORDER

PALETTE = [(90, 90, 90), (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def _means(rows, clips=None):
    """{(method, crf): (psnr, ssim, skip)} averaged over clips."""
    acc = defaultdict(list)
    for r in rows:
        if clips is None or r.clip in clips:
            acc[(r.method, r.crf)].append(r)
    out = {}
    for key, rs in acc.items():
        skips = [r.skip for r in rs if r.skip is not None]
        out[key] = (float(np.mean([r.psnr for r in rs])), float(np.mean([r.ssim for r in rs])),
                    float(np.mean(skips)) if skips else None)
    return out


def _methods(rows):
    seen = []
    for r in rows:
        if r.method not in seen:
            seen.append(r.method)
    return seen


def _table(rows, clips, title):
    means = _means(rows, clips)
    crfs = sorted({k[1] for k in means})
    methods = _methods(rows)
    lines = [f"**{title}** — Y-PSNR (dB) / SSIM, skip = share of pixels the sparse body skipped", "",
             "| method | " + " | ".join(f"CRF {c}" for c in crfs) + " | Δ vs bicubic @23 |",
             "|---|" + "---|" * len(crfs) + "---|"]
    for m in methods:
        cells = []
        for c in crfs:
            if (m, c) not in means:
                cells.append("–")
                continue
            p, s, k = means[(m, c)]
            cells.append(f"{p:.2f} / {s:.4f}" + (f" (skip {100 * k:.0f}%)" if k is not None else ""))
        d = ""
        if (m, 23) in means and ("bicubic", 23) in means:
            d = f"{means[(m, 23)][0] - means[('bicubic', 23)][0]:+.2f}"
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {d} |")
    return "\n".join(lines)


def markdown_table(rows, meta: dict) -> str:
    real = {c for c, m in meta.items() if m.get("kind") == "video"}
    parts = [f"Border crop: {BORDER} HR pixels each side; luma BT.601 (Y = 16 + 65.481 R + 128.553 G + 24.966 B).",
             "", _table(rows, real, "Held-out real sources (" + ", ".join(sorted(real)) + ")"), "",
             _table(rows, None, "All held-out clips (" + ", ".join(sorted(meta)) + ")"), "",
             "**Per clip** — Y-PSNR (dB)", ""]
    crfs = sorted({r.crf for r in rows})
    methods = _methods(rows)
    parts.append("| clip | CRF | " + " | ".join(methods) + " |")
    parts.append("|---|---|" + "---|" * len(methods))
    by = {(r.clip, r.crf, r.method): r for r in rows}
    for clip in sorted(meta):
        for c in crfs:
            cells = [f"{by[(clip, c, m)].psnr:.2f}" if (clip, c, m) in by else "–" for m in methods]
            parts.append(f"| {clip} | {c} | " + " | ".join(cells) + " |")
    return "\n".join(parts + ["", _temporal_table(rows)]) + "\n"


def _temporal_table(rows) -> str:
    """Per clip and CRF: tdiff (flicker, luma levels) and Y-PSNR over the first and last quarter of the frames
    (drift) for every method."""
    methods = _methods(rows)
    lines = ["**Temporal stability** — tdiff = mean |Δt(SR) − Δt(GT)| on luma (8-bit levels, lower is steadier); "
             "Y-PSNR of the first → last quarter of the frames", "",
             "| clip | CRF | frames | " + " | ".join(methods) + " |", "|---|---|---|" + "---|" * len(methods)]
    by = {(r.clip, r.crf, r.method): r for r in rows}
    for clip, crf in sorted({(r.clip, r.crf) for r in rows}):
        cells, frames = [], 0
        for m in methods:
            r = by.get((clip, crf, m))
            if r is None or r.tdiff is None or not r.psnr_frames:
                cells.append("–")
                continue
            frames = len(r.psnr_frames)
            q = max(1, frames // 4)
            cells.append(f"{r.tdiff:.2f} ({np.mean(r.psnr_frames[:q]):.2f} → {np.mean(r.psnr_frames[-q:]):.2f})")
        lines.append(f"| {clip} | {crf} | {frames} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def draw_plot(path: Path, rows, size=(760, 440)) -> None:
    """PSNR gain over bicubic vs CRF, one line per method (mean of all clips)."""
    means = _means(rows)
    crfs = sorted({k[1] for k in means})
    methods = [m for m in _methods(rows) if m != "bicubic"]
    gains = {m: [means[(m, c)][0] - means[("bicubic", c)][0] for c in crfs if (m, c) in means] for m in methods}
    w, h = size
    left, right, top, bottom = 70, 200, 40, 60
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    vals = [v for g in gains.values() for v in g] + [0.0]
    lo, hi = min(vals), max(vals)
    pad = 0.1 * (hi - lo or 1)
    lo, hi = lo - pad, hi + pad

    def xy(i, v):
        x = left + (w - left - right) * (i / max(len(crfs) - 1, 1))
        y = top + (h - top - bottom) * (1 - (v - lo) / (hi - lo))
        return x, y

    d.rectangle([left, top, w - right, h - bottom], outline="black")
    for k in range(6):
        v = lo + (hi - lo) * k / 5
        _, y = xy(0, v)
        d.line([left - 4, y, left, y], fill="black")
        d.text((8, y - 6), f"{v:+.2f}", fill="black")
        d.line([left, y, w - right, y], fill=(230, 230, 230))
    _, y0 = xy(0, 0.0)
    d.line([left, y0, w - right, y0], fill=(120, 120, 120))
    for i, c in enumerate(crfs):
        x, _ = xy(i, lo)
        d.text((x - 18, h - bottom + 8), f"CRF {c}", fill="black")
    d.text((left, 12), "Y-PSNR gain over bicubic (dB), mean of held-out clips", fill="black")
    for j, m in enumerate(methods):
        col = PALETTE[(j + 1) % len(PALETTE)]
        pts = [xy(i, v) for i, v in enumerate(gains[m])]
        if len(pts) > 1:
            d.line(pts, fill=col, width=3)
        for x, y in pts:
            d.ellipse([x - 4, y - 4, x + 4, y + 4], fill=col)
        d.line([w - right + 15, top + 20 * j + 6, w - right + 40, top + 20 * j + 6], fill=col, width=3)
        d.text((w - right + 46, top + 20 * j), m, fill="black")
    img.save(path)


def _busiest_window(gt: np.ndarray, size: int) -> tuple[int, int]:
    y = gt.astype(np.float32).mean(-1)
    energy = np.abs(np.diff(y, axis=0))[:, :-1] + np.abs(np.diff(y, axis=1))[:-1]
    h, w = energy.shape
    best, pos = -1.0, (0, 0)
    step = max(size // 4, 8)
    for top in range(BORDER, max(h - size - BORDER, BORDER) + 1, step):
        for left in range(BORDER, max(w - size - BORDER, BORDER) + 1, step):
            e = float(energy[top:top + size, left:left + size].mean())
            if e > best:
                best, pos = e, (top, left)
    return pos


def save_crop_strip(path: Path, panels: dict[str, np.ndarray], frames: list[int], size: int = 96) -> None:
    """One crop over time: a row per panel (bicubic, models..., GT), a column per frame in ``frames``; the
    window is the most textured place of GT's first listed frame. Flicker and drift show down the columns."""
    top, left = _busiest_window(panels["GT"][frames[0]], size)
    label_w, gap = 110, 2
    out = Image.new("RGB", (label_w + len(frames) * (size + gap), 16 + len(panels) * (size + gap)), "white")
    draw = ImageDraw.Draw(out)
    for j, f in enumerate(frames):
        draw.text((label_w + j * (size + gap) + 2, 2), f"frame {f}", fill="black")
    for i, (name, clip) in enumerate(panels.items()):
        y = 16 + i * (size + gap)
        draw.text((2, y + size // 2 - 6), name[:18], fill="black")
        for j, f in enumerate(frames):
            out.paste(Image.fromarray(np.ascontiguousarray(clip[f][top:top + size, left:left + size])),
                      (label_w + j * (size + gap), y))
    out.save(path)


def save_crops(path: Path, panels: dict[str, np.ndarray], frame: int, size: int = 128, zoom: int = 2) -> None:
    """Side-by-side crops of one frame: panels in order (bicubic, models..., GT), each ``size`` HR px
    square around the most textured place in GT, magnified ``zoom`` x with nearest neighbour."""
    gt = panels["GT"][frame]
    top, left = _busiest_window(gt, size)
    tiles = []
    for name, frames in panels.items():
        crop = frames[frame][top:top + size, left:left + size]
        tile = Image.fromarray(crop).resize((crop.shape[1] * zoom, crop.shape[0] * zoom), Image.NEAREST)
        canvas = Image.new("RGB", (tile.width, tile.height + 18), "white")
        canvas.paste(tile, (0, 18))
        ImageDraw.Draw(canvas).text((4, 3), name, fill="black")
        tiles.append(canvas)
    out = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), tiles[0].height), "white")
    x = 0
    for t in tiles:
        out.paste(t, (x, 0))
        x += t.width + 4
    out.save(path)
