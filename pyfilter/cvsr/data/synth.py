"""Synthetic video rendered from still photos: clean ground truth with real texture.

A virtual camera moves smoothly over a photo (pan, zoom, rotation and a mild
perspective tilt, each a low-order polynomial in time) while one or two sprites
cut from other photos move independently over it.  Frames are rendered at
``supersample`` times the HR size with bilinear ``grid_sample`` from a photo that
was first area-reduced to about one photo pixel per supersampled pixel, then
area-downsampled to HR: no aliasing, so the HR frames are a clean target.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class CameraPath:
    """Photo coordinates of the view over time (all in source-photo pixels).

    centre(t) = centre0 + vel * t + acc * t^2, zoom(t) = zoom0 * exp(zoom_rate * t)
    (photo pixels per HR pixel), angle(t) = angle0 + spin * t (radians),
    tilt(t) = tilt0 + tilt_rate * t (perspective, per HR pixel).  t is in frames.
    """
    centre0: tuple[float, float]
    vel: tuple[float, float]
    acc: tuple[float, float]
    zoom0: float
    zoom_rate: float
    angle0: float
    spin: float
    tilt0: tuple[float, float]
    tilt_rate: tuple[float, float]


@dataclass(frozen=True)
class SpritePath:
    """An independently moving layer, in HR pixels: position(t) = pos0 + vel * t, angle(t) = angle0 + spin * t."""
    pos0: tuple[float, float]
    vel: tuple[float, float]
    angle0: float
    spin: float
    half_size: tuple[float, float]   # (half width, half height) in HR pixels
    roundness: float                 # 0: rectangle with soft corners, 1: ellipse


def _area_reduce(img: torch.Tensor, factor: int) -> torch.Tensor:
    if factor <= 1:
        return img
    h, w = img.shape[-2:]
    return F.avg_pool2d(img[..., : h - h % factor, : w - w % factor], factor)


def _pixel_grid(h: int, w: int, ss: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Supersampled sample positions in HR pixel units, relative to the frame centre."""
    ys = (torch.arange(h * ss, dtype=torch.float64) + 0.5) / ss - h / 2
    xs = (torch.arange(w * ss, dtype=torch.float64) + 0.5) / ss - w / 2
    return torch.meshgrid(ys, xs, indexing="ij")


def camera_coords(path: CameraPath, t: float, gy: torch.Tensor, gx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Photo coordinates (x, y) seen by HR-relative positions (gx, gy) at time t."""
    tx = path.tilt0[0] + path.tilt_rate[0] * t
    ty = path.tilt0[1] + path.tilt_rate[1] * t
    denom = 1.0 + tx * gx + ty * gy
    px, py = gx / denom, gy / denom
    zoom = path.zoom0 * math.exp(path.zoom_rate * t)
    a = path.angle0 + path.spin * t
    ca, sa = math.cos(a), math.sin(a)
    cx = path.centre0[0] + path.vel[0] * t + path.acc[0] * t * t
    cy = path.centre0[1] + path.vel[1] * t + path.acc[1] * t * t
    return cx + zoom * (ca * px - sa * py), cy + zoom * (sa * px + ca * py)


def _sample(img: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bilinear sample img (1, c, H, W) at pixel-centre coordinates x, y (h, w) -> (c, h, w)."""
    hh, ww = img.shape[-2:]
    grid = torch.stack([(2 * x + 1) / ww - 1, (2 * y + 1) / hh - 1], dim=-1).unsqueeze(0).float()
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)[0]


def random_camera(rng: np.random.Generator, photo_hw: tuple[int, int], out_hw: tuple[int, int],
                  frames: int, tries: int = 200) -> tuple[CameraPath, float]:
    """Draw a camera path whose view stays inside the photo for every frame.

    Returns the path and the area-reduction factor to apply to the photo first
    (the path is expressed in the reduced photo's pixels).
    """
    ph, pw = photo_hw
    oh, ow = out_hw
    fit = min(ph / oh, pw / ow)            # photo pixels per HR pixel if the view fills the photo
    for _ in range(tries):
        # Between 1 and ~3 photo pixels per HR pixel, never more than fits with margin.
        zoom0 = float(min(rng.uniform(0.9, 3.0), fit * rng.uniform(0.45, 0.7)))
        reduce = max(1, int(zoom0))
        z = zoom0 / reduce
        rh, rw = ph // reduce, pw // reduce
        speed = rng.choice([0.5, 2.0, 5.0, 10.0], p=[0.2, 0.35, 0.3, 0.15]) * rng.uniform(0.6, 1.4)
        heading = rng.uniform(0, 2 * math.pi)
        vel = (speed * z * math.cos(heading), speed * z * math.sin(heading))
        acc = tuple(float(v) for v in rng.normal(0, 0.02 * speed * z + 1e-3, 2))
        path = CameraPath(
            centre0=(rw / 2 + rng.uniform(-0.2, 0.2) * rw, rh / 2 + rng.uniform(-0.2, 0.2) * rh),
            vel=vel, acc=acc, zoom0=z,
            zoom_rate=float(rng.choice([0.0, rng.normal(0, 0.006)], p=[0.4, 0.6])),
            angle0=float(rng.normal(0, 0.05)),
            spin=float(rng.choice([0.0, rng.normal(0, 0.004)], p=[0.5, 0.5])),
            tilt0=tuple(float(v) for v in rng.normal(0, 0.0002, 2)),
            tilt_rate=tuple(float(v) for v in rng.normal(0, 0.00001, 2)),
        )
        corners_y = torch.tensor([[-oh / 2, -oh / 2], [oh / 2, oh / 2]], dtype=torch.float64)
        corners_x = torch.tensor([[-ow / 2, ow / 2], [-ow / 2, ow / 2]], dtype=torch.float64)
        inside = True
        for t in range(frames):
            x, y = camera_coords(path, t, corners_y, corners_x)
            if x.min() < 1 or y.min() < 1 or x.max() > rw - 2 or y.max() > rh - 2:
                inside = False
                break
        if inside:
            return path, reduce
    raise ValueError(f"no camera path fits a {pw}x{ph} photo for a {ow}x{oh} view over {frames} frames")


def random_sprite(rng: np.random.Generator, out_hw: tuple[int, int]) -> SpritePath:
    oh, ow = out_hw
    half = (rng.uniform(0.08, 0.2) * ow, rng.uniform(0.08, 0.2) * oh)
    speed = rng.uniform(0.3, 5.0)
    heading = rng.uniform(0, 2 * math.pi)
    return SpritePath(
        pos0=(rng.uniform(-0.3, 0.3) * ow, rng.uniform(-0.3, 0.3) * oh),
        vel=(speed * math.cos(heading), speed * math.sin(heading)),
        angle0=rng.uniform(-0.5, 0.5), spin=float(rng.normal(0, 0.02)),
        half_size=half, roundness=float(rng.uniform(0, 1)))


def render(photo: np.ndarray, out_hw: tuple[int, int], frames: int, rng: np.random.Generator,
           sprite_photos: tuple[np.ndarray, ...] = (), supersample: int = 3,
           texture_tries: int = 6) -> np.ndarray:
    """Render a synthetic clip.

    photo: (H, W, 3) uint8 background; sprite_photos: photos to cut moving layers from.
    Returns (frames, out_h, out_w, 3) uint8 RGB.
    """
    oh, ow = out_hw
    full = torch.from_numpy(np.array(photo)).permute(2, 0, 1).unsqueeze(0).float()
    # Of a few camera paths keep the one that sees the most texture (photos have
    # large flat skies that teach nothing).
    best = None
    for _ in range(texture_tries):
        path, reduce = random_camera(rng, photo.shape[:2], out_hw, frames)
        bg = _area_reduce(full, reduce)
        gy1, gx1 = _pixel_grid(oh, ow, 1)
        x, y = camera_coords(path, frames // 2, gy1, gx1)
        mid = _sample(bg, x, y).mean(0)
        score = float((mid[1:] - mid[:-1]).abs().mean() + (mid[:, 1:] - mid[:, :-1]).abs().mean())
        if best is None or score > best[0]:
            best = (score, path, bg)
    _, path, bg = best
    sprites = []
    for sp in sprite_photos:
        s = random_sprite(rng, out_hw)
        img = torch.from_numpy(np.array(sp)).permute(2, 0, 1).unsqueeze(0).float()
        # Sprite texture scale: 1-2 sprite-photo pixels per HR pixel, from a random window.
        tex_zoom = rng.uniform(1.0, 2.0)
        need_h, need_w = 2 * s.half_size[1] * tex_zoom * 1.5, 2 * s.half_size[0] * tex_zoom * 1.5
        if img.shape[-2] < need_h or img.shape[-1] < need_w:
            tex_zoom = min(img.shape[-2] / (3 * s.half_size[1]), img.shape[-1] / (3 * s.half_size[0]))
        cx = rng.uniform(0.35, 0.65) * img.shape[-1]
        cy = rng.uniform(0.35, 0.65) * img.shape[-2]
        sprites.append((s, img, tex_zoom, cx, cy))
    gy, gx = _pixel_grid(oh, ow, supersample)
    out = np.empty((frames, oh, ow, 3), dtype=np.uint8)
    for t in range(frames):
        x, y = camera_coords(path, t, gy, gx)
        frame = _sample(bg, x, y)
        for s, img, tex_zoom, cx, cy in sprites:
            a = s.angle0 + s.spin * t
            ca, sa = math.cos(a), math.sin(a)
            dx = gx - (s.pos0[0] + s.vel[0] * t)
            dy = gy - (s.pos0[1] + s.vel[1] * t)
            lx, ly = ca * dx + sa * dy, -sa * dx + ca * dy           # sprite-local HR pixels
            u, v = lx / s.half_size[0], ly / s.half_size[1]
            # Superellipse |u|^p + |v|^p <= 1, p from 2 (ellipse) to 8 (soft rectangle).
            p = 2 + 6 * (1 - s.roundness)
            r = (u.abs() ** p + v.abs() ** p) ** (1 / p)
            # 1-HR-pixel soft edge, further smoothed by the supersampling.
            edge = 1.0 / min(s.half_size)
            alpha = ((1 - r) / edge + 0.5).clamp(0, 1).float()
            tex = _sample(img, cx + tex_zoom * lx, cy + tex_zoom * ly)
            frame = frame * (1 - alpha) + tex * alpha
        frame = F.avg_pool2d(frame.unsqueeze(0), supersample)[0]
        out[t] = frame.round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
    return out
