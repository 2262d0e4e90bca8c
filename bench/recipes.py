"""Recipes the benchmarks share: a bootstrap trained the way a user would train it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path


def train_bootstrap_on_clean(folder: Path, ckpt: Path, n: int, seconds: float, seed: int, size: int,
                             steps: int, channels: int, threads: int, holdout_picks: int = 0) -> Path:
    """Simulate `n` clean recordings (scene kinds in turn, seeds seed..seed+n-1) in `folder`,
    write picks.csv of their full ranges and run `synthdepth bootstrap train` on it, the last
    `holdout_picks` of them held out whole for calibration (0: held-out windows of every pick).
    Reuses the checkpoint when it already exists."""
    from capture.simulate import SCENE_KINDS, SimConfig, simulate_recording

    if ckpt.exists():
        return ckpt
    rows = ["manifest,start_frame,end_frame"]
    for r in range(n):
        cfg = SimConfig(seconds=seconds, seed=seed + r, faults="none", kinds=[SCENE_KINDS[r % len(SCENE_KINDS)]])
        rid = f"sim-{seed + r:05d}"
        m = folder / rid / f"{rid}.json"
        if not m.exists():
            m = simulate_recording(folder, cfg, rid)
        rows.append(f"{m.relative_to(folder)},0,{cfg.n_frames}")
    picks = folder / "picks.csv"
    picks.write_text("\n".join(rows) + "\n")
    exe = shutil.which("synthdepth")
    cmd = ([exe] if exe else [sys.executable, "-m", "flows.cli"]) + [
        "bootstrap", "train", "--picks", str(picks), "--out", str(ckpt), "--size", str(size), "--steps", str(steps),
        "--base-channels", str(channels), "--threads", str(threads), "--holdout-picks", str(holdout_picks)]
    print("training the bootstrap:", " ".join(cmd))
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"trained the bootstrap in {time.perf_counter() - t:.0f} s")
    return ckpt


# ---- issue 11: the evaluation corpus and a bootstrap trained with `bootstrap train` defaults ----

# Real captures split by capture: the bootstrap's picks come from the first, evaluation from the
# rest, so no evaluated picture was seen in training (captures are ~1 s apart: neighbours share a lot).
REAL_TRAIN_CAPTURES = list(range(0, 8))
REAL_EVAL_CAPTURES = list(range(8, 17))


def corpus_source(footage: str, seed: int, seconds: float, **kw):
    """Clean footage for the corpus: "procedural" (SimConfig fields in kw) or "real"
    (RealFootageConfig fields in kw; captures default to the evaluation split)."""
    from capture.simulate import SimConfig
    from capture.simulate.corpus import procedural_source
    from capture.simulate.real_footage import RealFootageConfig, real_footage_source

    if footage == "procedural":
        cfg = SimConfig(seconds=seconds, seed=seed, **{"faults": "none", **kw})
        return procedural_source(cfg, f"proc-{seed:05d}")
    cfg = RealFootageConfig(seconds=seconds, seed=seed, **{"frames": REAL_EVAL_CAPTURES, **kw})
    return real_footage_source(cfg, f"real-{seed:05d}")


def train_bootstrap_defaults(folder: Path, footage: str, n: int = 6, seconds: float = 15.0, seed: int = 9001) -> Path:
    """A bootstrap the way a new user trains one: `n` clean recordings of the footage kind written by
    a player's setup (procedural: scene kinds in turn; real: the training captures), a picks.csv of
    their full ranges, then `synthdepth bootstrap train --picks picks.csv --out ...` with every other
    option at its default. Cached: reuses the checkpoint when it exists."""
    from capture.simulate import SCENE_KINDS
    from capture.simulate.corpus import make_recording

    folder = Path(folder)
    ckpt = folder / "bootstrap-defaults.safetensors"
    if ckpt.exists():
        return ckpt
    rows = ["manifest,start_frame,end_frame"]
    for r in range(n):
        if footage == "procedural":
            src = corpus_source("procedural", seed + r, seconds, kinds=[SCENE_KINDS[r % len(SCENE_KINDS)]])
        else:
            src = corpus_source("real", seed + r, seconds, frames=REAL_TRAIN_CAPTURES, clean_events="none",
                                scene_seconds=(3.0, 6.0))
        m = make_recording(folder, src, None, "obs_sbs_gray8", 18)
        rows.append(f"{m.relative_to(folder)},0,{src.n_frames}")
    picks = folder / "picks.csv"
    picks.write_text("\n".join(rows) + "\n")
    exe = shutil.which("synthdepth")
    cmd = ([exe] if exe else [sys.executable, "-m", "flows.cli"]) + [
        "bootstrap", "train", "--picks", str(picks), "--out", str(ckpt)]
    print("training the bootstrap:", " ".join(cmd))
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"trained the bootstrap in {time.perf_counter() - t:.0f} s")
    return ckpt


# Clean footage kinds of the false-alarm bench: (footage, source options, format, crf). Procedural
# recordings rotate scene kinds; "real" ones use the evaluation captures.
_R = {"clean_event_rate": 12.0}
FALSE_ALARM_FOOTAGE: dict[str, tuple[str, dict, str, int]] = {
    "plain": ("procedural", {}, "obs_sbs_gray8", 18),
    "still": ("procedural", {"clean_events": "still", "characters": 2, **_R}, "obs_sbs_gray8", 18),
    "flash": ("procedural", {"clean_events": "flash", "clean_event_rate": 20.0}, "obs_sbs_gray8", 18),
    "light_switch": ("procedural", {"clean_events": "light_switch", **_R}, "obs_sbs_gray8", 18),
    "fast_turn": ("procedural", {"clean_events": "fast_turn", **_R}, "obs_sbs_gray8", 18),
    "dark": ("procedural", {"clean_events": "dark"}, "obs_sbs_gray8", 18),
    "fog": ("procedural", {"clean_events": "fog"}, "obs_sbs_gray8", 18),
    "soft_depth": ("procedural", {"clean_events": "soft_depth", "characters": 3}, "obs_sbs_gray8", 18),
    "scene_cuts": ("procedural", {"faults": "cut", "cuts": 2}, "obs_sbs_gray8", 18),
    "fps60": ("procedural", {"fps": 60.0}, "obs_sbs_gray8", 18),
    "crf33": ("procedural", {}, "obs_sbs_gray8", 33),
    "crf10": ("procedural", {}, "obs_sbs_gray8", 10),
    "png16": ("procedural", {}, "png16", 18),
    "float": ("procedural", {}, "float", 18),
    "real_sbs_gray8": ("real", {}, "obs_sbs_gray8", 18),
    "real_float": ("real", {}, "float", 18),
    "real_png16": ("real", {}, "png16", 18),
}


def false_alarm_corpus(cache: Path, kinds: list[str], per_kind: int, seconds: float, seed: int,
                       progress: bool = True) -> list[tuple[str, str, Path]]:
    """Clean recordings, `per_kind` of each footage kind: (kind, footage, manifest). Cached."""
    from tqdm import tqdm

    from capture.simulate import SCENE_KINDS
    from capture.simulate.corpus import make_recording

    out = []
    jobs = [(k, r) for k in kinds for r in range(per_kind)]
    order = list(FALSE_ALARM_FOOTAGE)
    for kind, r in tqdm(jobs, desc="clean corpus", unit="rec", disable=not progress):
        footage, opts, fmt, crf = FALSE_ALARM_FOOTAGE[kind]
        j = order.index(kind)  # seeds follow the kind, not its place in the list asked for
        s = seed + 100 * r + j
        if footage == "procedural":
            opts = {"kinds": [SCENE_KINDS[(j + r) % len(SCENE_KINDS)]], **opts}
        src = corpus_source(footage, s, seconds, **opts)
        folder = cache / f"clean-{kind}-{seconds:g}s"
        out.append((kind, footage, make_recording(folder, src, None, fmt, crf, recording_id=f"{kind}-{s:05d}")))
    return out


def external_corpus(cache: Path, footage: str, n: int, seconds: float, seed: int, per_kind: int = 1,
                    teleports: int = 1, progress: bool = True, fps: float = 30.0) -> list[Path]:
    """`n` recordings of `footage` with every fault kind injected from outside, `per_kind` events
    each, plus teleports (procedural only: real-capture scenes already cut every few seconds).
    Formats alternate OBS side-by-side gray8 and separate RGB + depth (png16 procedural, float
    real). Procedural ones carry every span hard negative and walkers. At `fps` frames a second
    (the camera's motion, the events and the faults' lengths in seconds as at 30). Cached."""
    from tqdm import tqdm

    from capture.simulate import SCENE_KINDS
    from capture.simulate.corpus import FaultPlan, make_recording

    out = []
    for i in tqdm(range(n), desc=f"{footage} corpus", unit="rec", disable=not progress):
        s = seed + i
        if footage == "procedural":
            src = corpus_source("procedural", s, seconds, kinds=[SCENE_KINDS[i % 3], SCENE_KINDS[(i + 1) % 3]],
                                faults="cut", cuts=1, clean_events="still,flash,light_switch,fast_turn",
                                clean_event_rate=3.0, characters=2, fps=fps)
            tp = teleports
        else:
            src = corpus_source("real", s, seconds, fps=fps)
            tp = 0
        fmt = "obs_sbs_gray8" if i % 2 == 0 else ("png16" if footage == "procedural" else "float")
        plan = FaultPlan(per_kind=per_kind, teleports=tp, seed=s)
        rate = "" if fps == 30.0 else f"-fps{fps:g}"
        out.append(make_recording(cache / f"external-{footage}-{seconds:g}s-k{per_kind}-t{tp}{rate}", src, plan, fmt, 18,
                                  recording_id=f"ext-{footage[:4]}-{s:05d}"))
    return out


def bootstraps_for(cache: Path, footages, given: Path | None = None, none: bool = False) -> dict[str, Path | None]:
    """Checkpoint per footage kind: `given` for all, none, or one trained with defaults per kind."""
    out: dict[str, Path | None] = {}
    for f in footages:
        if none:
            out[f] = None
        elif given is not None:
            out[f] = given
        else:
            seed = 9001 if f == "procedural" else 9101
            out[f] = train_bootstrap_defaults(cache / f"bootstrap-{f}-s{seed}-n6-15s", f, 6, 15.0, seed)
    return out


def curate_and_evaluate(recs: dict[str, list[Path]], ckpts: dict[str, Path | None], length: int,
                        overrides: list[str] = (), clip_weights: tuple[str, str | None] = ("ViT-B-32", None),
                        progress: bool = True, save_to: Path | None = None):
    """Curate every recording (grouped by footage kind, each group with its bootstrap) with clips
    of `length` frames; returns ({footage: CurationAccuracy}, [(footage, RecordingResult, truth)], seconds).
    `save_to`: a folder to pickle each curated recording in (save_curated)."""
    from tqdm import tqdm

    from capture.simulate.truth import load_truth
    from curate.accuracy import CurationAccuracy, evaluate
    from curate.config import CurateConfig
    from curate.pipeline import curate_recording
    from curate.scoring import CurationScorer

    model, pretrained = clip_weights
    out: dict[str, CurationAccuracy] = {}
    results = []
    t = time.perf_counter()
    for footage, manifests in recs.items():
        cfg = CurateConfig.load(None, [
            f"clips.length={length}", f"scoring.bootstrap={ckpts.get(footage) or 'null'}",
            f"scoring.clip_model={model}", f"scoring.clip_pretrained={pretrained or 'null'}",
            "scoring.clip_random_init=false", *overrides])
        scorer = CurationScorer(cfg.scoring)
        scorer.setup()
        acc = out.setdefault(footage, CurationAccuracy(clip_length=length))
        for m in tqdm(manifests, desc=f"curate {footage} L={length}", unit="rec", disable=not progress):
            r = curate_recording(m, cfg, scorer, progress=False)
            if r.info.status != "ok":
                print(f"{m}: FAILED {r.info.errors}")
                continue
            truth = load_truth(m)
            if save_to is not None:
                save_curated(save_to, footage, r, truth)
            acc.add(evaluate(r, truth, length))
            results.append((footage, r, truth))
    return out, results, time.perf_counter() - t


def print_accuracy(per: dict, length: int, kept_goal: float = 0.95, retention_goal: float = 0.9) -> list[str]:
    """The accuracy tables of one clip length, per footage kind and in total; returns what misses a goal."""
    from curate.accuracy import CurationAccuracy

    total = CurationAccuracy(clip_length=length)
    bad = []
    for footage, a in per.items():
        print(f"\n--- {footage} ---")
        print(a.table())
        total.add(a)
        for k, v in sorted(a.kinds.items()):
            if v.events and v.event_recall < kept_goal:
                bad.append(f"{footage} {k} kept out {v.event_recall:.2f}")
        if a.retention < retention_goal:
            bad.append(f"{footage} retention {a.retention:.2f}")
        if a.clean_clip_keep_rate < kept_goal:
            bad.append(f"{footage} clean clips kept {a.clean_clip_keep_rate:.2f}")
    if len(per) > 1:
        print("\n--- all footage ---")
        print(total.table())
    print("\nwhich clean events trigger which check (all footage):")
    print(total.event_table())
    print(f"TARGET at clip length {length} (every fault kind >= {kept_goal:.0%} kept out, retention >= "
          f"{retention_goal}, clean clips kept >= {kept_goal:.0%}): " + ("MET" if not bad else "NOT MET: " + "; ".join(bad)))
    return bad


def save_curated(folder: Path, footage: str, result, truth) -> Path:
    """Pickle what re-running the frame checks needs (bench/curate_span_check.py): the features,
    the cuts, the recording's flags and the truth's fault events and per-frame labels."""
    import pickle

    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{result.info.recording_id}.pkl"
    payload = {"footage": footage, "rid": result.info.recording_id, "features": result.features,
               "cuts": list(result.cuts), "depth_exact": bool(result.info.depth_exact), "fps": float(result.info.fps),
               "trusted": bool(result.info.bootstrap_trusted), "events": truth.fault_events(),
               "labels": list(truth.labels)}
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(out)
    return out
