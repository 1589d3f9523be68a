"""Unit tests of the filter host: decode-order scheduling, colour conversion, MV alignment, Host behaviour."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cvsr.codec.info import BLOCK_INTER, BLOCK_INTRA, CODEC_INFO_DTYPE, CODEC_INFO_VERSION, parse_codec_info
from cvsr.host.align import PrevFrame, align_to_previous
from cvsr.host.color import rgb_to_yuv420, yuv420_to_rgb
from cvsr.codec.decode_order import DecodeOrderScheduler

# -- scheduler ----------------------------------------------------------------------------------------------


def test_scheduler_low_delay_adds_no_latency():
    s = DecodeOrderScheduler()
    for i in range(5):
        assert s.push(f"f{i}", i) == [f"f{i}"]
    assert s.flush() == []


def test_scheduler_ipbb_runs_in_decode_order():
    # display order I0 B1 B2 P3 | B4 P5, decode order I0 P3 B1 B2 P5 B4
    s = DecodeOrderScheduler()
    arrivals = [("I0", 0), ("B1", 2), ("B2", 3), ("P3", 1), ("B4", 5), ("P5", 4)]
    ran = [s.push(name, d) for name, d in arrivals]
    assert ran == [["I0"], [], [], ["P3", "B1", "B2"], [], ["P5", "B4"]]
    assert len(s) == 0


def test_scheduler_flush_and_gap():
    s = DecodeOrderScheduler(max_reorder=3)
    assert s.push("a", 0) == ["a"]
    # decode index 1 never arrives (dropped by the decoder): after 3 waiting frames the gap is skipped
    assert s.push("c", 2) == [] and s.push("d", 3) == [] and s.push("e", 4) == []
    assert s.push("f", 5) == ["c", "d", "e", "f"]
    assert s.push("h", 7) == []
    assert s.flush() == ["h"]


def test_scheduler_restarted_count():
    s = DecodeOrderScheduler()
    assert s.push("a", 0) == ["a"]
    assert s.push("c", 2) == []
    # the decoder was flushed and counts from 0 again: the old frame goes first
    assert s.push("x", 0) == ["c", "x"]


# -- colour ---------------------------------------------------------------------------------------------


def test_color_matches_training_conversion():
    from cvsr.color import yuv420_to_rgb as yuv420_to_rgb_np

    rng = np.random.default_rng(0)
    y = rng.integers(16, 236, (16, 24), dtype=np.uint8)
    u, v = (rng.integers(16, 241, (8, 12), dtype=np.uint8) for _ in range(2))
    ref = yuv420_to_rgb_np(y, u, v).astype(np.float64) / 255
    ours = yuv420_to_rgb(torch.from_numpy(y), torch.from_numpy(u), torch.from_numpy(v), torch.float64)
    assert np.abs(ours[0].permute(1, 2, 0).numpy() - ref).max() <= 0.5 / 255 + 1e-9


@pytest.mark.parametrize("h, w", [(16, 24), (15, 23)])
def test_color_round_trip(h, w):
    rng = np.random.default_rng(1)
    y = torch.from_numpy(rng.integers(16, 236, (h, w), dtype=np.uint8))
    u = torch.full(((h + 1) // 2, (w + 1) // 2), 128, dtype=torch.uint8)
    v = u.clone()
    y2, u2, v2 = rgb_to_yuv420(yuv420_to_rgb(y, u, v))
    assert y2.shape == (h, w) and u2.shape == u.shape
    assert (y2.int() - y.int()).abs().max() <= 1 and (u2.int() - 128).abs().max() <= 1


# -- alignment ------------------------------------------------------------------------------------------


def make_info(*, decode_index, poc, pict_type=2, refs=((), ()), mv=None, ref_idx=None, block_type=None,
              residual=None, coded=(32, 16), crop=(0, 0)) -> bytes:
    """A synthetic AVCodecInfo buffer (8x4 blocks of 4x4 for 32x16).

    ``block_type`` and ``ref_idx`` are given per 4x4 block and stored as the layout does, per
    macroblock and per 8x8 block (their top-left 4x4 block); lists without refs are absent.
    """
    cw, ch = coded
    bw, bh = cw // 4, ch // 4
    header = np.zeros(1, CODEC_INFO_DTYPE)
    h = header[0]
    arrays = []
    offset = -(-CODEC_INFO_DTYPE.itemsize // 64) * 64

    def place(arr):
        nonlocal offset
        raw = np.ascontiguousarray(arr).tobytes()
        at = offset
        arrays.append((at, raw))
        offset = -(-(offset + len(raw)) // 64) * 64
        return at

    h["version"], h["decode_index"], h["poc"], h["pict_type"] = CODEC_INFO_VERSION, decode_index, poc, pict_type
    h["coded_width"], h["coded_height"], h["crop_left"], h["crop_top"] = cw, ch, *crop
    h["bit_depth"], h["block_size"], h["blocks_w"], h["blocks_h"] = 8, 4, bw, bh
    h["ref_block_size"] = 8
    h["mb_size"], h["mbs_w"], h["mbs_h"] = 16, cw // 16, ch // 16
    for L in (0, 1):
        h["nb_refs"][L] = len(refs[L])
        for i, (d, p) in enumerate(refs[L]):
            h["ref_decode_index"][L][i], h["ref_poc"][L][i] = d, p
    bt = np.full((bh, bw), BLOCK_INTER, np.uint8) if block_type is None else block_type
    h["mb_type_offset"] = place(bt[::4, ::4])
    for L in (0, 1):
        if not refs[L]:
            continue
        m = np.zeros((bh, bw, 2), np.int16) if mv is None or mv[L] is None else mv[L]
        r = np.full((bh, bw), -1, np.int8) if ref_idx is None or ref_idx[L] is None else ref_idx[L]
        # ref_idx per macroblock: its 8x8 blocks [row][column]
        r8 = r[::2, ::2].reshape(ch // 16, 2, cw // 16, 2).transpose(0, 2, 1, 3)
        h["mv_offset"][L], h["ref_idx_offset"][L] = place(m), place(r8)
    res = np.zeros((ch, cw), np.int16) if residual is None else residual
    # luma residual as the non-zero 4x4 blocks, per macroblock in z-order (H.264 luma4x4BlkIdx)
    blocks = np.ascontiguousarray(res.reshape(ch // 16, 4, 4, cw // 16, 4, 4).transpose(0, 3, 1, 4, 2, 5))
    zx, zy = [0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3], [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]
    blocks = blocks.reshape(-1, 4, 4, 4, 4)[:, zy, zx]
    present = blocks.any(axis=(2, 3))
    mask = (present * (1 << np.arange(16))).sum(axis=1).astype(np.uint32)
    counts = present.sum(axis=1)
    index = np.where(counts > 0, np.cumsum(counts) - counts, -1).astype(np.int32)
    h["residual_width"][0], h["residual_height"][0], h["residual_block_size"] = cw, ch, 4
    h["residual_mask_offset"] = place(mask)
    h["residual_index_offset"] = place(index)
    h["nb_residual_blocks"] = int(present.sum())
    h["residual_blocks_offset"] = place(blocks[present]) if present.any() else place(np.zeros(16, np.int16))
    h["size"] = offset
    buf = bytearray(offset)
    buf[:CODEC_INFO_DTYPE.itemsize] = header.tobytes()
    for at, raw in arrays:
        buf[at:at + len(raw)] = raw
    return bytes(buf)


def test_align_direct_reference_and_poc_scaling():
    bh, bw = 4, 8
    mv0 = np.zeros((bh, bw, 2), np.int16)
    mv0[..., 0] = 8            # +2 px in quarter samples
    idx0 = np.zeros((bh, bw), np.int8)
    idx0[:, 6:] = 1            # right quarter refers to list entry 1
    bt = np.full((bh, bw), BLOCK_INTER, np.uint8)
    bt[:, :4] = BLOCK_INTRA    # left macroblock intra
    residual = np.zeros((16, 32), np.int16)
    residual[2, 3] = 5
    # current: decode 5, POC 10; list 0 = [decode 4 POC 8 (the previous decoded frame), decode 2 POC 4]
    info = parse_codec_info(make_info(decode_index=5, poc=10, refs=([(4, 8), (2, 4)], []),
                                      mv=(mv0, None), ref_idx=(idx0, None), block_type=bt, residual=residual),
                            32, 16)
    a = align_to_previous(info, PrevFrame(decode_index=4, poc=8), 32, 16)
    assert a.flow.shape == (16, 32, 2) and a.flow.dtype == np.float32
    assert a.flow[5, 18, 0] == 2.0                      # direct reference: the MV as is, in pixels
    assert a.flow[5, 26, 0] == pytest.approx(2.0 * (10 - 8) / (10 - 4))   # other reference: POC-scaled
    assert (a.flow[:, :16] == 0).all()                  # intra macroblock: zero motion
    assert a.residual_mask.sum() == 1 and a.residual_mask[2, 3]


def test_align_list1_direct_hit_and_crop():
    bh, bw = 4, 8
    mv1 = np.zeros((bh, bw, 2), np.int16)
    mv1[..., 1] = -4
    idx = np.zeros((bh, bw), np.int8)
    # a B-frame whose list 1 entry is the previous decoded frame (the future P-frame)
    info = parse_codec_info(make_info(decode_index=2, poc=2, pict_type=3, refs=([(0, 0)], [(1, 6)]),
                                      mv=(np.full((bh, bw, 2), 4, np.int16), mv1), ref_idx=(idx, idx),
                                      crop=(4, 0)), 28, 16)
    a = align_to_previous(info, PrevFrame(decode_index=1, poc=6), 28, 16)
    assert a.flow.shape == (16, 28, 2)
    assert (a.flow[..., 1] == -1.0).all() and (a.flow[..., 0] == 0).all()


def test_align_without_previous_frame_is_zero():
    info = parse_codec_info(make_info(decode_index=0, poc=0, pict_type=1), 32, 16)
    a = align_to_previous(info, None, 32, 16)
    assert not a.flow.any() and not a.residual_mask.any()


# -- Host -----------------------------------------------------------------------------------------------


def frame(w, h, value=100):
    return (np.full((h, w), value, np.uint8), np.full(((h + 1) // 2, (w + 1) // 2), 128, np.uint8),
            np.full(((h + 1) // 2, (w + 1) // 2), 128, np.uint8))


@pytest.mark.parametrize("options, message", [
    ({"model": "nosuch"}, "unknown model 'nosuch'"),
    ({"device": "gpu"}, "device must be one of"),
    ({"sparse": "maybe"}, "sparse must be one of"),
    ({"precision": "fp8"}, "precision must be one of"),
    ({"device": "cpu", "precision": "fp16"}, "needs a CUDA device"),
    ({"threads": -2}, "threads must be >= 0"),
])
def test_host_bad_options(tiny_model, options, message):
    from cvsr.host import Host

    with pytest.raises(ValueError, match=message):
        Host(**{"model": tiny_model, **options})


def test_host_registered_model_without_weights(monkeypatch, tmp_path):
    from cvsr import models
    from cvsr.host import Host

    monkeypatch.setattr("cvsr.models.registry.WEIGHTS_DIR", tmp_path)
    with pytest.raises(ValueError, match="no packaged weights"):
        Host(model="ciaf-lite")
    assert models.MODELS  # the registry itself is untouched


def test_host_one_output_per_input_and_resolution_change(tiny_model):
    from cvsr.host import Host

    logged = []
    host = Host(model=tiny_model, log=lambda level, msg: logged.append((level, msg)))
    pts_out = []
    for i, (w, h) in enumerate([(16, 8)] * 3 + [(10, 6)] * 2):
        host.send(frame(w, h, 50 + i), None, w, h, 1000 + i)
        out = host.receive()
        assert out is not None and host.receive() is None      # no codec info: no reordering, no latency
        pts, y, u, v = out
        pts_out.append(pts)
        assert y.shape == (4 * h, 4 * w) and u.shape == (2 * h, 2 * w) and y.dtype == np.uint8
    host.flush()
    assert host.receive() is None
    assert pts_out == [1000, 1001, 1002, 1003, 1004]
    assert sum("no codec info" in m for _, m in logged) == 1      # warned once


def test_host_linesize_larger_than_width(tiny_model):
    from cvsr.host import Host

    host = Host(model=tiny_model)
    y, u, v = frame(12, 8)
    padded = [np.pad(p, ((0, 0), (0, 20)), constant_values=255) for p in (y, u, v)]
    host.send([memoryview(p.tobytes()) for p in padded], [p.shape[1] for p in padded], 12, 8, 0)
    ref = Host(model=tiny_model)
    ref.send((y, u, v), None, 12, 8, 0)
    a, b = host.receive(), ref.receive()
    assert all(np.array_equal(x, z) for x, z in zip(a[1:], b[1:]))


@pytest.mark.parametrize("h, w", [(16, 24), (15, 23)])
def test_color_numpy_equals_torch(h, w):
    from cvsr.host.color import rgb_to_yuv420_np, yuv420_to_rgb_np

    rng = np.random.default_rng(2)
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    u, v = (rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2), dtype=np.uint8) for _ in range(2))
    ours = yuv420_to_rgb_np(y, u, v)
    ref = yuv420_to_rgb(*(torch.from_numpy(p) for p in (y, u, v))).numpy()
    assert ours.shape == (1, 3, h, w) and np.abs(ours - ref).max() < 1e-5
    rgb = rng.random((1, 3, 4 * h, 4 * w), dtype=np.float32) * 1.2 - 0.1
    for a, b in zip(rgb_to_yuv420_np(rgb), rgb_to_yuv420(torch.from_numpy(rgb))):
        assert a.shape == b.shape and np.abs(a.astype(int) - b.numpy()).max() <= 1


def test_host_i_frame_resets_the_state(tiny_model):
    from cvsr.host import Host

    idx = np.zeros((4, 8), np.int8)
    infos = [make_info(decode_index=0, poc=0, pict_type=1),
             make_info(decode_index=1, poc=2, refs=([(0, 0)], []), ref_idx=(idx, None)),
             make_info(decode_index=2, poc=4, pict_type=1)]
    frames = [frame(32, 16, 60), frame(32, 16, 90), frame(32, 16, 120)]
    host = Host(model=tiny_model)
    outs = []
    for i, (f, info) in enumerate(zip(frames, infos)):
        host.send(f, None, 32, 16, i, info)
        outs.append(host.receive())
    fresh = Host(model=tiny_model)
    fresh.send(frames[2], None, 32, 16, 2, infos[2])
    again = fresh.receive()
    assert host.frames_aligned == 3
    assert all(np.array_equal(a, b) for a, b in zip(outs[2][1:], again[1:]))     # reset on the I-frame
    fresh.send(frames[1], None, 32, 16, 1, infos[1])                              # P-frame without state
    assert not np.array_equal(fresh.receive()[1], outs[1][1])                     # the P-frame used the state


def test_upscale_bad_input_leaves_no_output(tiny_model, tmp_path):
    from cvsr import upscale

    dst = tmp_path / "out.mp4"
    with pytest.raises(FileNotFoundError):
        upscale(tmp_path / "missing.mp4", dst, model=tiny_model, progress=False)
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n")
    with pytest.raises(ValueError):
        upscale(text, dst, model=tiny_model, progress=False)
    assert not dst.exists()


def test_sparse_auto_is_dense_on_the_cpu_and_reads_the_checkpoint(tmp_path):
    """sparse=auto: dense on the CPU (sparse is not faster there); elsewhere the checkpoint's metadata decides."""
    from cvsr.host.runner import make_runner, trained_sparse
    from cvsr.models import CIAFConfig, build_model, save_checkpoint

    net = build_model(CIAFConfig(channels=8, num_blocks=1, mask_channels=4))
    for trained in (None, False, True):
        path = tmp_path / f"m{trained}.safetensors"
        extra = None if trained is None else {"options": f'{{"sparse": {str(trained).lower()}, "steps": 10}}'}
        save_checkpoint(net, path, name="ciaf", extra=extra)
        assert trained_sparse(path) is trained
        assert make_runner(str(path), device="cpu").sparse is False
        assert make_runner(str(path), device="cpu", sparse="off").sparse is False
        assert make_runner(str(path), device="cpu", sparse="on").sparse is True
