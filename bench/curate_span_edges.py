"""How far the found spans' edges are from the true ones: the measurement behind the padding
(`frame_checks.pad_frames`) and the frames discarded around a cut (`scenes.transition_frames`).

    python bench/curate_span_edges.py               # 6 simulated + 4 real x 30 s (curate_accuracy's set)
    python bench/curate_span_edges.py --external    # + curate_external's set (the README figures)

Curates the accuracy bench's recordings (bench/curate_accuracy.py: held-out seeds, every fault
kind, the span hard negatives, simulated and made from the real captures) with no padding and
no frames taken around cuts (`--external`: the external bench's --full recordings too: faults
injected from outside, bench/curate_external.py), then for each true fault event measures how many of its frames
the unpadded spans leave out at its start and at its end before the first / after the last
frame they cover (the "leak" a padding of that many frames closes), how many clean frames the
span of the check that came closest reaches past each edge (what padding adds to), and for each
true cut the distance to the nearest found cut. Printed per fault kind and per footage: the
distribution of the leaks, and the padding that closes every leak seen (the default should be at
least that); per check and side (`pad_frames` before a span, `pad_after` after it): its leaks
and how far it reaches past.
An event no span touches at all is a miss, not an edge: it is counted apart (curate_accuracy
reports the misses). No bootstrap: the model-free checks decide the spans (as they do whenever
calibration does not trust the bootstrap).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np


def event_leaks(discarded: np.ndarray, start: int, end: int) -> tuple[int, int] | None:
    """Frames of the fault [start, end) left out before the first and after the last discarded
    frame in it; None when none of it is discarded (a miss)."""
    inside = np.flatnonzero(discarded[start:end])
    if inside.size == 0:
        return None
    return int(inside[0]), int(end - start - 1 - inside[-1])


def reach_past(mask: np.ndarray, faulty: np.ndarray, start: int, end: int, side: str) -> int:
    """Clean frames `mask` covers in one run from the fault [start, end) outwards on `side`."""
    t, step, k = (start - 1, -1, 0) if side == "start" else (end, 1, 0)
    while 0 <= t < len(mask) and mask[t] and not faulty[t]:
        t, k = t + step, k + 1
    return k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recordings", type=int, default=6)
    ap.add_argument("--real", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=5101)
    ap.add_argument("--external", action="store_true", help="also curate_external's recordings")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-corpus")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    from curate_accuracy import _simulate_eval
    from recipes import curate_and_evaluate, external_corpus

    recs = {"procedural": _simulate_eval(args.cache, args.recordings, args.seconds, args.seed)}
    if args.real:
        recs["real"] = external_corpus(args.cache, "real", args.real, args.seconds, args.seed + 900)
    if args.external:  # the same recordings as bench/curate_external.py
        recs["ext-procedural"] = external_corpus(args.cache, "procedural", 3, 90.0, 7001, per_kind=2)
        recs["ext-real"] = external_corpus(args.cache, "real", 3, 60.0, 7501, per_kind=2)
    from curate.frame_checks.registry import REGISTRY

    # No padding at all: the shared one and every check's own.
    overrides = ["frame_checks.pad_frames=0", "scenes.transition_frames=0",
                 *[f"frame_checks.{c.name}.{p}=0" for c in REGISTRY for p in ("pad_frames", "pad_after")]]
    _, results, _ = curate_and_evaluate(recs, {k: None for k in recs}, 150, overrides, ("ViT-B-32", None))

    leaks: dict[tuple[str, str], list[int]] = defaultdict(list)  # (footage, kind) -> leak per edge
    misses: dict[tuple[str, str], int] = defaultdict(int)
    cut_offsets: dict[str, list[int]] = defaultdict(list)
    worst: dict[tuple[str, str], tuple[int, str]] = {}
    by_check: dict[tuple[str, str], list[int]] = defaultdict(list)  # (check, side) -> leak at each edge it comes closest to
    past: dict[tuple[str, str], list[int]] = defaultdict(list)  # (check, side) -> clean frames its span reaches past the edge
    for footage, r, truth in results:
        n = truth.n_frames
        faulty = truth.fault_mask()
        discarded = np.zeros(n, bool)
        for s in r.spans:
            if s.reason.startswith("fault:"):
                discarded[s.start_frame:min(n, s.end_frame)] = True
        for e in truth.fault_events():
            kind, a, b = e["kind"], int(e["start_frame"]), int(e["end_frame"])
            got = event_leaks(discarded, a, b)
            if got is None:
                misses[(footage, kind)] += 1
                continue
            per = {name: event_leaks(np.asarray(mk[:n], bool), a, b) for name, mk in r.check_masks.items()}
            per = {k: v for k, v in per.items() if v is not None}
            for i, side in enumerate(("start", "end")):
                if per:
                    best = min(v[i] for v in per.values())
                    for name, v in per.items():
                        if v[i] == best:
                            by_check[(name, side)].append(best)
                            past[(name, side)].append(reach_past(np.asarray(r.check_masks[name][:n], bool), faulty, a, b, side))
            for side, v in zip(("start", "end"), got, strict=True):
                leaks[(footage, kind)].append(v)
                if v > worst.get((footage, kind), (-1, ""))[0]:
                    worst[(footage, kind)] = (v, f"{r.info.recording_id} {side} of [{a}, {b})")
        found = np.asarray(sorted(r.cuts), int)
        for c in truth.cuts:
            if found.size:
                j = int(np.argmin(np.abs(found - c)))
                cut_offsets[footage].append(int(found[j] - c))

    print("fault edges: frames of a true fault left outside its unpadded span, per edge "
          "(pad_frames >= the max closes every one seen)")
    print(f"{'footage':<11} {'kind':<14} {'edges':>5} {'0':>4} {'1':>4} {'2':>4} {'>2':>4} {'max':>4} "
          f"{'missed':>6}  worst")
    overall: dict[str, int] = {}
    for (footage, kind), v in sorted(leaks.items()):
        a = np.asarray(v)
        print(f"{footage:<11} {kind:<14} {a.size:>5} {(a == 0).sum():>4} {(a == 1).sum():>4} {(a == 2).sum():>4} "
              f"{(a > 2).sum():>4} {a.max():>4} {misses[(footage, kind)]:>6}  {worst[(footage, kind)][1]}")
        overall[kind] = max(overall.get(kind, 0), int(a.max()))
    print("RESULT fault edge leak max per kind:", dict(sorted(overall.items())),
          "-> padding that closes them all:", max(overall.values(), default=0))
    print("\nper check and side: the edges it comes closest to (of every check covering the fault), its leak "
          "there (its own padding on that side must close it: pad_frames before, pad_after after), and the "
          "clean frames its span reaches past the edge (what the padding adds to)")
    for (name, side), v in sorted(by_check.items()):
        a, o = np.asarray(v), np.asarray(past[(name, side)])
        print(f"  {name:<14} {side:<5} edges {a.size:>4}  leak 0: {(a == 0).sum():>4}  1: {(a == 1).sum():>3}  "
              f"2: {(a == 2).sum():>3}  >2: {(a > 2).sum():>3}  max {a.max()}   past the edge: 0: {(o == 0).sum():>4}  "
              f"1: {(o == 1).sum():>3}  2: {(o == 2).sum():>3}  >2: {(o > 2).sum():>3}")
    print("RESULT leak max per check and side:", {f"{k[0]}.{k[1]}": int(max(v)) for k, v in sorted(by_check.items())})
    print("\ncuts: found cut minus true cut (frames; the nearest found cut to each true one)")
    for footage, v in sorted(cut_offsets.items()):
        a = np.asarray(v)
        near = np.abs(a) <= 3
        print(f"{footage:<11} cuts {a.size:>4}  exact {(a == 0).sum():>4}  within 1 {(np.abs(a) <= 1).sum():>4}  "
              f"offsets within 3 frames: {sorted(set(a[near].tolist()))}  (farther = missed: {(~near).sum()})")


if __name__ == "__main__":
    main()
