"""cvsr.open on tiny libx264 clips: frames, views, order, dense fields vs block grids."""
from __future__ import annotations

import gc
import subprocess

import numpy as np
import pytest

import cvsr.codec as codec
import cvsr  # noqa: E402


def read_all(path, **kw):
    with cvsr.open(path, **kw) as r:
        return r.stream, list(r)


def test_low_delay_basics(clips):
    stream, frames = read_all(clips.get("low_delay"))
    assert (stream.width, stream.height, stream.codec_name, stream.pix_fmt) == (320, 192, "h264", "yuv420p")
    assert stream.fps == 25 and stream.nb_frames == 20
    assert len(frames) == 20
    assert [f.frame_type for f in frames] == ["I"] + ["P"] * 19
    for i, f in enumerate(frames):
        assert f.y.shape == (192, 320) and f.u.shape == f.v.shape == (96, 160)
        assert f.y.dtype == np.uint8 and not f.y.flags.writeable
        assert f.decode_index == f.output_index == f.packet_index == i
        assert f.codec_info is not None and f.codec_info.decode_index == i
        assert f.pts == f.dts or f.dts is not None
    pts = [f.pts for f in frames]
    assert pts == sorted(pts) and len(set(pts)) == 20
    assert frames[1].time == pytest.approx(1 / 25)
    # low delay: each P frame references the previous frame only
    for f in frames[1:]:
        ci = f.codec_info
        assert list(ci.refs(0)) == [f.decode_index - 1] and ci.nb_refs[1] == 0
        ids = f.ref_id_field(0)
        assert set(np.unique(ids)) <= {-1, f.decode_index - 1}


def test_decode_order_on_b_frames(clips):
    path = clips.get("random_access")
    _, display = read_all(path)
    types = "".join(f.frame_type for f in display)
    assert "B" in types
    assert [f.output_index for f in display] == list(range(len(display)))
    assert [f.pts for f in display] == sorted(f.pts for f in display)
    assert [f.decode_index for f in display] != sorted(f.decode_index for f in display)

    with cvsr.open(path) as r:
        decoded = list(r.in_decode_order())
        assert r.reorder_depth >= 1
    assert [f.decode_index for f in decoded] == list(range(len(display)))
    assert sorted(f.pts for f in decoded) == [f.pts for f in display]
    dts = [f.dts for f in decoded]
    assert dts == sorted(dts) and len(set(dts)) == len(dts)
    for f in decoded:
        ci = f.codec_info
        for lst in (0, 1):
            refs = ci.refs(lst)
            assert all(0 <= d < f.decode_index for d in refs), (f, lst, refs)
            ids = ci.ref_ids(lst)
            assert set(np.unique(ids)) <= set(refs.tolist()) | {-1}
        if f.frame_type == "B":
            assert ci.nb_refs[1] > 0


def test_in_decode_order_without_codec_info(clips):
    """Without the export, decode order comes from the packet order (packet_index)."""
    with cvsr.open(clips.get("random_access"), export=False) as r:
        decoded = list(r.in_decode_order())
    assert all(f.codec_info is None for f in decoded)
    assert [f.decode_index for f in decoded] == list(range(len(decoded)))
    assert [f.dts for f in decoded] == sorted(f.dts for f in decoded)


@pytest.mark.parametrize("recipe", ["random_access", "odd_size"])
def test_dense_fields_equal_repeated_grids(clips, recipe):
    _, frames = read_all(clips.get(recipe))
    for f in frames:
        ci = f.codec_info
        bs, mb = ci.block_size, ci.mb_size
        rep = lambda a, n: np.repeat(np.repeat(a, n, axis=0), n, axis=1)[: f.height, : f.width]  # noqa: E731
        for lst in (0, 1):
            field = f.mv_field(lst)
            assert field.shape == (f.height, f.width, 2) and field.dtype == np.float32
            np.testing.assert_array_equal(field, rep(ci.mv(lst), bs) / 4.0)
            np.testing.assert_array_equal(f.mv_mask(lst), rep(ci.ref_idx(lst) >= 0, bs))
            np.testing.assert_array_equal(f.ref_id_field(lst), rep(ci.ref_ids(lst), bs))
            assert not np.isnan(field).any()
            assert (field[~f.mv_mask(lst)] == 0).all()
        np.testing.assert_array_equal(ci.block_type_field(), rep(ci.block_type, bs))
        np.testing.assert_array_equal(f.qp_field(), rep(ci.mb_qp, mb))


def test_block_semantics(clips):
    _, frames = read_all(clips.get("random_access"))
    saw = set()
    for f in frames:
        ci = f.codec_info
        bt = ci.block_type
        saw |= set(np.unique(bt).tolist())
        intra = bt == codec.BLOCK_INTRA
        for lst in (0, 1):
            assert (ci.ref_idx(lst)[intra] == -1).all()
            assert (ci.mv(lst)[intra] == 0).all()
        inter = bt != codec.BLOCK_INTRA
        assert ((ci.ref_idx(0) >= 0) | (ci.ref_idx(1) >= 0))[inter].all()
        # skipped blocks carry no residual
        res = ci.residual(0)
        skip = np.repeat(np.repeat(bt == codec.BLOCK_SKIP, 4, 0), 4, 1)
        assert (res[skip] == 0).all()
        assert res.shape == (ci.coded_height, ci.coded_width) and res.dtype == np.int16
        if f.frame_type == "I":
            assert intra.all()
    assert {codec.BLOCK_INTRA, codec.BLOCK_INTER, codec.BLOCK_SKIP} <= saw


def test_odd_size_crops_views_not_grids(clips):
    stream, frames = read_all(clips.get("odd_size"))
    assert (stream.width, stream.height) == (322, 182)
    for f in frames:
        ci = f.codec_info
        assert f.y.shape == (182, 322) and f.u.shape == (91, 161)
        assert (ci.coded_width, ci.coded_height) == (336, 192)
        assert ci.block_type.shape == (48, 84) and ci.mb_qp.shape == (12, 21)
        assert f.mv_field(0).shape == (182, 322, 2)
        assert f.residual(0).shape == (182, 322) and f.residual(1).shape == (91, 161)
        assert f.qp_map.shape == (12, 21)


def test_views_outlive_reader_and_next_frames(clips):
    path = clips.get("low_delay")
    with cvsr.open(path) as r:
        first = next(r)
        y0, expected = first.y, first.y.copy()
        res0 = first.codec_info.residual(0)
        res_expected = res0.copy()
        del first
        rest = list(r)
    del rest
    gc.collect()
    np.testing.assert_array_equal(y0, expected)
    np.testing.assert_array_equal(res0, res_expected)


def test_copy_is_private_and_writable(clips):
    with cvsr.open(clips.get("low_delay")) as r:
        f = next(r)
        c = f.copy()
    assert c.y.flags.writeable and c.y.base is None or c.y.base is not f.y.base
    c.y[:] = 0
    assert f.y.any()
    assert c.codec_info.decode_index == f.codec_info.decode_index
    np.testing.assert_array_equal(c.mv_field(0), f.mv_field(0))


def test_parse_side_data_bytes(clips):
    with cvsr.open(clips.get("random_access")) as r:
        frames = list(r)
    for f in frames[:6]:
        raw = bytes(f.codec_info.buffer())
        info = codec.parse_codec_info(raw, f.width, f.height)
        assert info.decode_index == f.codec_info.decode_index
        for lst in (0, 1):
            np.testing.assert_array_equal(info.mv(lst), f.codec_info.mv(lst))
        np.testing.assert_array_equal(info.residual(0), f.codec_info.residual(0))
        info2 = codec.parse_codec_info(memoryview(raw))
        assert (info2.width, info2.height) == (f.width, f.height)


def test_parse_rejects_bad_buffers(clips):
    with cvsr.open(clips.get("low_delay")) as r:
        raw = bytearray(next(r).codec_info.buffer())
    dtype = codec.CODEC_INFO_DTYPE
    with pytest.raises(ValueError, match="smaller"):
        codec.parse_codec_info(bytes(raw[:100]))
    with pytest.raises(ValueError, match="buffer has"):
        codec.parse_codec_info(bytes(raw[: len(raw) - 64]))

    def patched(field, value):
        b = bytearray(raw)
        hdr = np.frombuffer(b, dtype, count=1)
        hdr[field] = value
        return bytes(b)

    with pytest.raises(ValueError, match="version"):
        codec.parse_codec_info(patched("version", 99))
    with pytest.raises(ValueError, match="outside"):
        codec.parse_codec_info(patched("mb_type_offset", len(raw) - 8))
    with pytest.raises(ValueError, match="geometry"):
        codec.parse_codec_info(patched("blocks_w", 3))


def test_rgb_output(clips):
    path = clips.get("low_delay")
    _, yuv = read_all(path)
    _, rgb = read_all(path, rgb=True)
    assert rgb[0].rgb.shape == (192, 320, 3)
    with pytest.raises(AttributeError):
        rgb[0].y
    # BT.601 limited-range luma of the RGB output tracks the Y plane
    r, g, b = (rgb[3].rgb[..., i].astype(np.float64) for i in range(3))
    luma = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    assert np.abs(luma - yuv[3].y).mean() < 2.0
    assert rgb[3].codec_info is not None


@pytest.mark.parametrize("threads,thread_type", [(1, "auto"), (2, "frame"), (2, "slice")])
def test_thread_options_decode_same_pixels(clips, threads, thread_type):
    path = clips.get("random_access")
    _, ref = read_all(path, threads=1)
    _, got = read_all(path, threads=threads, thread_type=thread_type)
    assert len(got) == len(ref)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a.y, b.y)
        assert a.decode_index == b.decode_index


def test_export_off_and_upstream_mvs(clips):
    path = clips.get("random_access")
    _, on = read_all(path)
    _, off = read_all(path, export=False, export_mvs=True)
    assert all(f.codec_info is None and f.mv_field(0) is None for f in off)
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a.y, b.y)
    p = next(f for f in off if f.frame_type == "P")
    mvs = p.motion_vectors
    assert mvs is not None and mvs.dtype == codec.MOTION_VECTOR_DTYPE and len(mvs) > 0
    assert (mvs["motion_scale"] == 4).all()


def test_raw_annexb_stream(clips):
    stream, frames = read_all(clips.get("annexb"))
    assert len(frames) == 12 and all(f.codec_info is not None for f in frames)
    assert frames[0].pts is None   # raw H.264 carries no timestamps (documented)
    assert sorted(f.decode_index for f in frames) == list(range(12))


def test_hevc_has_codec_info(clips):
    """HEVC (B-pyramid, 3 references): every frame carries codec info, decode order and references as for H.264."""
    path = clips.get("hevc")
    stream, frames = read_all(path)
    assert stream.codec_name == "hevc" and len(frames) == 10
    assert all(f.codec_info is not None for f in frames)
    assert frames[0].frame_type == "I" and {f.frame_type for f in frames} >= {"P", "B"}
    info = frames[0].codec_info
    assert (info.mb_size, info.ref_block_size, info.block_size) == (8, 4, 4)
    assert (info.coded_width, info.coded_height) == (320, 192)
    decoded = {f.decode_index for f in frames}
    assert decoded == set(range(10))
    for f in frames:
        i = f.codec_info
        assert i.decode_index == f.decode_index and i.frame_type == f.frame_type
        for lst in (0, 1):
            # every reference is an earlier picture of the clip
            assert all(0 <= d < i.decode_index for d in i.refs(lst))
    with cvsr.open(path) as r:
        assert [f.decode_index for f in r.in_decode_order()] == list(range(10))


def test_hevc_residual_as_transform_blocks(clips):
    """HEVC stores its residual as the coded transform blocks: 4x4 to 32x32, aligned, inside their plane, not
    overlapping, samples back to back in block order; the dense plane is their scatter, zero elsewhere."""
    with cvsr.open(clips.get("hevc"), threads=1) as r:
        frames = list(r)
    sizes = set()
    for f in frames:
        info = f.codec_info
        assert info.residual_blocks_offset == 0 and info.residual_block_size == 0
        assert info.residual_mask is None and info.residual_blocks() is None
        tbs, samples = info.residual_tbs(), info.residual_samples()
        assert tbs.dtype == codec.TRANSFORM_BLOCK_DTYPE and len(tbs) == info.nb_residual_tbs
        size = 1 << tbs["log2_size"].astype(np.int64)
        sizes |= set(size.tolist())
        assert (tbs["reserved"] == 0).all()
        np.testing.assert_array_equal(tbs["offset"], np.concatenate([[0], np.cumsum(size * size)[:-1]]))
        assert samples.size == int((size * size).sum())
        for p in range(3):
            covered = np.zeros((info.residual_height[p], info.residual_width[p]), np.int32)
            expect = np.zeros(covered.shape, np.int16)
            for tb, n in zip(tbs[tbs["plane"] == p], size[tbs["plane"] == p]):
                x, y, o = int(tb["x"]), int(tb["y"]), int(tb["offset"])
                assert x % n == 0 and y % n == 0
                covered[y:y + n, x:x + n] += 1
                expect[y:y + n, x:x + n] = samples[o:o + n * n].reshape(n, n)
            assert covered.max() <= 1
            np.testing.assert_array_equal(info.residual(p), expect)
        # the per-macroblock flags cover exactly the blocks stored
        luma = info.residual(0).reshape(info.mbs_h, 8, info.mbs_w, 8).any(axis=(1, 3))
        assert not (luma & (info.mb_residual & 1 == 0)).any()
    assert sizes >= {4, 8, 16}


def test_parse_rejects_bad_transform_blocks(clips):
    with cvsr.open(clips.get("hevc"), threads=1) as r:
        info = next(r).codec_info
        raw = bytearray(info.buffer())
        offset, n = info.residual_tb_offset, info.nb_residual_tbs
    assert n > 0

    def patched(field, value, index=0):
        b = bytearray(raw)
        np.frombuffer(b, codec.TRANSFORM_BLOCK_DTYPE, count=n, offset=offset)[index][field] = value
        return codec.parse_codec_info(bytes(b))

    for field, value in [("x", 65532), ("log2_size", 6), ("plane", 3), ("offset", 1 << 30)]:
        with pytest.raises(ValueError, match="transform block 0"):
            patched(field, value).residual(0)
    hdr = np.frombuffer(raw, codec.CODEC_INFO_DTYPE, count=1)
    hdr["residual_blocks_offset"] = hdr["residual_tb_offset"]
    with pytest.raises(ValueError, match="both"):
        codec.parse_codec_info(bytes(raw))


def test_hevc_ten_bit_decodes_without_codec_info(clips):
    """The export is 8-bit only: a 10-bit HEVC stream decodes normally, its frames without codec info."""
    with cvsr.open(clips.get("hevc_ten_bit"), rgb=True) as r:
        frames = list(r)
    assert len(frames) == 6 and all(f.codec_info is None for f in frames)


def test_coexists_with_pyav(clips):
    """PyAV's bundled FFmpeg 8 and libcvsr's hidden FFmpeg 7.1 in one process."""
    av = pytest.importorskip("av")
    path = clips.get("low_delay")
    with av.open(str(path)) as container:
        theirs = [f.to_ndarray(format="yuv420p")[: f.height] for f in container.decode(video=0)]
    _, ours = read_all(path)
    assert len(theirs) == len(ours)
    for a, b in zip(theirs, ours):
        np.testing.assert_array_equal(a, b.y)


def test_native_pix_fmt_keeps_chroma_resolution(clips):
    path = clips.get("yuv422p")
    with cvsr.open(path, pix_fmt="native") as r:
        assert r.stream.pix_fmt == r.stream.out_pix_fmt == "yuv422p"
        native = list(r)
    _, converted = read_all(path)
    for a, b in zip(native, converted):
        assert a.y.shape == (182, 322) and a.u.shape == a.v.shape == (182, 161)
        assert b.u.shape == (91, 161)
        np.testing.assert_array_equal(a.y, b.y)
        assert a.codec_info is not None
    with pytest.raises(ValueError, match="pix_fmt"):
        cvsr.open(path, pix_fmt="nv12")
    with pytest.raises(ValueError, match="conflicts"):
        cvsr.open(path, rgb=True, pix_fmt="native")


def test_parser_survives_mutated_side_data(clips):
    """A fuzz of the Python side-data parser and of what the host reads from it: real exported buffers (B-frames,
    slices, intra and inter) with random bytes overwritten (header fields, offsets, array contents), truncated
    or extended. Every outcome is a parsed view that the host can use (alignment, residual mask) or a
    ValueError; never another exception, a crash or a read outside the buffer."""
    from cvsr.host.align import PrevFrame, align_to_previous

    seeds = []
    for recipe in ("random_access", "slices", "low_delay"):
        with cvsr.open(clips.get(recipe)) as r:
            seeds += [(bytes(f.codec_info.buffer()), f.width, f.height) for f in list(r)[:4]]
    header = codec.CODEC_INFO_DTYPE.itemsize
    rng = np.random.default_rng(20261201)
    outcomes = {"parsed": 0, "rejected": 0}
    for i in range(1500):
        raw, w, h = seeds[i % len(seeds)]
        b = bytearray(raw)
        for _ in range(int(rng.integers(1, 9))):
            pos = int(rng.integers(0, header)) if rng.random() < 0.7 else int(rng.integers(0, len(b)))
            b[pos] = int(rng.integers(0, 256))
        if rng.random() < 0.1:
            b = b[: int(rng.integers(0, len(b)))]
        elif rng.random() < 0.1:
            b += bytes(int(rng.integers(1, 256)))
        try:
            info = codec.parse_codec_info(bytes(b), w, h)
            a = align_to_previous(info, PrevFrame(int(info.decode_index) - 1, int(info.poc) - 1), w, h)
            assert a.flow.shape == (h, w, 2) and a.residual_mask.shape == (h, w)
            for lst in (0, 1):
                info.mv(lst), info.ref_idx(lst)
            info.residual(0), info.block_type, info.frame_type
            outcomes["parsed"] += 1
        except ValueError:
            outcomes["rejected"] += 1
    assert outcomes["parsed"] > 100 and outcomes["rejected"] > 100, outcomes


def test_host_keeps_going_on_mutated_side_data(clips, tiny_model):
    """The filter's host fed mutated side data with real frames: one output per input, a warning, no exception."""
    from cvsr.host import Host

    with cvsr.open(clips.get("random_access")) as r:
        frames = [(f.copy(), bytes(f.codec_info.buffer())) for f in list(r)[:6]]
    rng = np.random.default_rng(7)
    logged = []
    host = Host(model=tiny_model, device="cpu", backend="torch", log=lambda level, msg: logged.append(msg))
    out = 0
    for i in range(120):
        f, raw = frames[i % len(frames)]
        b = bytearray(raw)
        for _ in range(int(rng.integers(1, 6))):
            b[int(rng.integers(0, min(len(b), 512)))] = int(rng.integers(0, 256))
        host.send((f.y, f.u, f.v), None, f.width, f.height, i, bytes(b))
        while host.receive() is not None:
            out += 1
    host.flush()
    while host.receive() is not None:
        out += 1
    assert out == 120
    assert any("unusable codec info" in m for m in logged)


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_unaligned_left_crop_is_exact(clips, tmp_path, codec):
    """A stream cropping 2 columns on the left (the *_metadata bitstream filter rewrites the SPS): the frame
    is cropped exactly as the stream says (not rounded down to keep the planes aligned), so that the codec
    info's crop offsets place it in the coded picture."""
    from _clips import ffmpeg_path

    src = clips.make(f"crop_src.{codec}", codec="libx264" if codec == "h264" else "libx265", size="96x64",
                     frames=4, bframes=0)
    cropped = tmp_path / f"cropped.{codec}"
    subprocess.run([ffmpeg_path(), "-v", "error", "-y", "-i", str(src), "-c", "copy", "-bsf:v",
                    f"{codec}_metadata=crop_left=2:crop_top=2", str(cropped)], check=True, timeout=60)
    with cvsr.open(src) as r:
        full = [f.y.copy() for f in r]
    with cvsr.open(cropped) as r:
        frames = list(r)
    assert len(frames) == len(full) == 4
    for f, y in zip(frames, full):
        info = f.codec_info
        assert (info.crop_left, info.crop_top) == (2, 2)
        assert f.y.shape == (62, 94)
        assert np.array_equal(f.y, y[2:, 2:])
