"""The codec-info export is identical single-threaded, with frame threads and with slice threads (H.264, HEVC).

Frame threading is where upstream's MV/QP export races (it reads per-picture
tables of a picture another thread may still be decoding); ours waits for the
picture's full decode progress.  The comparison is byte for byte over the whole
side data buffer, plus the pixels.
"""
from __future__ import annotations

import numpy as np
import pytest

import cvsr.codec as codec
import cvsr  # noqa: E402

CLIPS = {
    # B-pyramid and 3 refs: output is delayed, so frames are output by a thread
    # other than the one that decoded them
    "random_access": dict(bframes=3, refs=3, frames=60, x264_params="b-pyramid=normal"),
    # 4 slices per picture for slice threading
    "slices": dict(bframes=2, refs=2, frames=30, x264_params="slices=4"),
    # HEVC: x265 writes wavefront (WPP) entry points, which slice threading decodes row-parallel
    "hevc_random_access": dict(codec="libx265", bframes=4, refs=3, frames=60, x264_params="b-pyramid=1"),
    # 3 slices per picture (without wavefronts: libx265 cannot encode both, tests/_clips.py)
    "hevc_slices": dict(codec="libx265", bframes=2, refs=2, frames=30, x264_params="slices=3"),
}


def export(path, threads, thread_type):
    with cvsr.open(path, threads=threads, thread_type=thread_type) as r:
        return [(f.pts, f.decode_index, f.y.copy(), f.codec_info.buffer().copy()) for f in r]


@pytest.mark.parametrize("clip", sorted(CLIPS))
@pytest.mark.parametrize("threads,thread_type", [(4, "frame"), (4, "slice"), (3, "auto")])
def test_export_identical_across_threading(clips, clip, threads, thread_type):
    path = clips.make(f"threads_{clip}.mp4", **CLIPS[clip])
    ref = export(path, 1, "auto")
    got = export(path, threads, thread_type)
    assert len(got) == len(ref) == CLIPS[clip]["frames"]
    for (pts_a, di_a, y_a, ci_a), (pts_b, di_b, y_b, ci_b) in zip(ref, got):
        assert (pts_a, di_a) == (pts_b, di_b)
        np.testing.assert_array_equal(y_a, y_b)
        assert ci_a.size == ci_b.size
        if not np.array_equal(ci_a, ci_b):
            first = int(np.flatnonzero(ci_a != ci_b)[0])
            pytest.fail(f"frame pts={pts_a}: codec info differs from byte {first} on "
                        f"({threads} {thread_type} threads vs 1)")
