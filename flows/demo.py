"""`synthdepth demo`: the whole pipeline on simulated recordings, on a laptop CPU, in a few minutes.

1. simulate a few recordings with faults (menus, lagging/frozen depth, loading screens, cuts, HUD,
   fades) into ROOT/recordings/, and one extra clean recording into ROOT/picked/;
2. write ROOT/picked/picks.csv from the clean recording's ground-truth spans ("a person marked
   these as clean") and train the bootstrap depth model on them (a short CPU run);
3. run the pipeline flow: ingest + curate (scored with the bootstrap) -> shards -> catalog ->
   a short training of the tiny flow-matching model -> evaluation of both models on held-out
   simulated scenes; Prefect's ephemeral server records every run;
4. print where the report is, the catalog's counts, the curation accuracy against the simulator's
   ground truth, and three DuckDB queries to try.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from flows.config import PipelineConfig

# Small enough for a 2-core CPU in a few minutes, big enough that clips survive between faults.
DEMO_OVERRIDES = [
    "curate.clips.length=30",
    "curate.scoring.score_width=96",
    "curate.scoring.clip_pretrained=null",  # no CLIP weights offline; the report says so
    "curate.frame_checks.work_width=96",
    "shard.rgb_preset=veryfast",
    "bootstrap.steps=200",
    "bootstrap.size=64",
    # the tiny flow-matching model: its shipped autoencoder, 96x160 buckets (the 160x90 recordings,
    # a multiple of its 32), 4 clips x 4 frames a step; ~4 min of one core
    "train.steps=300",
    "train.height=96",
    "train.width=160",
    "train.frames=4",
    "train.batch_size=4",
    "train.checkpoint_every=300",
    "evaluate.max_videos=6",  # two per kind of scene: room, street, terrain
    "evaluate.max_frames=8",
]

QUERIES = [
    ("Why were clips dropped?",
     "SELECT unnest(reasons) AS reason, count(*) AS clips FROM clips WHERE decision = 'dropped' "
     "GROUP BY reason ORDER BY clips DESC"),
    ("Kept hours per game",
     "SELECT game, count(*) AS clips, round(sum(hours), 5) AS hours FROM clips WHERE decision = 'kept' "
     "GROUP BY game ORDER BY hours DESC"),
    ("Does every frame add up?",
     "SELECT recording_id, status, num_frames, kept_frames, dropped_frames, discarded_frames, balanced "
     "FROM frames_accounting"),
]


def clean_picks(manifest: Path, out_csv: Path, min_frames: int = 16) -> int:
    """picks.csv from the ground-truth labels: every run of clean frames of at least `min_frames`."""
    from capture.simulate import load_ground_truth

    labels = load_ground_truth(manifest)["labels"]
    rows, start = [], None
    for i, lab in enumerate([*labels, "end"]):
        clean = lab in ("", "hud")
        if clean and start is None:
            start = i
        elif not clean and start is not None:
            if i - start >= min_frames:
                rows.append((start, i))
            start = None
    with out_csv.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["manifest", "start_frame", "end_frame"])
        for s, e in rows:
            w.writerow([manifest.name if manifest.parent == out_csv.parent else str(manifest), s, e])
    return len(rows)


def curation_accuracy(root: Path) -> str | None:
    """Fault-detection accuracy of the curated recordings against the simulator's labels."""
    import pyarrow.parquet as pq

    from capture.simulate import load_ground_truth
    from common.records import Clip
    from curate.accuracy import Accuracy, recording_accuracy

    total = Accuracy()
    n = 0
    for d in sorted((root / "curated").glob("*/clips.parquet")):
        rows = pq.read_table(d).to_pylist()
        recs = pq.read_table(d.parent / "recordings.parquet").to_pylist()
        if not recs or recs[0]["status"] != "ok":
            continue
        try:
            gt = load_ground_truth(recs[0]["manifest"])
        except Exception:  # not simulated
            continue
        clips = [Clip(recording_id=r["recording_id"], start_frame=r["start_frame"], end_frame=r["end_frame"],
                      decision=r["decision"], reasons=list(r["reasons"] or [])) for r in rows]
        total.add(recording_accuracy(gt["labels"], clips, faults=gt.get("faults")))
        n += 1
    return total.table() if n else None


def run_demo(root: str | Path = "synthdepth-demo", recordings: int = 4, seconds: float = 16.0,
             width: int = 160, height: int = 90, workers: int = 2, runner: str = "thread",
             overrides: list[str] | None = None, echo=print) -> dict:
    from rich.console import Console
    from rich.rule import Rule

    from capture.simulate import SimConfig, simulate_dataset, simulate_recording
    from flows.pipeline import pipeline_flow

    console = Console()
    t0 = time.perf_counter()
    root = Path(root).resolve()
    rec_dir, picked = root / "recordings", root / "picked"
    rec_dir.mkdir(parents=True, exist_ok=True)
    picked.mkdir(parents=True, exist_ok=True)

    console.print(Rule(f"1/3 simulating {recordings} recordings with faults + 1 clean recording"))
    faults = {"menu": 1.0, "depth_lag": 0.7, "frozen_depth": 0.7, "loading": 0.7, "fade": 0.7}
    sim = SimConfig(width=width, height=height, seconds=seconds, seed=100, fault_seconds=faults)
    # The manifest is <id>/<id>.json; faults.json beside it is the simulator's label sidecar.
    have = sorted(p for p in rec_dir.glob("*/*.json") if p.stem == p.parent.name)
    manifests = simulate_dataset(rec_dir, recordings, sim) if len(have) < recordings else have
    # Clean apart from two cuts, so the picks cover all three scene kinds (room, street, terrain):
    # a bootstrap that saw one kind of scene scores the others as misaligned.
    clean_cfg = sim.model_copy(update={"faults": ["cut"], "cuts": 2, "seed": 500, "seconds": 9.0})
    clean = picked / "clean-00500" / "clean-00500.json"
    if not clean.exists():
        clean = simulate_recording(picked, clean_cfg, "clean-00500")
    picks = picked / "picks.csv"
    n_picks = clean_picks(clean, picks)
    console.print(f"{len(manifests)} recordings in {rec_dir}; {n_picks} clean span(s) picked -> {picks} "
                  f"({time.perf_counter() - t0:.0f} s)")

    console.print(Rule("2/3 pipeline: bootstrap -> ingest/curate -> shard -> catalog -> train -> evaluate"))
    cfg = PipelineConfig.load(None, [f"root={root}", f"workers={workers}", f"runner={runner}",
                                     f"bootstrap.picks={picks}", *DEMO_OVERRIDES, *(overrides or [])])
    run = pipeline_flow(str(rec_dir), cfg)

    console.print(Rule(f"3/3 done in {time.perf_counter() - t0:.0f} s"))
    c = run["counts"]
    console.print(f"[bold]Report:[/bold] {run['report']}")
    console.print(f"[bold]Catalog:[/bold] {run['catalog']} (DuckDB file; live views: synthdepth query --root {root})")
    console.print(
        f"[bold]Counts:[/bold] {c['recordings']} recordings ({c['recordings_failed']} failed, "
        f"{c['recordings_not_processed']} not processed), "
        f"{c['clips_kept']} clips kept, {c['clips_dropped']} dropped "
        f"({', '.join(f'{k}={v}' for k, v in c['drops_by_reason'].items()) or 'none'}), "
        f"{sum(c['discarded_frames_by_reason'].values())} frames discarded in spans, {c['shards']} shard(s), "
        f"{c['kept_hours'] * 3600:.1f} s of kept video; frame accounting "
        f"{'balanced' if not c['unbalanced_recordings'] else 'UNBALANCED'}")
    from flows.outcome import problem_lines

    for line in problem_lines(run):
        console.print(line, style="red", markup=False)
    tr = run.get("train") or {}
    if tr.get("loss_first") is not None:
        console.print(f"[bold]Train:[/bold] {tr['steps']} steps of the tiny model, flow-matching loss "
                      f"{tr['loss_first']:.3f} -> {tr['loss_last']:.3f}; checkpoint {tr['checkpoint']}")
    for ev in run.get("evaluation") or []:
        if "abs_rel" in ev:
            console.print(f"[bold]Eval[/bold] {ev['model']:12s} on {ev['benchmark']}: AbsRel {ev['abs_rel']:.4f}  "
                          f"delta1 {ev['delta1']:.4f}" + (f"  TAE x100 {100 * ev['tae']:.3f}" if ev.get("tae") else ""))
        else:
            console.print(f"[red]Eval {ev['model']} failed: {ev.get('error')}")
    acc = curation_accuracy(root)
    if acc:
        console.print("[bold]Curation vs the simulator's ground truth:[/bold]")
        console.print(acc, markup=False)
    console.print("[bold]Three queries to try:[/bold]")
    for title, sql in QUERIES:
        console.print(f"  # {title}")
        console.print(f'  synthdepth query --root {root} "{sql}"', markup=False, soft_wrap=True)
    console.print(f"  # or with any DuckDB client: duckdb {run['catalog']} \"SELECT * FROM shards\"", markup=False)
    run["seconds"] = time.perf_counter() - t0
    return run
