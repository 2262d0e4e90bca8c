"""Curation of recordings: one analysis pass (per chunk), then spans, clips, scores and decisions.

The public steps, each picklable in and out so they can run as separate tasks on any runner:
    chunks = plan_chunks(manifest, config)                      # curate.analysis
    tables = [analyze_chunk(manifest, c, config, scorer) for c in chunks]   # ChunkTable each
    table = merge_chunks(tables)                                # curate.table (== one pass)
    result = finish_recording(manifest, table, config, scorer)  # RecordingResult
`curate_recording(manifest, config, scorer)` does all of it in this process and never raises for
bad input: a recording that cannot be opened is returned with status "failed" and its error;
frames that cannot be decoded become an "unreadable" span. `synthdepth curate` and the flow run
these steps as flows' per-recording task graph (analyse chunks -> merge -> finish -> write +
publish); `run_curation(manifests, out_dir, config)` runs them one recording after the other in
this process (tests, benchmarks) and writes clips.parquet, spans.parquet, recordings.parquet and
report.html, each to a temporary name and then renamed.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from common.frames import sample_indices  # a clip's score samples (the calibration's too)
from common.memory import release_free_memory
from common.records import Clip, RecordingInfo, Segment, Span
from common.schema import CLIP_SCHEMA, RECORDING_SCHEMA, SPAN_SCHEMA, recording_row, table
from curate.analysis import Chunk, analyze_chunk, plan_chunks
from curate.checks import cheap_scores
from curate.clips import check_accounting, plan_clips
from curate.config import CurateConfig
from curate.decision import decide
from curate.features import FrameFeatures
from curate.frame_checks.run import fault_labels, summarise
from curate.scenes import depth_confirmed, missed_cuts, replay_cuts, transition_frames
from curate.scoring import CurationScorer, get_scorer
from curate.table import ChunkTable, fold_thumbnails, merge_chunks

log = logging.getLogger("synthdepth.curate")

__all__ = ["Chunk", "ChunkTable", "CurationSummary", "RecordingResult", "analyze_chunk", "curate_recording",
           "finish_recording", "get_scorer", "merge_chunks", "plan_chunks", "run_curation", "scene_cuts",
           "write_results"]


@dataclass
class RecordingResult:
    info: RecordingInfo
    clips: list[Clip] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)
    stats: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    # clip_id -> (rgb, captured depth, predicted depth or None) of one sampled frame, for the report
    previews: dict[str, tuple] = field(default_factory=dict)
    features: FrameFeatures | None = None
    seconds: float = 0.0
    thresholds: dict = field(default_factory=dict)  # the depth thresholds the decision used
    # per check: the frames it discarded (after span shaping), for benches and the report
    check_masks: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class CurationSummary:
    out_dir: Path
    recordings: int
    failed: int
    frames: int
    clips_kept: int
    clips_dropped: int
    drops_by_reason: dict[str, int]
    spans_by_reason: dict[str, int]
    notes: list[str]
    seconds: float
    files: dict[str, Path]


def _failed(manifest_path: str, e: Exception, t0: float) -> RecordingResult:
    info = RecordingInfo(recording_id=Path(manifest_path).stem, manifest=manifest_path)
    info.status = "failed"
    info.errors.append(f"{type(e).__name__}: {e}")
    log.error("cannot read recording %s: %s", manifest_path, e)
    return RecordingResult(info=info, seconds=time.perf_counter() - t0)


def curate_recording(manifest_path: str | Path, config: CurateConfig, scorer: CurationScorer | None = None,
                     progress: bool = True, chunk_frames: int | None = None,
                     read_options: dict | None = None) -> RecordingResult:
    """Curate one recording in this process: plan its chunks (`analysis.chunk_seconds`, or
    `chunk_frames` frames), analyse them one after the other, merge and finish. Errors go into
    `info.errors` / `info.status`, never raised for bad input; transient I/O errors (OSError)
    are raised so the caller's retries see them. `read_options`: how the recording is read
    (`capture.open_recording`'s `threads`, `convert_threads`, `hwaccel`), e.g. one decoder thread
    in a one-thread worker."""
    import capture

    t0 = time.perf_counter()
    manifest_path = str(manifest_path)
    try:
        rec = capture.open_recording(manifest_path, **(read_options or {}))
        chunks = plan_chunks(manifest_path, config, chunk_frames, recording=rec)
    except OSError:
        # Transient I/O (network mount, object store): the caller's retries must see it. Bad
        # input comes as InputError, a ValueError, and is reported below.
        raise
    except Exception as e:  # InputError for bad manifests/media; anything else is reported the same way
        return _failed(manifest_path, e, t0)
    if scorer is None:
        scorer = get_scorer(config.scoring)
    scorer.setup()
    tables: list[ChunkTable] = []
    try:
        for c in chunks:
            tables.append(analyze_chunk(manifest_path, c, config, scorer, progress=progress, recording=rec))
            fold_thumbnails(tables)  # memory flat in the number of chunks
            release_free_memory()
    finally:
        if hasattr(rec, "close"):
            rec.close()
    table = merge_chunks(tables)
    del tables  # the chunks' rows now live in `table` only
    release_free_memory()  # before the checks' whole-recording arrays
    result = finish_recording(manifest_path, table, config, scorer)
    result.seconds = time.perf_counter() - t0
    return result


def finish_recording(manifest_path: str | Path, table: ChunkTable, config: CurateConfig,
                     scorer: CurationScorer | None = None) -> RecordingResult:
    """Cuts, labels, spans, clips, scores and decisions from a recording's merged table (no
    decoding). `scorer` supplies the notes and the depth thresholds (its bootstrap's calibration)."""
    t0 = time.perf_counter()
    if table.start != 0 or table.stop != table.info.num_frames:
        raise ValueError(f"finish_recording: table covers [{table.start}, {table.stop}) of "
                         f"{table.info.num_frames} frames; merge the chunks first")
    if scorer is None:
        scorer = get_scorer(config.scoring)
    scorer.setup()
    info = RecordingInfo(**{**asdict(table.info), "errors": list(table.info.errors)})
    info.manifest = str(manifest_path)
    n = info.num_frames
    read = table.frames_read
    info.errors.extend(table.errors)
    if read < n:
        info.errors.append(f"only {read} of {n} frames could be read")
    if read == 0:
        info.status = "failed"
    fc = config.frame_checks
    features = table.frame_features()
    cuts = scene_cuts(table.scene_score, info.fps, features, config)

    notes = list(scorer.notes)
    notes += [x for x in table.notes if x not in notes]
    info.bootstrap_trusted = features.bootstrap is not None

    # One label per frame: unreadable > transition > fault > "" (usable).
    # One motion summary for the frame checks and the clip checks.
    motion = summarise(features, fc, cuts) if len(features) else None
    labels, shaped = fault_labels(features, fc, cuts, bootstrap_trusted=info.bootstrap_trusted, motion=motion,
                                  depth_exact=info.depth_exact, fps=info.fps)
    labels = list(labels) if labels else [""] * n
    unreadable = ~table.readable
    trans = transition_frames(cuts, n, config.scenes.transition_frames,
                              features.depth_dist[:, 0] if len(features) and features.depth_dist.size else None,
                              motion.usual_depth_change if motion is not None else 0.0, config.scenes,
                              motion.repeat if motion is not None else None)
    for i in np.flatnonzero(trans & ~unreadable):
        labels[i] = "transition"
    for i in np.flatnonzero(unreadable):
        labels[i] = "unreadable"

    segments, clips, spans = plan_clips(info.recording_id, labels, cuts, config.clips, info.manifest, info.fps,
                                        config.config_hash())
    dup = set(np.flatnonzero(table.duplicated).tolist())
    grid = np.flatnonzero(table.scored)
    for clip in clips:
        clip.scores = cheap_scores(features, clip.start_frame, clip.end_frame, fc, dup, motion=motion)
        a, b = np.searchsorted(grid, [clip.start_frame, clip.end_frame])
        idx = sample_indices(grid[a:b].tolist(), config.scoring.num_samples)
        if not idx:
            if scorer.bootstrap.available or scorer.clip.available:
                clip.errors.append("no scored frames inside the clip")
            continue
        clip.scores.depth_abs_rel = _median(table.abs_rel[idx])
        clip.scores.depth_delta1 = _median(table.delta1[idx])
        clip.scores.clip_similarity = _median(table.clip_sim[idx])

    thresholds = scorer.depth_thresholds(config.decision)
    for note in scorer.notes:
        if note not in notes:
            notes.append(note)
    chain = decide(clips, config.decision, scorer.clip_reference, thresholds)
    for c in clips:
        c.depth_threshold_source, c.delta1_min, c.abs_rel_max = thresholds.source, thresholds.delta1_min, thresholds.abs_rel_max
    previews: dict[str, tuple] = {}
    for decision in ("kept", "dropped"):
        shown = 0
        for c in clips:
            if shown >= config.previews_per_decision:
                break
            if c.decision != decision:
                continue
            p = table.thumbs.preview_for(c.start_frame, c.end_frame)
            if p is not None:
                previews[c.clip_id] = p
                shown += 1

    info.notes = list(notes)
    info.usable_frames = int(sum(1 for x in labels if x == ""))
    info.kept_frames = int(sum(c.end_frame - c.start_frame for c in clips if c.decision == "kept"))
    problems = check_accounting(n, clips, spans)
    if problems:  # a bug, not bad input: say it loudly but keep the results
        info.errors.extend(f"accounting: {p}" for p in problems)
        log.error("%s: frame accounting broken: %s", info.recording_id, problems)
    return RecordingResult(
        info=info, clips=clips, spans=spans, segments=segments, cuts=cuts, stats=chain.stats,
        notes=notes, previews=previews, features=features, seconds=table.seconds + time.perf_counter() - t0,
        thresholds=thresholds.to_dict(), check_masks=shaped,
    )


def scene_cuts(scene_score: np.ndarray, fps: float, features: FrameFeatures, config: CurateConfig) -> list[int]:
    """PySceneDetect's cuts of the picture (replayed from its per-frame scores) that the depth
    confirms (curate/scenes.py:depth_confirmed), and those it missed that the depth and the
    picture's structure show together (curate/scenes.py:missed_cuts)."""
    cuts = replay_cuts(scene_score, fps, config.scenes)
    if not len(features) or not features.depth_dist.size:
        return cuts
    m = summarise(features, config.frame_checks, cuts)
    d1 = features.depth_dist[:, 0]
    kept = depth_confirmed(cuts, d1, m.usual_depth_change, m.repeat | m.nearly_still, config.scenes,
                           config.frame_checks.history_frames)
    return sorted(kept + missed_cuts(scene_score, d1, features.struct, m.usual_depth_change, config.scenes, cuts))


def _median(values: list[float]) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


# ---- many recordings --------------------------------------------------------------------------


def _write_parquet(rows: list[dict], schema: pa.Schema, path: Path) -> None:
    t = table(rows, schema)
    tmp = path.with_name(f".{path.name}.partial")
    pq.write_table(t, tmp)
    os.replace(tmp, path)


def write_results(results: list[RecordingResult], out_dir: Path, config: CurateConfig, notes: list[str]) -> dict[str, Path]:
    from curate.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "clips": out_dir / "clips.parquet",
        "spans": out_dir / "spans.parquet",
        "recordings": out_dir / "recordings.parquet",
        "report": out_dir / "report.html",
    }
    _write_parquet([c.to_row() for r in results for c in r.clips], CLIP_SCHEMA, files["clips"])
    _write_parquet([s.to_row() for r in results for s in r.spans], SPAN_SCHEMA, files["spans"])
    _write_parquet([recording_row(r.info) for r in results], RECORDING_SCHEMA, files["recordings"])
    write_report(results, files["report"], config, notes)
    return files


def run_curation(manifests: list[str | Path], out_dir: str | Path, config: CurateConfig | None = None,
                 progress: bool = True) -> CurationSummary:
    """Curate `manifests` one after the other in this process and write the Parquet files and the
    report into `out_dir` (tests, benchmarks). Many recordings at once, keyed and published one by
    one, is `synthdepth curate` / `synthdepth run`: flows' per-recording task graph."""
    t0 = time.perf_counter()
    config = config or CurateConfig()
    out_dir = Path(out_dir)
    scorer = get_scorer(config.scoring)
    notes: list[str] = list(scorer.notes)
    results: list[RecordingResult] = []
    for m in tqdm([str(m) for m in manifests], desc="recordings", unit="rec", disable=not progress or len(manifests) < 2):
        r = curate_recording(m, config, scorer, progress=progress)
        r.features = None
        results.append(r)
        notes.extend(x for x in r.notes if x not in notes)
    for n in notes:
        log.warning(n)
    files = write_results(results, out_dir, config, notes)
    clips = [c for r in results for c in r.clips]
    drops: Counter = Counter()
    for c in clips:
        drops.update(c.reasons)
    spans: Counter = Counter()
    for r in results:
        for s in r.spans:
            spans[s.reason] += s.end_frame - s.start_frame
    return CurationSummary(
        out_dir=out_dir, recordings=len(results), failed=sum(r.info.status == "failed" for r in results),
        frames=sum(r.info.num_frames for r in results),
        clips_kept=sum(c.decision == "kept" for c in clips), clips_dropped=sum(c.decision == "dropped" for c in clips),
        drops_by_reason=dict(drops), spans_by_reason=dict(spans), notes=notes,
        seconds=time.perf_counter() - t0, files=files,
    )
