"""Our motion vectors agree with upstream FFmpeg's AV_FRAME_DATA_MOTION_VECTORS.

PyAV's bundled FFmpeg (8.x) is an independent decoder build.  Upstream exports
one vector per partition (16x16, 16x8, 8x16 or 8x8) and list, taken from the
partition's top-left 4x4 block, with ``source`` -1 for list 0 and 1 for list 1,
``dst`` the partition centre and ``motion`` in 1/motion_scale samples.
Upstream decides per macroblock whether a list is used: in B_8x8 macroblocks
it also reports (0, 0) vectors for 8x8 blocks that do not use the list, where
we report ref_idx -1 (the reconstruction test shows ours is what the decoder
does); those must be zero.
"""
from __future__ import annotations

import numpy as np
import pytest

import cvsr.codec as codec
import av
import cvsr  # noqa: E402

CLIPS = {
    "low_delay": dict(bframes=0, refs=1),
    "random_access": dict(bframes=3, refs=3, x264_params="b-pyramid=normal"),
    "pan": dict(size="480x288", bframes=2, refs=2,
                extra=("-vf", "crop=360:216:x='n*3':y='n*2',scale=320:192")),
}


def upstream_mvs(path):
    """{pts: MOTION_VECTORS record array} from PyAV, single-threaded (upstream races with frame threads)."""
    out = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        stream.codec_context.options = {"flags2": "+export_mvs"}
        for frame in container.decode(stream):
            sd = frame.side_data.get("MOTION_VECTORS")
            out[frame.pts] = sd.to_ndarray() if sd is not None else None
    return out


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_mvs_match_upstream(clips, clip):
    path = clips.make(f"mvs_{clip}.mp4", **CLIPS[clip])
    theirs = upstream_mvs(path)
    with cvsr.open(path, threads=1) as r:
        ours = list(r)
    assert sorted(theirs) == sorted(f.pts for f in ours)

    compared = 0
    for f in ours:
        mvs = theirs[f.pts]
        info = f.codec_info
        if mvs is None or len(mvs) == 0:
            assert f.frame_type == "I"
            continue
        assert (mvs["motion_scale"] == 4).all()
        lst = (mvs["source"] > 0).astype(np.int64)
        x0 = (mvs["dst_x"].astype(np.int64) - mvs["w"] // 2)
        y0 = (mvs["dst_y"].astype(np.int64) - mvs["h"] // 2)
        assert ((x0 % 8 == 0) & (y0 % 8 == 0)).all()
        covered = [np.zeros((info.blocks_h // 2, info.blocks_w // 2), bool) for _ in range(2)]
        for L in (0, 1):
            sel = lst == L
            if not sel.any():
                continue
            mv = info.mv(L)
            ref = info.ref_idx(L)
            bx, by = x0[sel] // 4, y0[sel] // 4
            used = ref[by, bx] >= 0
            motion = np.stack([mvs["motion_x"][sel], mvs["motion_y"][sel]], axis=-1)
            assert (motion[~used] == 0).all(), f"{f}: non-zero upstream list {L} vectors where we have none"
            np.testing.assert_array_equal(mv[by, bx][used], motion[used], err_msg=f"{f} list {L}")
            compared += int(used.sum())
            for x, y, w, h in zip(x0[sel], y0[sel], mvs["w"][sel], mvs["h"][sel]):
                covered[L][y // 8:(y + h) // 8, x // 8:(x + w) // 8] = True
        # and upstream reports every 8x8 block that uses a list
        for L in (0, 1):
            uses = info.ref_idx(L)[::2, ::2] >= 0
            assert (covered[L][uses]).all(), f"{f}: list {L} blocks upstream does not report"
    assert compared > 1000
