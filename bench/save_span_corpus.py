"""Rebuild the saved recordings that `bench/curate_span_check.py` reruns the frame checks on (issue
11): the six recordings of each external seed, the false-alarm footage and the accuracy set,
pickled by the benches' own `--save-spans`. They live in a temporary folder and go with the
machine, and a check is changed only after its diff on them, so this puts them back in one
command (about 4 minutes a seed, 8-9 for the first, which trains the bootstraps; the false-alarm
footage about 25 minutes; `--jobs 2` runs two at a time on two cores).

    python bench/save_span_corpus.py                    # the default seeds, the false-alarm footage, the accuracy set
    python bench/save_span_corpus.py --seeds 16401,15101@60 --no-false-alarms --no-accuracy
    python bench/curate_span_check.py /tmp/spans/*/ --json /tmp/spans-now.json

A folder that exists is skipped (delete it to redo a seed); each bench's log is written beside it
(`DIR/NAME.log`). A seed is `N` (30 fps) or `N@60`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

BENCH = Path(__file__).resolve().parent
# The seeds the thirteenth session rebuilt: those with events the checks left under 0.9 covered,
# and the latest fresh ones (README, "what is left").
DEFAULT_SEEDS = ("10801,12101,14001,14101,14401,14801,15001,15201,15401,15501,15601,15801,16101,"
                 "16301,16401,16501,16601,16701,16801,16901,15101@60")


def jobs_for(seeds: list[str], out: Path, false_alarms: bool, accuracy: bool) -> list[tuple[str, list[str]]]:
    """(folder name, bench command) for every set not saved yet."""
    jobs = []
    for s in seeds:
        seed, _, fps = s.partition("@")
        name = f"n{seed}" + (f"-{fps}" if fps else "")
        extra = ["--fps", fps] if fps else []
        jobs.append((name, [str(BENCH / "curate_external.py"), "--seed", seed, *extra]))
    if false_alarms:
        jobs.append(("fa", [str(BENCH / "curate_false_alarms.py"), "--full"]))
    if accuracy:
        jobs.append(("acc", [str(BENCH / "curate_accuracy.py")]))
    return [(n, cmd + ["--save-spans", str(out / n)]) for n, cmd in jobs if not (out / n).exists()]


def run(name: str, cmd: list[str], out: Path) -> tuple[str, int]:
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    with open(out / f"{name}.log", "w") as log:
        rc = subprocess.run([sys.executable, *cmd], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=BENCH.parent).returncode
    if rc and (out / name).exists():
        # (a half-saved set would be skipped next time: set it aside to be redone)
        (out / name).rename(out / f"{name}.failed-{os.getpid()}")
    return name, rc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "spans")
    ap.add_argument("--seeds", default=DEFAULT_SEEDS, help="comma list of N or N@60")
    ap.add_argument("--no-false-alarms", action="store_true")
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument("--jobs", type=int, default=1, help="benches at a time (each uses about one core)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = jobs_for([s.strip() for s in args.seeds.split(",") if s.strip()], args.out,
                    not args.no_false_alarms, not args.no_accuracy)
    failed = []
    with ThreadPoolExecutor(max(1, args.jobs)) as pool, tqdm(total=len(jobs), unit="set") as bar:
        for name, rc in pool.map(lambda j: run(*j, args.out), jobs):
            bar.update()
            if rc:
                failed.append(name)
                tqdm.write(f"{name}: exit {rc}, see {args.out / (name + '.log')}")
    print(f"{len(jobs) - len(failed)} of {len(jobs)} sets saved under {args.out}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
