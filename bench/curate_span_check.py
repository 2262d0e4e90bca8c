"""Rerun every frame check on saved curated recordings and show, span by span, what they do
(issue 11): how much of each injected fault its spans cover, which spans fall on clean frames,
and the clean frames each check marks. Seconds per set, where a curation takes minutes, so a
change to a check is judged on every saved recording before it is kept.

    python bench/curate_external.py --seed 8901 --save-spans /tmp/spans/8901     # save once
    python bench/curate_false_alarms.py --full --save-spans /tmp/spans/fa
    python bench/curate_span_check.py /tmp/spans/*/ --json /tmp/spans-now.json   # rerun the checks
    python bench/curate_span_check.py /tmp/spans/*/ --diff /tmp/spans-now.json   # after a change

An event is listed when its spans cover less than all of it (`<<<` under 0.9, the share the
outside check would miss as a leak when a clip lands on the rest); a false span is a run of
marked frames that neither touches a fault nor lies within the padding of one. To compare with
another version of the code, run this file with PYTHONPATH pointing at that tree's root (a
`git worktree`), which comes before the editable install.
"""

from __future__ import annotations

import argparse
import json
import pickle
from collections import Counter
from pathlib import Path

import numpy as np


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """`curate.series.runs_of` as plain ints (for the --json file)."""
    from curate.series import runs_of

    return [(int(a), int(b)) for a, b in runs_of(mask)]


def recheck(payload: dict, cfg) -> dict[str, np.ndarray]:
    """The shaped span of every check on the saved features, with the current code."""
    from curate.frame_checks.run import fault_labels

    _, shaped = fault_labels(payload["features"], cfg, payload["cuts"], payload["trusted"], None,
                             payload["depth_exact"], payload.get("fps"))
    return shaped


def _load(path: Path) -> list[dict]:
    """The recordings of one pickle: one dict (save_curated), or a list of them; truth labels
    rebuilt from the fault events where a pickle has none."""
    got = pickle.loads(path.read_bytes())
    out = got if isinstance(got, list) else [got]
    for d in out:
        if "labels" not in d:
            labels = [""] * len(d["features"])
            for e in d.get("events", []):
                for i in range(int(e["start_frame"]), min(len(labels), int(e["end_frame"]))):
                    labels[i] = e["kind"]
            d["labels"] = labels
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", type=Path, help="folders of pickles written by --save-spans")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="CurateConfig override")
    ap.add_argument("--json", type=Path, help="write every check's spans per recording here")
    ap.add_argument("--diff", type=Path, help="a --json file of another run: print the spans that changed")
    ap.add_argument("--all", action="store_true", help="list every event, covered or not")
    ap.add_argument("--overrun", type=int, metavar="N", help="also list runs of at least N clean frames a check marked "
                                                             "next to a fault (a span running on past it)")
    args = ap.parse_args()

    from curate.config import CurateConfig

    cfg = CurateConfig.load(None, args.overrides).frame_checks
    files = sorted(p for f in args.folders for p in (f.glob("*.pkl") if f.is_dir() else [f]))
    saved = [d for p in files for d in _load(p)]
    if not saved:
        ap.error("no pickles found")
    spans_out: dict[str, dict[str, list]] = {}
    marked: Counter = Counter()
    clean_total = 0
    n_events = short = 0
    for d in saved:
        shaped = recheck(d, cfg)
        rid = d["rid"]
        spans_out[rid] = {k: [list(r) for r in runs(m)] for k, m in shaped.items() if m.any()}
        n = len(d["features"])
        fault = np.array([bool(x) and x != "cut" for x in d["labels"]], bool)
        clean = np.array([not x for x in d["labels"]], bool)
        clean_total += int(clean.sum())
        anym = np.zeros(n, bool)
        for k, m in shaped.items():
            marked[k] += int((m & clean).sum())
            anym |= m
        marked["any"] += int((anym & clean).sum())
        for e in d["events"]:
            a, b = int(e["start_frame"]), min(n, int(e["end_frame"]))
            n_events += 1
            cov = float(anym[a:b].mean()) if b > a else 1.0
            if cov < 1.0 or args.all:
                by = ", ".join(f"{k} {m[a:b].mean():.2f}" for k, m in shaped.items() if m[a:b].any()) or "nothing"
                short += cov < 0.9
                extra = f" k={e['lag_frames']}" if "lag_frames" in e else ""
                print(f"{rid} {e['kind']}{extra} [{a},{b}) covered {cov:.2f} by {by}" + ("  <<<" if cov < 0.9 else ""))
        near = fault.copy()
        pad = cfg.pad_frames + 4  # a span may reach past a fault by its own padding
        for a, b in runs(fault):
            near[max(0, a - pad):b + pad] = True
        for k, m in shaped.items():
            for a, b in runs(m):
                if not near[a:b].any():
                    print(f"{rid} FALSE {k} [{a},{b}) {b - a} frames")
            if args.overrun:
                for a, b in runs(m & clean):
                    if b - a >= args.overrun and near[a:b].any():
                        print(f"{rid} OVERRUN {k} [{a},{b}) {b - a} clean frames next to a fault")
    print(f"\n{len(saved)} recordings, {n_events} fault events, {short} covered under 0.9")
    print(f"clean frames marked, of {clean_total}: " + ", ".join(f"{k} {v}" for k, v in marked.most_common()))
    if args.json:
        args.json.write_text(json.dumps(spans_out, indent=0))
    if args.diff:
        old = json.loads(args.diff.read_text())
        changed = 0
        for rid in sorted(set(old) | set(spans_out)):
            a, b = old.get(rid, {}), spans_out.get(rid, {})
            for k in sorted(set(a) | set(b)):
                if a.get(k) != b.get(k):
                    changed += 1
                    gone = [r for r in a.get(k, []) if r not in b.get(k, [])]
                    new = [r for r in b.get(k, []) if r not in a.get(k, [])]
                    print(f"CHANGED {rid} {k}: was {gone} now {new}")
        print(f"{changed} (recording, check) pairs changed against {args.diff}")


if __name__ == "__main__":
    main()
