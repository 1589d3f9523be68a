import numpy as np
import pytest

from cvsr.color import rgb_to_y
from cvsr.data.degradation import degrade
from cvsr.data.encode import encode


def _panning_clip(t=6, h=64, w=96, shift=2):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (h // 16, (w + t * shift * 4) // 16 + 1, 3)).astype(np.uint8)
    big = np.repeat(np.repeat(base, 16, 0), 16, 1)
    hr = np.stack([big[:, 4 * shift * i: 4 * shift * i + w] for i in range(t)])
    return degrade(np.ascontiguousarray(hr))


def test_low_delay_encode_then_codec_info_decode(tmp_path):
    import cvsr._native  # noqa: F401  (built by setup.sh; a failure here is a broken build)
    from cvsr.data.decode import decode_codec_info

    lr = _panning_clip()
    path = encode(lr, tmp_path / "clip.mkv", crf=23)
    coded = decode_codec_info(path)
    t, h, w, _ = lr.shape
    assert bytes(coded.frame_type) == b"I" + b"P" * (t - 1)
    assert coded.lr.shape == lr.shape and coded.mv.shape == (t, h, w, 2) and coded.mv.dtype == np.int16
    assert coded.residual_mask.shape == (t, h, w) and coded.residual_mask.dtype == bool
    assert np.all(coded.mv[0] == 0)
    # The content pans left by 2 LR pixels per frame: frame i at x is frame i-1 at x + 2.
    interior = coded.mv[1:, 4:-4, 4:-12]
    assert np.median(interior[..., 0]) == 8 and np.median(interior[..., 1]) == 0
    # Luma survives CRF 23 (RGB errors are larger: 4:2:0 halves chroma of a 16x16 LR colour checkerboard).
    assert np.mean(np.abs(rgb_to_y(coded.lr) - rgb_to_y(lr))) < 4
    assert np.all(coded.qp > 0)
