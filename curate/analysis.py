"""The analysis pass: decode a recording (or one chunk of it) once and fill its per-frame table.

Every decoded frame is downscaled once (`curate.frames`) and that copy feeds, in one loop:
PySceneDetect's content score, the frame checks' feature extractor, the bootstrap tracker (depth
lag / misalignment) and the model scores of the grid frames (`curate.frame_scores`), with the
tracker's predictions reused for the scores. Nothing but the table (`curate.table.ChunkTable`)
outlives the pass.

Chunks. A long recording is split (`plan_chunks`) into chunks of about `analysis.chunk_seconds`.
A chunk records rows [start, stop) but reads [read_start, read_stop):
- warm-up before `start`: the feature extractor's `history` frames (a feature of frame t depends
  on frames t - history .. t) and the previous frame of the scene score; chunks begin reading
  right after a keyframe, so the warm-up costs no extra decoding;
- look-ahead after `stop`: the bootstrap's J frames (row t compares the prediction of frame t
  with the depth of frames t .. t + J).
Every other result depends only on the frame itself or on absolute frame numbers (the bootstrap
samples every k-th frame, the score grid), so the merged chunks equal one pass exactly; cuts,
labels, clips and decisions are all made after the merge (`curate.pipeline.finish_recording`).
Chunk inputs and outputs are picklable, so chunks run as separate tasks on any runner.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.records import RecordingInfo
from curate.bootstrap_checks import BootstrapTracker
from curate.config import CurateConfig
from curate.frame_checks import FrameFeatureExtractor
from curate.frame_scores import FrameScoreSampler
from curate.frames import analysis_frames, duplicated_in, keyframes
from curate.scenes import ContentScores
from curate.scoring import CurationScorer, get_scorer
from curate.table import ChunkTable
from curate.thumbnails import Thumbnails

log = logging.getLogger("synthdepth.curate")


@dataclass(frozen=True)
class Chunk:
    """Rows [start, stop) of a recording of `num_frames` frames, read from [read_start, read_stop)."""

    index: int
    start: int
    stop: int
    read_start: int
    read_stop: int
    num_frames: int

    def __len__(self) -> int:
        return self.stop - self.start


def warmup_frames(config: CurateConfig) -> int:
    """Frames a chunk reads before its first row."""
    return max(FrameFeatureExtractor(config.frame_checks).history, 1)


def lookahead_frames(config: CurateConfig) -> int:
    """Frames a chunk reads after its last row (the bootstrap's comparisons reach J frames ahead;
    a chunk run without a bootstrap model does not read them)."""
    fc = config.frame_checks
    return fc.lag_max_frames if fc.tracks_bootstrap() else 0


def chunks_at(starts: list[int], num_frames: int, warmup: int, lookahead: int) -> list[Chunk]:
    """Chunks whose rows begin at `starts` (0 first; any frame: the reader seeks to the keyframe
    before a chunk's warm-up and decodes from there)."""
    b = sorted({0, *(int(s) for s in starts if 0 < s < num_frames)})
    ends = [*b[1:], num_frames]
    return [Chunk(k, s, e, max(0, s - warmup), min(num_frames, e + lookahead), num_frames)
            for k, (s, e) in enumerate(zip(b, ends, strict=True)) if e > s]


def split_points(num_frames: int, target: int, warmup: int, keys: list[int] | None) -> list[int]:
    """Row starts about `target` frames apart, each `warmup` + 1 frames after a keyframe (so the
    chunk's reader starts just after the keyframe: the reader also decodes the frame before its
    first, for the duplicate test, and that one is then the keyframe itself)."""
    if target <= 0 or num_frames <= target:
        return [0]
    lead = warmup + 1
    cands = np.array(sorted({k + lead for k in (keys if keys is not None else range(num_frames)) if 0 < k + lead < num_frames}))
    starts = [0]
    while True:
        want = starts[-1] + target
        if want >= num_frames - target // 4 or cands.size == 0:  # no tiny last chunk
            break
        j = int(np.argmin(np.abs(cands - want)))
        s = int(cands[j])
        if s <= starts[-1]:
            later = cands[cands > starts[-1]]
            if later.size == 0:
                break
            s = int(later[0])
        if s >= num_frames:
            break
        starts.append(s)
    return starts


def plan_chunks(manifest: str | Path, config: CurateConfig, chunk_frames: int | None = None,
                recording=None) -> list[Chunk]:
    """Chunks of about `chunk_frames` (default `analysis.chunk_seconds` x fps) frames, split at
    keyframes. Raises the reader's errors (InputError for bad input, OSError for transient I/O)."""
    import capture

    rec = recording if recording is not None else capture.open_recording(manifest)
    n = len(rec)
    target = chunk_frames if chunk_frames is not None else int(round(config.analysis.chunk_seconds * float(rec.fps)))
    warm = warmup_frames(config)
    starts = split_points(n, target, warm, keyframes(rec))
    return chunks_at(starts, n, warm, lookahead_frames(config))


def recording_info(manifest: str | Path, rec) -> RecordingInfo:
    info = RecordingInfo(recording_id=rec.id, manifest=str(manifest))
    info.game = rec.manifest.game
    info.tags = dict(rec.manifest.tags)
    info.num_frames = len(rec)
    info.fps, info.width, info.height = float(rec.fps), int(rec.width), int(rec.height)
    info.depth_unit = rec.depth_unit
    info.depth_exact = bool(getattr(rec, "depth_exact", False))
    info.errors.extend(getattr(rec, "warnings", []) or [])
    return info


def _hud_mask(rec) -> np.ndarray | None:
    m = getattr(rec, "hud_mask", None)
    if m is None:
        m = getattr(rec, "_hud", None)  # capture.Recording keeps the loaded mask here
    return None if m is None else np.asarray(m, dtype=bool)


def analyze_chunk(manifest: str | Path, chunk: Chunk, config: CurateConfig, scorer: CurationScorer | None = None,
                  progress: bool = False, recording=None) -> ChunkTable:
    """The table of rows [chunk.start, chunk.stop). `recording`: an already open recording (else
    the manifest is opened here). Decode errors become unreadable rows and chunk errors; a
    recording that cannot be opened raises (InputError: bad input; OSError: transient)."""
    import capture

    t0 = time.perf_counter()
    rec = recording if recording is not None else capture.open_recording(manifest)
    if scorer is None:
        scorer = get_scorer(config.scoring)
    scorer.setup()
    info = recording_info(manifest, rec)
    if len(rec) != chunk.num_frames:
        raise ValueError(f"{manifest}: chunk planned for {chunk.num_frames} frames, the recording has {len(rec)}")
    fc = config.frame_checks
    start, stop = chunk.start, chunk.stop
    n_rows = stop - start
    width = config.analysis_width()
    hud = _hud_mask(rec)

    extractor = FrameFeatureExtractor(fc, hud)
    scenes = ContentScores(config.scenes, rec.fps)
    thumbs = Thumbnails(config.analysis.thumbnails, config.analysis.thumbnail_width)
    sampler = FrameScoreSampler(scorer, config.score_stride(), config.scoring.score_width, fc.bootstrap_input_width,
                                config.scoring.batch_size, thumbs)
    tracker = None
    if scorer.bootstrap.available and fc.tracks_bootstrap():
        tracker = BootstrapTracker(scorer.bootstrap, fc, hud, batch_size=config.scoring.batch_size,
                                   on_prediction=sampler.prediction,
                                   background=config.analysis.prefetch > 0)
    read_stop = chunk.read_stop if tracker is not None else min(chunk.read_stop, stop)
    first_feature = chunk.read_start  # the extractor sees the whole warm-up
    first_scene = max(chunk.read_start, start - 1)

    readable = np.zeros(n_rows, bool)
    scene = np.full(n_rows, np.nan)
    errors: list[str] = []
    pushed_features = 0
    bar = tqdm(total=read_stop - chunk.read_start, desc=f"analyse {rec.id} [{start},{stop})", unit="frame",
               disable=not progress, leave=False)

    def unreadable(i: int, error: str | None) -> None:
        nonlocal pushed_features
        # Errors are reported by the chunk whose rows they hit (warm-up and look-ahead frames are
        # another chunk's rows); a run of unreadable rows is named by its first row.
        if start <= i < stop and (error or i == start or readable[i - start - 1]):
            msg = error or f"frame {i}: cannot be decoded"
            errors.append(msg)
            log.error("%s: %s", rec.id, msg)
        if first_feature <= i < stop:
            extractor.mark_unreadable()
            pushed_features += 1
        if i >= first_scene:
            scenes.reset()
        if tracker is not None and i >= start:
            tracker.mark_unreadable(i)

    expected = chunk.read_start
    for fr in analysis_frames(rec, chunk.read_start, read_stop, width, prefetch=config.analysis.prefetch):
        i = fr.index
        for k in range(expected, i):  # a reader that skipped frames: they are unreadable
            unreadable(k, f"frame {k}: not delivered by the reader" if k == expected else None)
        expected = i + 1
        bar.update(1)
        if not fr.readable:
            unreadable(i, fr.error)
            continue
        row = start <= i < stop
        rgb, depth = fr.rgb, fr.depth
        if first_feature <= i < stop:
            extractor.push(rgb, depth)
            pushed_features += 1
        if first_scene <= i < stop:
            s = scenes.push(i, rgb)
            if row:
                scene[i - start] = s
        if row:
            readable[i - start] = True
            if sampler.wants(i):
                shared = tracker is not None and i % tracker.every == 0
                sampler.push(i, rgb, depth, shared)
        if tracker is not None and i >= start:
            tracker.push(i, rgb, depth, predict=row)
    for k in range(expected, read_stop):
        unreadable(k, f"frame {k}: not delivered by the reader" if k == expected else None)
    bar.close()

    feats = extractor.result()
    skip = pushed_features - n_rows  # warm-up rows
    features = {}
    for name in feats.array_fields():
        a = getattr(feats, name)
        features[name] = np.ascontiguousarray(a[skip:], dtype=np.float32)
    boot_errors = boot_sampled = None
    if tracker is not None:
        e, boot_sampled = tracker.rows(start, stop)
        boot_errors = e.astype(np.float32)
    scored, abs_rel, delta1, clip_sim = sampler.result(start, stop)
    for e in (tracker.errors if tracker is not None else []) + sampler.errors:
        errors.append(e)
        log.error("%s: %s", rec.id, e)
    dup = duplicated_in(rec, start, stop)
    if recording is None and hasattr(rec, "close"):
        rec.close()
    return ChunkTable(
        info=info, start=start, stop=stop, readable=readable, duplicated=dup, scene_score=scene,
        features=features, scored=scored, abs_rel=abs_rel, delta1=delta1, clip_sim=clip_sim,
        boot_sampled=boot_sampled, boot_errors=boot_errors, thumbs=thumbs, errors=errors,
        seconds=time.perf_counter() - t0, work_size=feats.work_size,
    )
