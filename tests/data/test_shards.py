import numpy as np

from cvsr.data.shards import CodedClip, Shard, load_shard, save_shard


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    t, h, w = 4, 8, 12
    hr = rng.integers(0, 256, (t, 4 * h, 4 * w, 3)).astype(np.uint8)
    coded = {crf: CodedClip(lr=rng.integers(0, 256, (t, h, w, 3)).astype(np.uint8),
                            mv=rng.integers(-64, 64, (t, h, w, 2)).astype(np.int16),
                            residual_mask=rng.random((t, h, w)) < 0.3,
                            frame_type=np.frombuffer(b"IPPP", np.uint8).copy(),
                            qp=np.array([20, 22, 23, 24], np.int16)) for crf in (18, 28)}
    save_shard(tmp_path / "clip.npz", Shard(hr=hr, coded=coded, meta={"name": "clip", "codec_info": True}))
    back = load_shard(tmp_path / "clip.npz")
    assert back.meta["crfs"] == [18, 28] and back.meta["codec_info"] is True
    assert np.array_equal(back.hr, hr)
    for crf, c in coded.items():
        b = back.coded[crf]
        for field in ("lr", "mv", "residual_mask", "frame_type", "qp"):
            got, want = getattr(b, field), getattr(c, field)
            assert got.dtype == want.dtype and np.array_equal(got, want), field
    assert list(load_shard(tmp_path / "clip.npz", crfs=(28,)).coded) == [28]
