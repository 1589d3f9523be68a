"""The OpenVINO backend: agreement with torch, the host and filter options, caching, fallback."""
from __future__ import annotations

import numpy as np
import pytest
import torch

openvino = pytest.importorskip("openvino")

from cvsr.models import load_model  # noqa: E402
from cvsr.runtime import resolve_backend  # noqa: E402
from cvsr.runtime.openvino import OpenVINOStep  # noqa: E402


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CVSR_CACHE_DIR", str(tmp_path / "cache"))


def _frames(n, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 3, h + 8, w + 8, generator=g)
    for i in range(n):  # a drifting picture with quarter-pel-like motion
        dx, dy = i % 5, (i // 2) % 5
        yield base[:, :, dy:dy + h, dx:dx + w], (torch.randint(-8, 9, (1, h, w, 2), generator=g) / 4).float()


@pytest.mark.parametrize("name", ["ciaf-lite", "baseline-lite"])
def test_openvino_step_agrees_with_torch_over_a_clip(name):
    net = load_model(name, "cpu").eval()
    ov = OpenVINOStep(net, threads=1)
    st_t = st_o = None
    worst = 0.0
    for i, (lr, mv) in enumerate(_frames(24, 24, 40)):
        if i == 12:
            st_t = st_o = None  # a reset mid-clip (I-frame)
        with torch.no_grad():
            hr_t, st_t = net.step(lr, mv, None, st_t)
        hr_o, st_o = ov.step(lr, mv, st_o)
        assert hr_o.shape == hr_t.shape and st_o.feat.shape == st_t.feat.shape
        worst = max(worst, (hr_o - hr_t).abs().max().item())
    assert worst < 1e-4, worst


@pytest.mark.skipif(not __import__("cvsr.runtime.openvino", fromlist=["x"]).bf16_supported(),
                    reason="this CPU has no bf16 instructions")
def test_bf16_trunk_stays_close_to_fp32_over_a_clip():
    """bf16 convolutions, fp32 warps and output sum: the recurrent output stays within a fraction of an
    8-bit level on average (held-out quality cost: <= 0.003 dB, README)."""
    net = load_model("ciaf", "cpu").eval()
    ov = OpenVINOStep(net, threads=1, precision="bf16")
    st_t = st_o = None
    for lr, mv in _frames(16, 24, 40):
        with torch.no_grad():
            hr_t, st_t = net.step(lr, mv, None, st_t)
        hr_o, st_o = ov.step(lr, mv, st_o)
    err = (hr_o - hr_t).abs() * 255
    assert err.mean() < 0.3 and err.max() < 3, (err.mean(), err.max())


def test_int8_trunk_stays_close_to_fp32_over_a_clip():
    """int8 convolutions (NNCF, calibrated on the model's own synthetic sequence): the recurrent output stays
    within a fraction of an 8-bit level on average (held-out quality cost: README, Speed). The quantized IR
    is cached."""
    pytest.importorskip("nncf")
    from cvsr.runtime.openvino import cache_dir

    net = load_model("ciaf-lite", "cpu").eval()
    ov = OpenVINOStep(net, threads=1, precision="int8")
    # a picture rather than noise: smooth texture at two scales, panning
    g = torch.Generator().manual_seed(1)
    scene = sum(torch.nn.functional.interpolate(torch.rand(1, 3, 60 // c + 2, 80 // c + 2, generator=g),
                                                scale_factor=c, mode="bicubic")[:, :, :60, :80] / 2
                for c in (4, 16)).clamp(0, 1)
    mv = torch.tensor([-1.0, -0.5]).expand(1, 24, 40, 2).contiguous()
    frames = [(scene[:, :, 20 - i // 2:44 - i // 2, 30 - i:70 - i], mv) for i in range(16)]
    st_t = st_o = None
    errs = []
    for lr, mv in frames:
        with torch.no_grad():
            hr_t, st_t = net.step(lr, mv, None, st_t)
        hr_o, st_o = ov.step(lr, mv, st_o)
        errs.append(((hr_o - hr_t).abs() * 255).mean().item())
    err = (hr_o - hr_t).abs() * 255
    assert max(errs) < 0.6 and err.max() < 6, (errs, err.max())  # measured: 0.19-0.25, max 2.1
    assert len(list(cache_dir().glob("ciaf-trunk-*-int8*.xml"))) == 1


def test_int8_without_nncf_is_a_clear_error(monkeypatch):
    import sys

    from cvsr.host.runner import make_runner

    monkeypatch.setitem(sys.modules, "nncf", None)  # import nncf raises ImportError
    with pytest.raises(ValueError, match="precision=int8 needs NNCF.*pip install nncf"):
        make_runner("ciaf-lite", device="cpu", backend="openvino", precision="int8")
    with pytest.raises(ValueError, match="precision=int8 runs on the OpenVINO backend"):
        make_runner("ciaf-lite", device="cpu", backend="torch", precision="int8")


def test_precision_auto_and_bf16_resolution():
    from cvsr.host.runner import make_runner as load
    from cvsr.runtime.openvino import bf16_supported

    expect = "bf16" if bf16_supported() else "fp32"
    assert load("ciaf-lite", device="cpu").precision == expect
    assert load("ciaf-lite", device="cpu", backend="torch").precision == "fp32"
    with pytest.raises(ValueError, match="precision=bf16 runs on the OpenVINO backend"):
        load("ciaf-lite", device="cpu", backend="torch", precision="bf16")


def test_converted_models_are_cached_on_disk_and_per_size(tmp_path, monkeypatch):
    net = load_model("ciaf-lite", "cpu").eval()
    OpenVINOStep(net, threads=1, cache=tmp_path).prepare(16, 24)
    assert len(list(tmp_path.glob("ciaf-trunk-*.xml"))) == 1   # one IR for every size

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again although the IR is cached")

    monkeypatch.setattr(openvino, "convert_model", no_conversion)
    again = OpenVINOStep(net, threads=1, cache=tmp_path)
    again.prepare(16, 24)                 # read back from the cache, no tracing
    for size in ((20, 24), (24, 24), (16, 24)):
        again.prepare(*size)
    assert len(again._compiled) == 2      # bounded: the least recently used size was dropped


def test_backend_option_resolution():
    assert resolve_backend("auto", "cpu") == "openvino"
    assert resolve_backend("auto", "cuda") == "torch"
    assert resolve_backend("torch", "cpu") == "torch"
    with pytest.raises(ValueError, match="backend=openvino runs on the CPU"):
        resolve_backend("openvino", "cuda")
    with pytest.raises(ValueError, match="backend must be one of"):
        resolve_backend("tensorrt", "cpu")


def _decode(path):
    import av

    with av.open(str(path)) as c:
        return [(f.pts, f.to_ndarray(format="yuv420p")) for f in c.decode(video=0)]


def test_upscale_backends_give_the_same_frames(clips, tmp_path):
    """The whole host on a 100-frame H.264 clip with the shipped model: same frame count, pts and size, 8-bit
    output within 1 level."""
    from cvsr.host import upscale

    src = clips.make("hundred.mp4", size="96x64", frames=100, bframes=2, refs=2, gop=50)
    outs = {}
    for backend in ("torch", "openvino"):
        dst = tmp_path / f"{backend}.mkv"
        upscale(src, dst, model="ciaf-lite", device="cpu", backend=backend, precision="fp32", threads=1,
                progress=False, video_codec=("-c:v", "ffv1"))
        outs[backend] = _decode(dst)
    a, b = outs["torch"], outs["openvino"]
    assert len(a) == len(b) == 100
    assert [p for p, _ in a] == [p for p, _ in b]
    assert a[0][1].shape == b[0][1].shape == (64 * 4 * 3 // 2, 96 * 4)
    diff = max(int(np.abs(x.astype(int) - y.astype(int)).max()) for (_, x), (_, y) in zip(a, b))
    assert diff <= 1, diff


def test_conversion_failure_falls_back_to_torch_with_one_warning(clips, tiny_model, monkeypatch):
    from cvsr.host import Host
    from cvsr.runtime import openvino as ov_runtime

    def broken(self):
        raise ValueError("unsupported operation aten::example")

    monkeypatch.setattr(ov_runtime.OpenVINOStep, "_convert", broken)
    logged = []
    host = Host(model=tiny_model, device="cpu", backend="openvino",
                log=lambda level, msg: logged.append((level, msg)))
    assert host.model.backend == "openvino"
    y, u, v = (np.full((16, 24), 100, np.uint8), np.full((8, 12), 128, np.uint8), np.full((8, 12), 128, np.uint8))
    out = []
    for pts in range(3):
        host.send((y, u, v), None, 24, 16, pts)
        out.append(host.receive())
    assert [o[0] for o in out] == [0, 1, 2]
    warnings = [m for level, m in logged if "running on torch instead" in m]
    assert len(warnings) == 1 and "unsupported operation" in warnings[0]
    assert host.model.backend == "torch"
