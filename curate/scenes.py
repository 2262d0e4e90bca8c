"""Scene cuts with PySceneDetect, in two steps so that a recording can be analysed in chunks.

1. `ContentScores.push(index, rgb)` computes, for every decoded frame, PySceneDetect's own
   per-frame content score (`ContentDetector._calculate_frame_score`: HSV change against the
   previous frame), on a copy downscaled to `detect_width` as PySceneDetect's SceneManager does.
   A score depends only on the frame and the one before it, so a chunk that also reads the frame
   before its first row computes exactly the scores of one pass.
2. `replay_cuts(scores, fps, config)` feeds the stored scores through the real detector
   (ContentDetector or AdaptiveDetector, subclassed only so that `_calculate_frame_score` returns
   the stored score), so threshold, `min_scene_len`, the flash filter and the adaptive window
   stay PySceneDetect's. This runs once per recording, after the chunks are merged.

`detect_cuts(frames, fps, config)` does both for an in-memory sequence.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from scenedetect import AdaptiveDetector, ContentDetector, FrameTimecode

from curate.config import SceneConfig


def make_detector(config: SceneConfig):
    if config.detector == "adaptive":
        return AdaptiveDetector(
            adaptive_threshold=config.adaptive_threshold,
            min_scene_len=config.min_scene_len,
            min_content_val=config.min_content_val,
        )
    return ContentDetector(threshold=config.threshold, min_scene_len=config.min_scene_len)


def detect_size(width: int, height: int, detect_width: int) -> tuple[int, int]:
    """(w, h) the detector sees: `detect_width` wide unless the frame is narrower."""
    if width <= detect_width:
        return width, height
    return detect_width, max(2, round(height * detect_width / width))


class ContentScores:
    """PySceneDetect's content score of each pushed frame against the previous readable one
    (0.0 for the first frame and after `reset()`, as the detector's first call gives)."""

    def __init__(self, config: SceneConfig, fps: float):
        self.config = config
        self.fps = float(fps)
        self._detector = ContentDetector()  # the score function; AdaptiveDetector uses the same one

    def push(self, index: int, rgb: np.ndarray) -> float:
        h, w = rgb.shape[:2]
        size = detect_size(w, h, self.config.detect_width)
        if size != (w, h):
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        return float(self._detector._calculate_frame_score(FrameTimecode(int(index), fps=self.fps), bgr))

    def reset(self) -> None:
        """After an unreadable frame: the next score compares with nothing (0.0)."""
        self._detector = ContentDetector()


class _Replayed:
    """Mixin: the detector's frame score is the stored one for the frame number."""

    _scores: np.ndarray

    def _calculate_frame_score(self, timecode: FrameTimecode, frame_img) -> float:  # noqa: ARG002
        return float(self._scores[timecode.frame_num])


class ReplayContentDetector(_Replayed, ContentDetector):
    pass


class ReplayAdaptiveDetector(_Replayed, AdaptiveDetector):
    pass


def replay_cuts(scores: np.ndarray, fps: float, config: SceneConfig) -> list[int]:
    """Frame numbers where a new scene starts, from per-frame content scores (NaN = unreadable
    frame: not given to the detector, as a frame that was never decoded)."""
    if config.detector == "adaptive":
        det = ReplayAdaptiveDetector(adaptive_threshold=config.adaptive_threshold,
                                     min_scene_len=config.min_scene_len, min_content_val=config.min_content_val)
    else:
        det = ReplayContentDetector(threshold=config.threshold, min_scene_len=config.min_scene_len)
    det._scores = np.asarray(scores, dtype=np.float64)
    cuts: list[int] = []
    last = None
    for i in np.flatnonzero(np.isfinite(det._scores)):
        tc = FrameTimecode(int(i), fps=float(fps))
        cuts.extend(t.frame_num for t in det.process_frame(tc, None))
        last = tc
    if last is not None:
        cuts.extend(t.frame_num for t in det.post_process(last))
    return sorted({c for c in cuts if c > 0})


class SceneCutter:
    """Streams frames (`push`) and returns the cuts (`finish`): content scores, then replay."""

    def __init__(self, config: SceneConfig, fps: float):
        self.config = config
        self.fps = float(fps)
        self._scorer = ContentScores(config, fps)
        self._scores: dict[int, float] = {}

    def push(self, index: int, rgb: np.ndarray) -> None:
        self._scores[int(index)] = self._scorer.push(index, rgb)

    def finish(self) -> list[int]:
        if not self._scores:
            return []
        s = np.full(max(self._scores) + 1, np.nan)
        for i, v in self._scores.items():
            s[i] = v
        return replay_cuts(s, self.fps, self.config)


def detect_cuts(frames: Iterable[np.ndarray], fps: float, config: SceneConfig | None = None) -> list[int]:
    """Frame numbers where a new scene starts, for an iterable of RGB uint8 frames."""
    cutter = SceneCutter(config or SceneConfig(), fps)
    for i, rgb in enumerate(frames):
        cutter.push(i, rgb)
    return cutter.finish()


def depth_confirmed(cuts: Iterable[int], depth_change: np.ndarray, usual: float, still: np.ndarray,
                    config: SceneConfig, reach: int = 10) -> list[int]:
    """The cuts the depth confirms (see `SceneConfig.depth_confirm`). `depth_change[t]`: the pooled
    one-frame depth change of frame t; `usual`: its usual value while the picture moves; `still`:
    where the depth repeats or stands nearly still (a loading screen's depth stuck at the last
    frame cannot confirm a cut, nor deny one: it stands over most of the frames after the cut; a
    slow far view stands on a frame now and then by itself, which kept a muzzle flash's false cut
    on the simulator). A cut is dropped only where the depth was measured and moved on over the
    `reach` frames from the cut without one jump."""
    cuts = sorted(int(c) for c in cuts)
    if not config.depth_confirm:
        return cuts
    d = np.asarray(depth_change, dtype=np.float64)
    n = len(d)
    out = []
    for c in cuts:
        if not 0 < c < n:
            out.append(c)
            continue
        win = d[c : min(n, c + reach + 1)]
        if not np.isfinite(win).all() or usual <= 0 or still[c : min(n, c + reach + 1)].mean() >= 0.5:
            out.append(c)  # unknown or standing depth: no evidence against the cut
            continue
        if any(_jumps(d, t, usual, config) for t in range(c, min(n, c + reach + 1))):
            out.append(c)
    return out


def _jumps(d: np.ndarray, t: int, usual: float, config: SceneConfig) -> bool:
    """The depth's one-frame change at t is a cut's: `depth_jump` x usual and `depth_rise` x the
    median of the 3 frames before."""
    prev = d[max(0, t - 3) : t]
    prev = prev[np.isfinite(prev)]
    base = float(np.median(prev)) if prev.size else 0.0
    return bool(np.isfinite(d[t]) and d[t] >= config.depth_jump * usual and d[t] >= config.depth_rise * base)


def missed_cuts(scores: np.ndarray, depth_change: np.ndarray, struct: np.ndarray, usual: float,
                config: SceneConfig, found: Iterable[int] = ()) -> list[int]:
    """Cuts the detector missed (see `SceneConfig.add_missed`), at least `min_scene_len` frames
    from the cuts it `found` and from each other."""
    if not config.add_missed or usual <= 0:
        return []
    s, st = np.nan_to_num(np.asarray(scores, np.float64)), np.nan_to_num(np.asarray(struct, np.float64))
    d = np.asarray(depth_change, dtype=np.float64)
    thr = config.threshold if config.detector == "content" else config.min_content_val
    cand = np.flatnonzero((s >= config.missed_score * thr) & (st >= config.missed_struct))
    taken = sorted(int(c) for c in found)
    out = []
    for t in cand:
        if t == 0 or any(abs(t - c) < max(config.min_scene_len, 1) for c in taken):
            continue
        if _jumps(d, int(t), usual, config):
            out.append(int(t))
            taken.append(int(t))
    return out


def transition_frames(cuts: Iterable[int], num_frames: int, around: int,
                      depth_change: np.ndarray | None = None, usual: float = 0.0,
                      config: SceneConfig | None = None, stands: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the frames discarded around each cut.

    A cut at frame c means c starts the new scene. Where the depth's own cut is found within
    `around` frames of it (the largest one-frame jump there, `_jumps`), the frames between the
    two go: those whose picture and depth belong to different scenes, none when both cut at c.
    Measured on the accuracy and external benches (bench/curate_span_edges.py), the picture's
    cuts were found at the true frame every time, so a fixed margin only cost clean frames. Where
    the depth's cut is not seen (unknown or standing depth), frames [c - around, c + around) go,
    but for a depth that moved on up to the cut and stands from it (`stands`: it repeats the
    previous frame, `MotionSummary.repeat`): a loading screen keeps the last depth, whose
    timeline stopped with the old scene's picture, so only [c, c + around) go (measured on a
    held-out real-game seed: two clean runs of exactly one clip, each ending at a cut into a
    loading screen, lost to the 2 frames before it).
    """
    mask = np.zeros(num_frames, dtype=bool)
    d = None if depth_change is None or config is None or usual <= 0 else np.asarray(depth_change, np.float64)
    for c in cuts:
        t = _depth_cut_near(d, int(c), around, usual, config) if d is not None else None
        if t is None and d is not None and _stops_at(d, stands, int(c)):
            mask[c : min(num_frames, c + around)] = True
        elif t is None:
            mask[max(0, c - around) : min(num_frames, c + around)] = True
        else:
            mask[max(0, min(c, t)) : min(num_frames, max(c, t))] = True
    return mask


def _stops_at(d: np.ndarray, stands: np.ndarray | None, c: int) -> bool:
    """The depth moved on the frame before c (measured, not standing) and stands from c on."""
    if stands is None or not 0 < c < len(d):
        return False
    return bool(stands[c] and not stands[c - 1] and np.isfinite(d[c - 1]))


def _depth_cut_near(d: np.ndarray, c: int, around: int, usual: float, config: SceneConfig) -> int | None:
    """The frame within `around` of c where the depth cuts (its largest jump there), or None."""
    best, at = -1.0, None
    for t in range(max(1, c - around), min(len(d), c + around + 1)):
        if _jumps(d, t, usual, config) and d[t] > best:
            best, at = float(d[t]), t
    return at
