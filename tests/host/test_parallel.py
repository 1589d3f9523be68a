"""GOP-parallel upscaling (cvsr.host.parallel): the same frames as the sequential run, audio once, clean failure."""
from __future__ import annotations

import subprocess

import pytest

pytest.importorskip("distributed")

from cvsr.ffmpeg import find_ffmpeg  # noqa: E402
from cvsr.host.parallel import closed_gop_starts, upscale_parallel  # noqa: E402


def _framemd5(path) -> list[str]:
    r = subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:v", "-f", "framemd5", "-"],
                       capture_output=True, text=True, timeout=120, check=True)
    return [line for line in r.stdout.splitlines() if not line.startswith("#")]


def _streams(path) -> list[str]:
    r = subprocess.run([find_ffmpeg("ffprobe"), "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                        str(path)], capture_output=True, text=True, timeout=60, check=True)
    return r.stdout.split()


def _audio_md5(path) -> str:
    r = subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "md5", "-"],
                       capture_output=True, text=True, timeout=60, check=True)
    return r.stdout.strip()


@pytest.fixture(scope="module")
def gop_clip(clips):
    """60 frames, an IDR every 12, B-frames, an AAC track."""
    return clips.make("gops.mp4", size="64x48", frames=60, rate=25, bframes=2, refs=2, gop=12, audio=True)


def test_closed_gops_are_found_from_packets(gop_clip):
    starts, n = closed_gop_starts(gop_clip)
    assert n == 60 and starts == [0, 12, 24, 36, 48]


def _sequential_and_parallel(src, tmp_path, **kwargs):
    import cvsr

    seq, par = tmp_path / "seq.mkv", tmp_path / "par.mkv"
    cvsr.upscale(src, seq, model="ciaf-lite", device="cpu", threads=1, progress=False, video_codec=("-c:v", "ffv1"))
    result = cvsr.upscale(src, par, workers=2, model="ciaf-lite", device="cpu", threads=1,
                          video_codec=("-c:v", "ffv1"), **kwargs)
    return result, _framemd5(seq), _framemd5(par), par


def test_parallel_equals_sequential(gop_clip, tmp_path):
    result, a, b, par = _sequential_and_parallel(gop_clip, tmp_path, min_frames=12)
    assert result.chunks >= 2 and result.frames == 60 and result.frames_aligned == 60
    assert len(a) == 60 and a == b          # pts, sizes and pixels, frame for frame
    assert _streams(par) == ["video", "audio"]
    assert _audio_md5(par) == _audio_md5(gop_clip)   # the source's audio packets, copied once, intact


def test_input_shorter_than_a_chunk_is_one_piece(gop_clip, tmp_path):
    """Fewer frames than min_frames: one piece, cut as the whole input (once a failure: the segment muxer
    rejected the duration meant as "no cut")."""
    result, a, b, _ = _sequential_and_parallel(gop_clip, tmp_path, min_frames=1000)
    assert result.chunks == 1 and result.frames == 60 and a == b


def test_open_gops_are_not_split_points(clips, tmp_path):
    """x264 open GOPs: I-frames with leading B-frames that reference the previous GOP are keyframes but no
    split points (a piece starting there would lose those B-frames); the output still equals the sequential."""
    src = clips.make("open_gop.mp4", size="64x48", frames=60, bframes=2, refs=2, gop=12,
                     x264_params="open-gop=1:b-pyramid=none")
    r = subprocess.run([find_ffmpeg("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "packet=flags", "-of", "csv=p=0", str(src)], capture_output=True, text=True, check=True)
    keyframes = [i for i, flags in enumerate(r.stdout.split()) if "K" in flags]
    starts, _ = closed_gop_starts(src)
    assert set(starts) < set(keyframes)     # some keyframes (the open I-frames) are left out
    result, a, b, _ = _sequential_and_parallel(src, tmp_path, min_frames=1)
    assert result.chunks == len(starts) and len(a) == 60 and a == b


def test_failed_tasks_leave_no_output(gop_clip, tmp_path):
    dst = tmp_path / "out.mkv"
    with pytest.raises(ValueError, match="unknown model"):
        upscale_parallel(gop_clip, dst, workers=2, model="nosuchmodel", retries=1, min_frames=12,
                         video_codec=("-c:v", "ffv1"))
    assert not dst.exists() and list(tmp_path.iterdir()) == []


def test_a_dead_worker_is_retried(gop_clip, tmp_path):
    """A worker killed while it upscales a piece: the scheduler gives the piece to another worker (the nanny
    restarts the dead one) and the output is still the sequential run's, frame for frame."""
    import os
    import signal
    import threading
    import time

    from distributed import Client, LocalCluster

    seq = tmp_path / "seq.mkv"
    import cvsr

    cvsr.upscale(gop_clip, seq, model="ciaf-lite", device="cpu", threads=1, progress=False,
                 video_codec=("-c:v", "ffv1"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      scheduler_kwargs={"dashboard": False}, silence_logs=50) as cluster, Client(cluster) as client:
        killed = []

        def kill_one_busy_worker():
            deadline = time.time() + 60
            while time.time() < deadline and not killed:
                busy = [w for w, tasks in client.processing().items() if tasks]
                if busy:
                    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                    time.sleep(0.5)  # inside the task: the model is loading or running
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.05)

        killer = threading.Thread(target=kill_one_busy_worker)
        killer.start()
        par = tmp_path / "par.mkv"
        result = cvsr.upscale(gop_clip, par, workers=2, cluster=cluster.scheduler_address, model="ciaf-lite",
                              device="cpu", threads=1, video_codec=("-c:v", "ffv1"), min_frames=12)
        killer.join()
    assert killed, "no worker was busy to be killed"
    assert result.frames == 60 and _framemd5(par) == _framemd5(seq)
