"""A real nginx-rtmp with the cvsr upscaler (examples/nginx-rtmp.conf) on loopback, driven from Python.

Used by tests/server/test_rtmp.py and bench/live.py.  Everything is real: Debian's nginx with
libnginx-mod-rtmp, the project's ffmpeg as the exec'd upscaler, publisher and player.

The publisher is paced by Python: a pre-encoded FLV clip is fed tag by tag, at its own timestamps, into
``ffmpeg -f flv -i pipe:0 -c copy -f flv rtmp://.../live/NAME``, and the player's output
(``ffmpeg -i rtmp://.../upscaled/NAME -c copy -f flv pipe:1``) is parsed tag by tag as it arrives.  So
each video frame has a send time and an arrival time on the same clock, matched by timestamp (every
ffmpeg here runs with ``-copyts``), and Python decides when the stream starts and ends:

- A stream starts with a *lead-in* (the clip's first GOP).  exec_push starts the upscaler when the
  publisher starts, so the upscaler cannot see the first frames; nginx (``wait_key on``) starts it at a
  key frame.  Python sends the lead-in, then waits (bounded) until nginx has logged the upscaler's play
  on ``live/NAME`` and the player's on ``upscaled/NAME``, and only then sends the measured part, which
  begins with a key frame: every one of its frames must come out.  Its first frame is sent alone and
  the rest only once that one has come out upscaled: the upscaler's start-up (seconds: Python, the model)
  then leaves no backlog, and the later frames show the steady-state latency.
- The publisher is stopped only after the measured frames have come out (or a timeout): nginx
  signals the upscaler when its input stops, and ffmpeg drops what it has not read yet.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "examples" / "nginx-rtmp.conf"
RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
NGINX = "/usr/sbin/nginx"
DEFAULT_CVSR = "cvsr=model=ciaf-lite:threads=2"


def missing() -> str | None:
    """Why the nginx-rtmp tests cannot run (nginx or its rtmp module not installed), else None."""
    if not (os.path.isfile(NGINX) and os.access(NGINX, os.X_OK)):
        return f"nginx is not installed ({NGINX}; apt-get install nginx libnginx-mod-rtmp, as setup.sh does)"
    if not RTMP_MODULE.is_file():
        return f"libnginx-mod-rtmp is not installed ({RTMP_MODULE}; apt-get install libnginx-mod-rtmp)"
    return None


def has_rtmp_protocol(ffmpeg: str) -> bool:
    r = subprocess.run([ffmpeg, "-hide_banner", "-protocols"], capture_output=True, timeout=30, check=True)
    outputs = r.stdout.decode().split("Output:")[-1].split()
    return "rtmp" in outputs


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(template: str, **values: str) -> str:
    """Replace the template's @KEY@ placeholders; every placeholder must be given."""
    for key, value in values.items():
        template = template.replace(f"@{key}@", str(value))
    left = sorted(set(re.findall(r"@[A-Z_]+@", template)))
    if left:
        raise ValueError(f"placeholders without a value: {', '.join(left)}")
    return template


# -- FLV ------------------------------------------------------------------------------------------------------

FLV_HEADER_SIZE = 9 + 4  # file header + PreviousTagSize0


@dataclass
class Tag:
    """One FLV tag: type 8 audio, 9 video, 18 script data; ``raw`` is the whole tag with its trailing size."""
    type: int
    ts: int                 # milliseconds (DTS; cvsr streams have no B-frames, so also the PTS)
    raw: bytes
    arrival: float = 0.0    # time.monotonic() when it was read

    @property
    def is_video_frame(self) -> bool:
        """A coded picture: an AVC NALU packet, not the sequence header or the end-of-sequence tag."""
        return self.type == 9 and len(self.raw) > 12 and (self.raw[11] & 0x0F) == 7 and self.raw[12] == 1

    @property
    def is_key(self) -> bool:
        return self.type == 9 and (self.raw[11] >> 4) == 1


def _read_exact(stream, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_tags(stream, header: list | None = None):
    """Yield the tags of an FLV byte stream as they arrive (``stream``: a binary file object); the file
    header goes into ``header`` when given."""
    head = _read_exact(stream, FLV_HEADER_SIZE)
    if head is None or head[:3] != b"FLV":
        return
    if header is not None:
        header.append(head)
    while True:
        th = _read_exact(stream, 11)
        if th is None:
            return
        size = int.from_bytes(th[1:4], "big")
        ts = int.from_bytes(th[4:7], "big") | (th[7] << 24)
        rest = _read_exact(stream, size + 4)
        if rest is None:
            return
        yield Tag(th[0] & 0x1F, ts, th + rest, time.monotonic())


def flv_file_tags(path: Path) -> tuple[bytes, list[Tag]]:
    with open(path, "rb") as f:
        head = f.read(FLV_HEADER_SIZE)
        f.seek(0)
        return head, list(read_tags(f))


# -- processes ------------------------------------------------------------------------------------------------

def _stop(proc: subprocess.Popen | None, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; always reaps."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class Server:
    """nginx with examples/nginx-rtmp.conf rendered into ``run_dir``, one foreground process
    (``daemon off; master_process off;``) in its own process group with the upscalers it starts.

    ``stop()`` (also on leaving the ``with`` block) ends nginx, gives its upscalers ``grace`` seconds to
    finish, then kills whatever is left of the group."""

    def __init__(self, run_dir: Path, ffmpeg: str, *, port: int | None = None, cvsr: str = DEFAULT_CVSR,
                 env: dict | None = None):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.ffmpeg = ffmpeg
        self.port = port or free_port()
        self.conf = self.run_dir / "nginx.conf"
        self.conf.write_text(render(TEMPLATE.read_text(), FFMPEG=ffmpeg, PORT=self.port,
                                    RTMP_MODULE=RTMP_MODULE, RUN_DIR=self.run_dir, CVSR=cvsr))
        self.error_log = self.run_dir / "nginx-error.log"
        self.upscale_log = self.run_dir / "cvsr-upscale.log"
        self.env = env
        self.proc: subprocess.Popen | None = None

    def url(self, app: str, name: str) -> str:
        return f"rtmp://127.0.0.1:{self.port}/{app}/{name}"

    def start(self, timeout: float = 10.0) -> "Server":
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.run_dir), "-c", str(self.conf), "-e", str(self.run_dir / "startup.log"),
             "-g", "daemon off; master_process off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True, env=self.env)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited {self.proc.returncode}: "
                                   f"{self._tail(self.run_dir / 'startup.log')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx does not accept connections on 127.0.0.1:{self.port}")
                time.sleep(0.05)

    def stop(self, grace: float = 5.0) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid   # its own session: the group of nginx and of the upscalers it forked
        _stop(self.proc, grace)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(pgid):
            time.sleep(0.1)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc = None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def plays(self) -> set[tuple[str, str]]:
        """(app, name) of every play nginx has logged so far (its info lines ``*N connect: app='..'`` and
        ``*N play: name='..'`` of the same connection)."""
        apps, plays = {}, set()
        try:
            text = self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return plays
        for m in re.finditer(r"\*(\d+) (connect: app|play: name)='([^']*)'", text):
            conn, what, value = m.groups()
            if what == "connect: app":
                apps[conn] = value
            elif conn in apps:
                plays.add((apps[conn], value))
        return plays

    def wait_plays(self, wanted: set[tuple[str, str]], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not wanted <= self.plays():
            if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                return False
            time.sleep(0.02)
        return True

    def logs(self) -> str:
        return (f"--- nginx error log (tail)\n{self._tail(self.error_log)}\n"
                f"--- upscaler log (tail)\n{self._tail(self.upscale_log)}")

    @staticmethod
    def _tail(path: Path, n: int = 4000) -> str:
        try:
            return path.read_text(errors="replace")[-n:]
        except FileNotFoundError:
            return "(none)"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


# Start on the first packet: no format probe (it waits for 2 KB), a minimal stream probe; not -fflags nobuffer,
# which drops the packets read while probing (the key frame).
LOW_DELAY_IN = ["-probesize", "32", "-analyzeduration", "0", "-copyts", "-f", "flv"]


class Publisher:
    """``ffmpeg -f flv -i pipe:0 -c copy -f flv URL``, fed tag by tag; ``sent[ts]`` = time of each video tag."""

    def __init__(self, ffmpeg: str, url: str, header: bytes, log: Path):
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(
            [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "warning", *LOW_DELAY_IN, "-i", "pipe:0",
             "-c", "copy", "-flush_packets", "1", "-f", "flv", url],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True)
        self.sent: dict[int, float] = {}
        self.proc.stdin.write(header)
        self.proc.stdin.flush()

    def send(self, tag: Tag) -> None:
        self.proc.stdin.write(tag.raw)
        self.proc.stdin.flush()
        if tag.is_video_frame:
            self.sent[tag.ts] = time.monotonic()

    def close(self, timeout: float = 10.0) -> int | None:
        """End of stream: close its input, wait for it to finish (killed after ``timeout``)."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop(self.proc, 2.0)
        self._log.close()
        return self.proc.returncode


class Player:
    """``ffmpeg -i URL -c copy -f flv pipe:1``; a thread parses the tags as they arrive and keeps them."""

    def __init__(self, ffmpeg: str, url: str, log: Path):
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(
            [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "warning", *LOW_DELAY_IN, "-i", url,
             "-c", "copy", "-flush_packets", "1", "-f", "flv", "pipe:1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, start_new_session=True)
        self._header: list[bytes] = []
        self.tags: list[Tag] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for tag in read_tags(self.proc.stdout, self._header):
            with self._cond:
                self.tags.append(tag)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def frames(self) -> list[Tag]:
        with self._cond:
            return [t for t in self.tags if t.is_video_frame]

    def wait_for(self, ts: int, timeout: float) -> bool:
        """Wait until the video frame with timestamp ``ts`` (or a later one) has arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(t.is_video_frame and t.ts >= ts for t in self.tags):
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.2))
            return True

    def close(self, timeout: float = 10.0) -> int | None:
        """Wait for it to end by itself (the upscaled stream was unpublished), killed after ``timeout``."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop(self.proc, 2.0)
        self._thread.join(5)
        self.proc.stdout.close()
        self._log.close()
        return self.proc.returncode

    def save(self, path: Path) -> Path:
        with self._cond:
            path.write_bytes(b"".join(self._header) + b"".join(t.raw for t in self.tags))
        return path


@dataclass
class StreamResult:
    lead_in: list[int]                  # timestamps of the lead-in frames (not measured)
    measured: list[int]                 # timestamps of the measured frames
    sent: dict[int, float]              # video ts -> send time
    received: list[Tag] = field(default_factory=list)   # video frames as they arrived
    start_wait: float = 0.0             # seconds the stream waited for the upscaler and player to subscribe
    publisher_rc: int | None = None
    player_rc: int | None = None


def stream(server: Server, clip: Path, name: str, *, lead_in_frames: int, out_dir: Path,
           subscribe_timeout: float = 20.0, drain_timeout: float = 30.0) -> StreamResult:
    """Publish ``clip`` (FLV whose frame ``lead_in_frames`` is a key frame) to live/NAME in real time,
    play upscaled/NAME meanwhile; see the module docstring.  Returns once both ffmpegs have ended."""
    header, tags = flv_file_tags(clip)
    video = [t for t in tags if t.is_video_frame]
    if not video[lead_in_frames].is_key:
        raise ValueError(f"frame {lead_in_frames} of {clip} is not a key frame")
    split = tags.index(video[lead_in_frames])
    lead, main = tags[:split], tags[split:]
    result = StreamResult([t.ts for t in lead if t.is_video_frame], [t.ts for t in main if t.is_video_frame],
                          {})
    publisher = Publisher(server.ffmpeg, server.url("live", name), header, out_dir / f"publisher-{name}.log")
    player = None
    try:
        _paced(publisher, lead)
        t = time.monotonic()
        if not server.wait_plays({("live", name)}, subscribe_timeout):
            raise RuntimeError(f"the upscaler did not subscribe to live/{name}\n{server.logs()}")
        player = Player(server.ffmpeg, server.url("upscaled", name), out_dir / f"player-{name}.log")
        if not server.wait_plays({("upscaled", name)}, subscribe_timeout):
            raise RuntimeError(f"the player did not subscribe to upscaled/{name}\n{server.logs()}")
        result.start_wait = time.monotonic() - t
        # Prime: the first measured frame alone, until it comes out upscaled (the upscaler's start-up:
        # probing, Python, model load, compiling for the frame size), then the rest in real time from
        # then on, so that the start-up leaves no backlog behind.  Its latency is the start-up's.
        first = next(i for i, tag in enumerate(main) if tag.is_video_frame) + 1
        _paced(publisher, main[:first])
        if not player.wait_for(result.measured[0], drain_timeout):
            raise RuntimeError(f"no upscaled frame within {drain_timeout} s\n{server.logs()}")
        _paced(publisher, main[first:])
        player.wait_for(result.measured[-1], drain_timeout)
    finally:
        result.sent = publisher.sent
        result.publisher_rc = publisher.close()
        if player is not None:
            result.player_rc = player.close()
            result.received = player.frames()
            player.save(out_dir / f"upscaled-{name}.flv")
    return result


def _paced(publisher: Publisher, tags: list[Tag]) -> None:
    """Send tags at their timestamps (real time), the first one now."""
    if not tags:
        return
    t0, ts0 = time.monotonic(), tags[0].ts
    for tag in tags:
        delay = t0 + (tag.ts - ts0) / 1000.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        publisher.send(tag)
