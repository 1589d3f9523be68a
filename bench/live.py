"""Live latency and sustained fps of `-vf cvsr` behind a real nginx-rtmp (examples/nginx-rtmp.conf).

    .venv/bin/python bench/live.py                          # ciaf-lite, 320x180 in, 10 s of stream per run
    .venv/bin/python bench/live.py --model ciaf --seconds 5 --rates 25

Method (tests/server/nginx_rtmp.py does the plumbing): nginx with the shipped config on a free loopback port;
a 320x180 H.264 clip (cityCC0.mpg, looped, or testsrc2; libx264 zerolatency, a key frame per second) is
published by Python in real time, FLV tag by tag, through `ffmpeg -c copy` to rtmp://.../live/NAME; nginx's
exec_push runs the project's ffmpeg with -vf cvsr (1280x720 out, libx264 zerolatency) into upscaled/NAME; a
player (`ffmpeg -c copy -f flv pipe:`) hands each upscaled frame to Python as it arrives.  Every ffmpeg runs
with -copyts, so input and output frames are matched by timestamp, and both times are taken in this process
on one monotonic clock:

    latency(frame) = arrival of the upscaled frame at the player - hand-over of the frame to the publisher

It covers publisher -> nginx -> upscaler (decode, cvsr, x264 at 720p, mux) -> nginx -> player.  The measured
part of the stream starts once the upscaler and the player are subscribed (a 1 s lead-in before it is not
counted); its first frame is sent alone and the rest follow in real time once it has come out upscaled, so
`first` is the upscaler's start-up (probing, Python, model load, compile for the frame size) and the start-up
leaves no backlog; `steady` is the median (and p90) over the second half of the frames.

Runs, each bounded (its stream, then at most --drain seconds for the backlog):
  1. cvsr at --rates[0] (25 fps): the output rate is the sustained fps (the upscaler's capacity when it is
     below the input rate; the latency then grows by (rate/fps - 1) s per s of stream).
  2. cvsr at a rate it sustains (--rates[1]; `auto` = 80% of run 1's fps, at most the input rate).
  3. the same path with bicubic instead of cvsr (-vf scale=iw*4:ih*4, same x264 work at 720p), at run 2's
     rate: cvsr's added latency = run 2 - run 3.
A one-off ffmpeg run on the clip first converts/compiles the model, as a long-running server would have done.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "server"))

import nginx_rtmp  # noqa: E402
from cvsr.ffmpeg import find_ffmpeg  # noqa: E402


def make_clip(ffmpeg: str, out: Path, source: str, size: str, rate: int, frames: int) -> Path:
    w, h = size.split("x")
    if source == "testsrc2":
        src = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    else:
        src = ["-stream_loop", "-1", "-i", source]
    subprocess.run([ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *src, "-an",
                    "-vf", f"scale={w}:{h},fps={rate}", "-frames:v", str(frames),
                    "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-crf", "23",
                    "-g", str(rate), "-pix_fmt", "yuv420p", out], check=True, timeout=300)
    return out


def measure(ffmpeg: str, clip: Path, work: Path, label: str, vf: str, rate: int, drain: float) -> dict:
    """One stream through nginx; per-frame latency (ms) and the output rate."""
    run_dir = work / f"{label.split()[0]}-{rate}fps"
    server = nginx_rtmp.Server(run_dir / "nginx", ffmpeg, cvsr=vf)
    load0 = os.getloadavg()[0]
    with server:
        r = nginx_rtmp.stream(server, clip, "bench", lead_in_frames=rate, out_dir=run_dir,
                              drain_timeout=drain)
    measured = set(r.measured)
    recv = [t for t in r.received if t.ts in r.sent and t.ts in measured]
    if len(recv) < 2:
        raise RuntimeError(f"{label}: {len(recv)} frames came out\n{server.logs()}")
    lat = [1000 * (t.arrival - r.sent[t.ts]) for t in recv]
    half = lat[len(lat) // 2:]
    span = recv[-1].arrival - recv[0].arrival
    return dict(label=label, rate=rate, sent=len(r.measured), received=len(recv),
                first=lat[0], steady=statistics.median(half), p90=sorted(half)[int(0.9 * (len(half) - 1))],
                last=lat[-1], fps=(len(recv) - 1) / span if span > 0 else float("nan"),
                load=(load0 + os.getloadavg()[0]) / 2)


def show(m: dict) -> None:
    f = 1000 / m["rate"]
    print(f"  {m['label']:<26} in {m['rate']:>2} fps: out {m['fps']:5.1f} fps, {m['received']}/{m['sent']} frames; "
          f"latency first {m['first']:6.0f} ms, steady {m['steady']:6.0f} ms ({m['steady'] / f:4.1f} frames), "
          f"p90 {m['p90']:6.0f} ms, last {m['last']:6.0f} ms  [load {m['load']:.1f}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="ciaf-lite")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", default="320x180", help="input WxH (output is 4x)")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured stream length per run")
    ap.add_argument("--rates", default="25,auto", help="input fps of the cvsr runs: first, then one it sustains")
    ap.add_argument("--drain", type=float, default=40.0, help="at most this long for the backlog after a stream")
    ap.add_argument("--no-baseline", action="store_true", help="skip the bicubic run")
    ap.add_argument("--source", default=None, help="video to loop (default: cityCC0.mpg, else testsrc2)")
    ap.add_argument("--keep", type=Path, default=None, help="keep logs and streams here")
    args = ap.parse_args()

    why = nginx_rtmp.missing()
    if why:
        sys.exit(f"live bench: {why}")
    ffmpeg = find_ffmpeg()
    if not nginx_rtmp.has_rtmp_protocol(ffmpeg):
        sys.exit(f"live bench: {ffmpeg} has no rtmp protocol (rebuild with setup.sh)")
    source = args.source
    if source is None:
        from cvsr.demo import default_source
        source = default_source()
    rates = args.rates.split(",")
    first_rate = int(rates[0])
    cvsr = f"cvsr=model={args.model}:threads={args.threads}"

    with tempfile.TemporaryDirectory(prefix="cvsr-live-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        frames = int(round((args.seconds + 1) * first_rate))
        clip = make_clip(ffmpeg, work / "clip.flv", source, args.size, first_rate, frames)
        # convert / compile the model once, as a running server would have
        subprocess.run([ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", clip, "-frames:v", "3",
                        "-vf", cvsr, "-f", "null", "-"], check=True, timeout=300)
        print(f"live: {args.model}, {args.size} -> x4, {Path(source).name}, {args.seconds:g} s per run, "
              f"nginx-rtmp on loopback, {os.cpu_count()} CPUs")
        m1 = measure(ffmpeg, clip, work, f"cvsr {args.model}", cvsr, first_rate, args.drain)
        show(m1)
        results = [m1]
        if len(rates) > 1:
            rate = (min(first_rate, max(1, int(0.8 * m1["fps"]))) if rates[1] == "auto" else int(rates[1]))
            slow = make_clip(ffmpeg, work / f"clip{rate}.flv", source, args.size, rate,
                             int(round((args.seconds + 1) * rate))) if rate != first_rate else clip
            m2 = measure(ffmpeg, slow, work, f"cvsr {args.model}", cvsr, rate, args.drain)
            show(m2)
            results.append(m2)
            if not args.no_baseline:
                m3 = measure(ffmpeg, slow, work, "bicubic (scale=iw*4:ih*4)", "scale=iw*4:ih*4:flags=bicubic",
                             rate, args.drain)
                show(m3)
                added = m2["steady"] - m3["steady"]
                print(f"  cvsr adds {added:.0f} ms ({added * rate / 1000:.1f} frames at {rate} fps) to the "
                      f"steady latency of the same path with bicubic")
        if first_rate > m1["fps"] * 1.02:
            grow = first_rate / m1["fps"] - 1
            print(f"  at {first_rate} fps in, the upscaler runs at {m1['fps']:.1f} fps: the latency grows by "
                  f"{grow:.2f} s per s of stream (a live stream needs input <= {m1['fps']:.0f} fps here)")


if __name__ == "__main__":
    main()
