"""Reconstruction identity: the exported codec info rebuilds every inter block exactly, H.264 and HEVC.

For each inter (or skipped) 4x4 block, the prediction is computed from the
reference pictures the export names (by decode index), with the exported motion
vectors and an independent model of the codec's interpolation (h264_ref.py,
hevc_ref.py); adding the exported residual and clipping must give the decoded
samples, luma and chroma.  Deblocking (and HEVC's SAO) is off in these clips so
decoded frames are the references.
"""
from __future__ import annotations

import numpy as np
import pytest

import cvsr.codec as codec
import cvsr  # noqa: E402

import h264_ref  # noqa: E402
import hevc_ref  # noqa: E402

# A textured, panning clip: testsrc2 cropped along a moving window and scaled by
# 2/3, so that the true motion is sub-pixel.
PAN = dict(size="480x288", frames=20, extra=("-vf", "crop=360:216:x='n*3':y='n*2',scale=320:192"))

CONFIGS = {
    "low_delay": dict(bframes=0, refs=1),
    "random_access": dict(bframes=3, refs=3, x264_params="b-pyramid=normal"),
    "pan_low_delay": dict(PAN, bframes=0, refs=1),
    "pan_random_access": dict(PAN, bframes=3, refs=3),
    "slices": dict(bframes=2, refs=2, x264_params="slices=4"),
    "cavlc_8x8": dict(bframes=2, refs=2, x264_params="cabac=0:8x8dct=1"),
    "lossless": dict(bframes=0, refs=2, frames=10, x264_params="qp=0"),
    # chroma residual is exported for 4:2:0 only: luma is checked
    "yuv444p": dict(bframes=2, refs=2, frames=12, pix_fmt="yuv444p"),
    "yuv422p": dict(bframes=2, refs=2, frames=12, pix_fmt="yuv422p"),
}

# HEVC (libx265): the structures and tools of issue 12.  x265 has no low-delay-B (GPB) mode.
HEVC_CONFIGS = {
    "hevc_low_delay": dict(bframes=0, refs=1),
    "hevc_random_access": dict(bframes=4, refs=3, x264_params="b-pyramid=1"),
    "hevc_pan_random_access": dict(PAN, bframes=3, refs=4),
    # asymmetric partitions, 4 references, merge/skip everywhere on a static background
    "hevc_amp_refs4": dict(PAN, bframes=2, refs=4, x264_params="rect=1:amp=1"),
    # 16x16 CTBs, coding blocks down to 8x8, transform trees to 4x4, transform skip
    "hevc_ctu16_tskip": dict(bframes=2, refs=2, x264_params="ctu=16:tu-inter-depth=3:tu-intra-depth=3:tskip=1"),
    # smallest coding block 16x16: motion stored per 8x8
    "hevc_min_cu16": dict(bframes=2, refs=2, x264_params="min-cu-size=16"),
    # two slices per picture (x265 3.5 crashes or hangs with more slices than about half the CTB rows)
    "hevc_slices": dict(bframes=2, refs=2, x264_params="slices=2"),
    "hevc_lossless": dict(bframes=0, refs=2, frames=10, x264_params="lossless=1"),
    # chroma residual is exported for 4:2:0 only: luma is checked
    "hevc_yuv444p": dict(bframes=2, refs=2, frames=12, pix_fmt="yuv444p"),
}
for _config in HEVC_CONFIGS.values():
    _config["codec"] = "libx265"
ALL_CONFIGS = {**CONFIGS, **HEVC_CONFIGS}


def decode(path):
    with cvsr.open(path, threads=1) as r:
        return list(r)


def check_clip(frames, predict_inter=h264_ref.predict_inter):
    """Per plane: (exact inter blocks, inter blocks); asserts the zero-residual rules on the way."""
    planes = {f.decode_index: (f.y, f.u, f.v) for f in frames}
    counts = {p: [0, 0] for p in range(3)}
    for f in frames:
        info = f.codec_info
        assert info is not None and (info.crop_left, info.crop_top) == (0, 0)
        assert info.flags & 1 == 0, "weighted prediction is not modelled"
        bt = info.block_type
        skip = bt == codec.BLOCK_SKIP
        # no coded coefficients -> all-zero residual; a clear mb_residual bit -> zero
        mb_flags = info.mb_residual
        for p in range(3):
            res = info.residual(p)
            if res is None:
                continue
            cell = 4 if p == 0 else 2
            blocks = res.reshape(info.blocks_h, cell, info.blocks_w, cell)
            assert (blocks[skip.reshape(info.blocks_h, 1, info.blocks_w, 1).repeat(cell, 1).repeat(cell, 3)]
                    == 0).all()
            mb = info.mb_size if p == 0 else info.mb_size // 2
            clear = (mb_flags & (1 if p == 0 else 2)) == 0
            per_mb = np.abs(res.astype(np.int32)).reshape(info.mbs_h, mb, info.mbs_w, mb).sum(axis=(1, 3))
            assert (per_mb[clear] == 0).all()

        inter = (bt == codec.BLOCK_INTER) | skip
        if not inter.any():
            continue
        for p, decoded in enumerate((f.y, f.u, f.v)):
            if info.residual(p) is None:
                continue
            ys, xs, bys, bxs, pred = predict_inter(info, planes, p, inter)
            rebuilt = np.clip(pred + info.residual(p)[ys, xs], 0, 255)
            sample_ok = rebuilt == decoded[ys, xs]
            block_ok = np.ones(inter.shape, bool)
            np.logical_and.at(block_ok, (bys, bxs), sample_ok)
            counts[p][0] += int((block_ok & inter).sum())
            counts[p][1] += int(inter.sum())
    return counts


@pytest.mark.parametrize("config", sorted(ALL_CONFIGS))
def test_inter_blocks_rebuild_exactly(clips, config, record_property):
    recipe = ALL_CONFIGS[config]
    frames = decode(clips.make(f"recon_{config}.mp4", **recipe))
    types = {f.frame_type for f in frames}
    assert "P" in types
    if recipe["bframes"]:
        assert "B" in types
    hevc = recipe.get("codec") == "libx265"
    counts = check_clip(frames, hevc_ref.predict_inter if hevc else h264_ref.predict_inter)
    chroma = recipe.get("pix_fmt", "yuv420p") == "yuv420p"
    for p, name in enumerate("YUV" if chroma else "Y"):
        exact, total = counts[p]
        assert total > 1000
        record_property(f"{name}_exact_fraction", exact / total)
        print(f"{config} {name}: {exact}/{total} inter blocks exact ({exact / total:.6f})")
        assert exact == total, f"{config} plane {name}: {total - exact} of {total} inter blocks differ"


@pytest.mark.parametrize("config", ["lossless", "hevc_lossless"])
def test_lossless_intra_prediction_in_range(clips, config):
    """Transform bypass adds without clipping: decoded - residual is the intra prediction, a valid sample."""
    frames = decode(clips.make(f"recon_{config}.mp4", **ALL_CONFIGS[config]))
    info = frames[0].codec_info
    assert frames[0].frame_type == "I" and info.flags & 2
    for p, decoded in enumerate((frames[0].y, frames[0].u, frames[0].v)):
        res = info.residual(p).astype(np.int32)
        assert np.abs(res).max() > 0
        pred = decoded.astype(np.int32) - res
        assert pred.min() >= 0 and pred.max() <= 255


def array_extents(info):
    """(offset, bytes) of every array the header points to."""
    nmbs, nblocks = info.mbs_w * info.mbs_h, info.blocks_w * info.blocks_h
    k = info.mb_size // info.ref_block_size
    rb = info.residual_block_size
    out = [(info.mb_type_offset, nmbs), (info.mb_qp_offset, nmbs), (info.residual_mask_offset, 4 * nmbs),
           (info.residual_index_offset, 4 * nmbs),
           (info.residual_blocks_offset, info.nb_residual_blocks * rb * rb * 2),
           (info.residual_tb_offset, info.nb_residual_tbs * codec.TRANSFORM_BLOCK_DTYPE.itemsize),
           (info.residual_samples_offset, info.nb_residual_samples * 2)]
    for lst in (0, 1):
        out += [(info.mv_offset[lst], 4 * nblocks), (info.ref_idx_offset[lst], nmbs * k * k)]
    return [(o, n) for o, n in out if o]


@pytest.mark.parametrize("config", ["random_access", "slices", "low_delay", "hevc_random_access",
                                    "hevc_slices", "hevc_min_cu16"])
def test_no_stray_bytes(clips, config):
    """Outside the header and its arrays, the side data is all zero, and arrays never overlap.

    The motion vector arrays double as the decoder's motion tables: a write outside them, or
    stale data from an earlier picture of the pooled buffer, would show here.
    """
    with cvsr.open(clips.make(f"recon_{config}.mp4", **ALL_CONFIGS[config])) as r:
        for f in r:
            info = f.codec_info
            raw = info.buffer()
            assert raw.size == info.size
            covered = np.zeros(raw.size, bool)
            covered[:codec.CODEC_INFO_DTYPE.itemsize] = True
            for offset, nbytes in sorted(array_extents(info)):
                assert not covered[offset:offset + nbytes].any(), f"array at {offset} overlaps another"
                covered[offset:offset + nbytes] = True
            stray = np.flatnonzero(raw[~covered])
            assert stray.size == 0, f"frame {f.decode_index}: {stray.size} non-zero bytes outside the arrays"


@pytest.mark.parametrize("config", sorted(ALL_CONFIGS) + ["deblocked", "hevc_deblocked"])
def test_export_leaves_decoding_unchanged(clips, config):
    """Decoded pictures are bit-exact with and without the export, every plane.

    With the export on, reconstruction adds the residual the export computed (its own
    transforms) instead of transforming the coefficients again; this proves the two equal,
    independently of the reconstruction identity above (which a wrong residual used for both
    would still satisfy).
    """
    if config.endswith("deblocked"):
        # the encoder's defaults: deblocking (HEVC: and SAO) and weighted prediction on
        codec = "libx265" if config.startswith("hevc") else "libx264"
        path = clips.make(f"recon_{config}.mp4", **PAN, bframes=3, refs=3, deblock=True, weightp=True, codec=codec)
    else:
        path = clips.make(f"recon_{config}.mp4", **ALL_CONFIGS[config])
    planes = {}
    for export in (True, False):
        with cvsr.open(path, export=export) as r:
            planes[export] = [(f.y.copy(), f.u.copy(), f.v.copy()) for f in r]
    assert len(planes[True]) == len(planes[False]) > 0
    for n, (on, off) in enumerate(zip(planes[True], planes[False])):
        for p, (a, b) in enumerate(zip(on, off)):
            assert np.array_equal(a, b), f"frame {n} plane {p}: {int((a != b).sum())} samples differ"


def test_slices_with_different_lists(clips, tmp_path):
    """Slices of one picture with different list 0 orders: ref_idx is mapped onto the picture's table.

    x264 never writes such pictures; h264_rewrite.py reorders list 0 of the later P slices of an x264
    stream.  A wrong map predicts those slices from the wrong pictures and breaks the identity.
    """
    from h264_rewrite import reorder_later_slices

    src = clips.make("two_slices.h264", **dict(PAN, bframes=0, refs=2, x264_params="slices=2"))
    data, changed = reorder_later_slices(src.read_bytes())
    assert changed >= 10
    path = tmp_path / "reordered.h264"
    path.write_bytes(data)
    with cvsr.open(path) as r:
        frames = list(r)
        assert r.decode_errors == 0
    assert len(frames) == PAN["frames"]
    # the pictures really decode differently from the encoder's (the reorder took effect)
    with cvsr.open(src) as r:
        assert any(not np.array_equal(a.y, b.y) for a, b in zip(frames, r))
    counts = check_clip(frames)
    for p, (exact, total) in counts.items():
        assert total > 1000
        assert exact == total, f"plane {p}: {total - exact} of {total} inter blocks differ"
