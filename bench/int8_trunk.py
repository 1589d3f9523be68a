"""Weighing int8 for the CPU backend (issue 11): post-training quantization of the convolution trunk with
OpenVINO's own tool (NNCF, not a project dependency: ``.venv/bin/pip install nncf==3.4.0``), calibrated on
trunk inputs from training clips (CRF 23), against the shipped bf16 path, in one run.

    .venv/bin/python bench/int8_trunk.py MODEL [speed] [step] [quality]

speed: trunk latency at 320x180 for f32, bf16 and int8 (2 threads); step: a whole dense step, torch vs
OpenVINO bf16 vs int8; quality: Y-PSNR on the held-out shards (build/data), bf16 vs int8.  Prints, asserts
nothing.  Measured figures: README (backends) and docs/models.md.
"""
import sys, time, numpy as np, torch, openvino as ov, nncf
from pathlib import Path
from cvsr.models import load_model
from cvsr.runtime.openvino import OpenVINOStep
from cvsr.data.shards import load_shard
from cvsr.eval.metrics import psnr_y
from cvsr.eval.run import _to_uint8

name = sys.argv[1] if len(sys.argv) > 1 else "ciaf-lite"
torch.set_num_threads(2)
net = load_model(name, torch.device("cpu")).float().eval()
ovs = OpenVINOStep(net, threads=2, precision="f32", cache=False)
model = ovs._convert()
cin = net.head.in_channels

# calibration: trunk inputs from training clips, CRF 23
calib = []
def capture(x):
    calib.append(x.detach().numpy().copy())
    return net.trunk(x)
for p in sorted(Path('build/data/shards/train').glob('*.npz'))[:6]:
    c = load_shard(p, (23,)).coded[23]
    state = None
    with torch.no_grad():
        for i in range(min(8, len(c.lr))):
            x = torch.from_numpy(c.lr[i]).permute(2, 0, 1)[None].float() / 255
            flow = torch.from_numpy(c.mv[i].astype(np.float32) / 4)[None]
            hr, state = net.step(x, flow, None, state, trunk=capture)
print("calibration inputs", len(calib), calib[0].shape)
t0 = time.time()
q = nncf.quantize(model, nncf.Dataset(calib), subset_size=len(calib), preset=nncf.QuantizationPreset.MIXED)
print(f"quantized in {time.time() - t0:.0f} s")
core = ov.Core()

def compiled(m, prec, h, w):
    m = m.clone(); m.reshape([1, cin, h, w])
    cfg = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": 2}
    if prec: cfg["INFERENCE_PRECISION_HINT"] = prec
    return core.compile_model(m, "CPU", cfg).create_infer_request()

def bench(req, h, w, n=8):
    x = np.random.rand(1, cin, h, w).astype(np.float32)
    req.infer([x])
    ts = []
    for _ in range(n):
        t = time.perf_counter(); req.infer([x]); ts.append(time.perf_counter() - t)
    return np.median(ts) * 1000

if "speed" in sys.argv:
    h, w = 180, 320
    for label, m, prec in (("f32", model, "f32"), ("bf16", model, "bf16"), ("int8", q, "bf16"), ("int8 f32", q, "f32")):
        print(f"{label:9s} trunk {bench(compiled(m, prec, h, w), h, w):7.1f} ms at {w}x{h}")

# quality on held-out clips: bf16 vs int8 trunk (dense step)
def run(clip, m, prec):
    reqs = {}
    def trunk(x):
        hw = tuple(x.shape[2:])
        if hw not in reqs: reqs[hw] = compiled(m, prec, *hw)
        out = reqs[hw].infer([x.float().contiguous().numpy()])
        return torch.from_numpy(np.asarray(out[0])), torch.from_numpy(np.asarray(out[1]))
    state, outs = None, []
    with torch.no_grad():
        for i in range(len(clip.lr)):
            x = torch.from_numpy(clip.lr[i]).permute(2, 0, 1)[None].float() / 255
            flow = torch.from_numpy(clip.mv[i].astype(np.float32) / 4)[None]
            hr, state = net.step(x, flow, None, state, trunk=trunk)
            outs.append(_to_uint8(hr)[0])
    return np.stack(outs)
if "quality" in sys.argv:
    for p in sorted(Path('build/data/shards/eval').glob('*.npz')):
        sh = load_shard(p, (18, 23, 28))
        for crf in (18, 23, 28):
            c = sh.coded[crf]; hr = sh.hr
            r = {}
            for label, m, prec in (("bf16", model, "bf16"), ("int8", q, "bf16")):
                sr = run(c, m, prec)
                r[label] = np.mean([psnr_y(a, b) for a, b in zip(sr, hr)])
            print(f"{p.stem} crf{crf}: bf16 {r['bf16']:.3f} int8 {r['int8']:.3f} diff {r['int8'] - r['bf16']:+.3f}", flush=True)
if "step" in sys.argv:
    h, w = 180, 320
    lr = torch.rand(1, 3, h, w); flow = torch.zeros(1, h, w, 2)
    def steptime(trunk):
        state = None
        with torch.no_grad():
            _, state = net.step(lr, flow, None, state, trunk=trunk)
            ts = []
            for _ in range(8):
                t = time.perf_counter(); _, state = net.step(lr, flow, None, state, trunk=trunk); ts.append(time.perf_counter() - t)
        return np.median(ts) * 1000
    def ovtrunk(m, prec):
        req = compiled(m, prec, h, w)
        def trunk(x):
            out = req.infer([x.float().contiguous().numpy()])
            return torch.from_numpy(np.asarray(out[0])), torch.from_numpy(np.asarray(out[1]))
        return trunk
    t_torch = steptime(None)
    t_bf16 = steptime(ovtrunk(model, "bf16"))
    t_int8 = steptime(ovtrunk(q, "bf16"))
    print(f"{name} step at {w}x{h}: torch {t_torch:.0f} ms, OpenVINO bf16 {t_bf16:.0f} ms (x{t_torch / t_bf16:.2f}), int8 {t_int8:.0f} ms (x{t_torch / t_int8:.2f})")
