"""Peak memory of `synthdepth curate` against the recording's length (curation streams: it should not grow).

    python bench/curate_memory.py                                   # 1, 10 and 60 minutes, 640x360 per eye
    python bench/curate_memory.py --minutes 1 10 --repeats 3        # the outside check's pair
    python bench/curate_memory.py --size 320x180 --minutes 1 60     # a cheaper 60-minute figure

Measured as a user runs it: each curation is a fresh `synthdepth curate MANIFEST --out DIR
--bootstrap CKPT` process (the console script, `flows.cli:main`: the Prefect flow with its
ephemeral server, the per-recording task, publish and report) under `/usr/bin/time -v`; its peak
RSS is time's "Maximum resident set size" (the curate process; the Prefect server runs in its own,
smaller process). The bench also samples the curate process's RSS every second and prints its
maximum in each tenth of the run, so growth during the analysis shows apart from the fixed cost
of loading torch and the models.

The recordings are side by side (depth left, picture right, `--size` per eye), 30 fps (--fps)
H.264, made from the real Resident Evil 2 frames (bench/sbs_recordings.py): one minute is encoded,
the longer ones repeat its packets (no re-encode), so they are cheap to make and identical in
content per minute. They are cached under --cache.

The bootstrap: --bootstrap CKPT, or a random-init BootstrapNet of the default architecture (same
memory and compute as a trained one) run with `scoring.bootstrap_trust=always` (an untrusted
model is not run at all, which would measure less work). --no-bootstrap curates without one.
CLIP is left at the default config, as a user runs it (ViT-B-32 `openai`: loaded where its
weights are in the local cache, else reported unavailable and not run).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def curate_command(manifest: Path, out: Path, bootstrap: Path | None, overrides: list[str]) -> list[str]:
    """The user's command line: the `synthdepth` console script beside this Python, else the module."""
    script = Path(sys.executable).with_name("synthdepth")
    cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "flows.cli"]
    cmd += ["curate", str(manifest), "--out", str(out)]
    if bootstrap is not None:
        cmd += ["--bootstrap", str(bootstrap)]
    for o in overrides:
        cmd += ["--set", o]
    return cmd


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


class RssSampler(threading.Thread):
    """RSS of the measured process (the child of /usr/bin/time) once a second."""

    def __init__(self, time_pid: int, every: float = 1.0):
        super().__init__(daemon=True)
        self.time_pid, self.every = time_pid, every
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        t0 = time.perf_counter()
        while not self._halt.is_set():
            kids = _children(self.time_pid)
            if kids:
                self.samples.append((time.perf_counter() - t0, _rss_mb(kids[0])))
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def by_tenth(self) -> list[float]:
        if not self.samples:
            return []
        end = self.samples[-1][0] or 1.0
        out = [0.0] * 10
        for t, r in self.samples:
            k = min(9, int(10 * t / end))
            out[k] = max(out[k], r)
        return out


def measure(manifest: Path, bootstrap: Path | None, overrides: list[str], timeout: float, work: Path) -> dict:
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["/usr/bin/time", "-v", *curate_command(manifest, out, bootstrap, overrides)]
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    sampler = RssSampler(p.pid)
    sampler.start()
    try:
        stdout, stderr = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for k in _children(p.pid):
            os.kill(k, 15)
        p.kill()
        p.communicate()
        sampler.stop()
        raise RuntimeError(f"curation of {manifest} ran past {timeout:.0f} s") from None
    sampler.stop()
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"curation of {manifest} failed ({p.returncode}):\n{stdout[-2000:]}\n{stderr[-3000:]}")
    field = lambda name: re.search(rf"{re.escape(name)}: ([\d.:]+)", stderr).group(1)  # noqa: E731
    summary = next((ln.strip() for ln in stderr.splitlines() if re.match(r"\d+ recordings: \d+ curated", ln)), "")
    shutil.rmtree(out, ignore_errors=True)
    return {"peak_mb": int(field("Maximum resident set size (kbytes)")) / 1024, "wall_s": wall,
            "cpu_s": float(field("User time (seconds)")) + float(field("System time (seconds)")),
            "tenths": sampler.by_tenth(), "summary": summary, "cmd": cmd}


def parse_size(s: str) -> tuple[int, int]:
    w, h = s.lower().split("x")
    return int(w), int(h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, nargs="+", default=[1, 10, 60])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--size", type=parse_size, default=(640, 360), help="per eye, WxH (default 640x360)")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--bootstrap", type=Path)
    ap.add_argument("--no-bootstrap", action="store_true")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-memory")
    ap.add_argument("--timeout", type=float, default=6 * 3600, help="per curation run, seconds")
    ap.add_argument("--set", action="append", default=[], help="config override key=value (repeatable)")
    args = ap.parse_args()
    if not Path("/usr/bin/time").is_file():
        sys.exit("needs GNU time at /usr/bin/time (apt-get install time)")
    sys.path.insert(0, str(HERE))
    from sbs_recordings import make_sbs_recording, repeat_recording

    overrides: list[str] = []
    ckpt = None
    if not args.no_bootstrap:
        ckpt = args.bootstrap
        if ckpt is None:
            from model.bootstrap import BootstrapNet, save_bootstrap

            ckpt = args.cache / "bootstrap-random.safetensors"
            if not ckpt.exists():
                ckpt.parent.mkdir(parents=True, exist_ok=True)
                save_bootstrap(ckpt, BootstrapNet())
            overrides.append("scoring.bootstrap_trust=always")  # a random model: run it anyway
    overrides += args.set
    w, h = args.size
    # 8 s shots: longer than a clip (150 frames), so every minute has clips to score and decide
    base = make_sbs_recording(args.cache / "rec", w, h, args.fps, 60, shot_seconds=8.0)
    recs = {m: base if m == 1 else repeat_recording(base, m, args.cache / "rec") for m in sorted(args.minutes)}
    work = Path(tempfile.mkdtemp(prefix="curate-memory-"))
    print(f"{w}x{h} per eye side by side, {args.fps} fps; command (OUT fresh each run):")
    print("  /usr/bin/time -v " + " ".join(curate_command(recs[min(recs)], Path("OUT"), ckpt, overrides)), flush=True)
    peaks: dict[int, list[dict]] = {}
    try:
        for k in range(args.repeats):
            for minutes, manifest in recs.items():
                r = measure(manifest, ckpt, overrides, args.timeout, work)
                peaks.setdefault(minutes, []).append(r)
                print(f"run {k + 1}: {minutes:3d} min: peak RSS {r['peak_mb']:7.1f} MB, wall {r['wall_s']:7.1f} s, "
                      f"CPU {r['cpu_s']:7.1f} s   {r['summary']}", flush=True)
                print(f"           RSS max per tenth of the run (MB): {' '.join(f'{x:.0f}' for x in r['tenths'])}",
                      flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ref = statistics.median(r["peak_mb"] for r in peaks[min(peaks)])
    print("\nminutes  median peak RSS (MB)  runs (MB)                  median wall (s)  ratio to the shortest")
    for minutes, rs in peaks.items():
        v = [r["peak_mb"] for r in rs]
        print(f"{minutes:7d}  {statistics.median(v):20.1f}  {', '.join(f'{x:.0f}' for x in v):26s} "
              f"{statistics.median(r['wall_s'] for r in rs):15.0f}  {statistics.median(v) / ref:.3f}")


if __name__ == "__main__":
    main()
