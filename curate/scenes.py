"""Scene cuts with PySceneDetect, fed the frames capture already decoded (no second decode).

`SceneCutter.push(index, rgb)` takes frames one at a time; `finish()` returns the frame numbers
where a new scene starts. The frames are downscaled before detection, as PySceneDetect's own
SceneManager does, because the detector's score is a mean over pixels.
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


class SceneCutter:
    def __init__(self, config: SceneConfig, fps: float):
        self.config = config
        self.fps = float(fps)
        self.detector = make_detector(config)
        self.cuts: list[int] = []
        self._last: int | None = None

    def push(self, index: int, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        if w > self.config.detect_width:
            nh = max(2, round(h * self.config.detect_width / w))
            rgb = cv2.resize(rgb, (self.config.detect_width, nh), interpolation=cv2.INTER_AREA)
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        found = self.detector.process_frame(FrameTimecode(int(index), fps=self.fps), bgr)
        self.cuts.extend(tc.frame_num for tc in found)
        self._last = int(index)

    def finish(self) -> list[int]:
        if self._last is not None:
            found = self.detector.post_process(FrameTimecode(self._last, fps=self.fps))
            self.cuts.extend(tc.frame_num for tc in found)
        return sorted({c for c in self.cuts if c > 0})


def detect_cuts(frames: Iterable[np.ndarray], fps: float, config: SceneConfig | None = None) -> list[int]:
    """Frame numbers where a new scene starts, for an iterable of RGB uint8 frames."""
    cutter = SceneCutter(config or SceneConfig(), fps)
    for i, rgb in enumerate(frames):
        cutter.push(i, rgb)
    return cutter.finish()


def transition_frames(cuts: Iterable[int], num_frames: int, around: int) -> np.ndarray:
    """Boolean mask of the frames discarded around each cut: `around` before and after it.

    A cut at frame c means c starts the new scene; frames [c - around, c + around) go.
    """
    mask = np.zeros(num_frames, dtype=bool)
    for c in cuts:
        mask[max(0, c - around) : min(num_frames, c + around)] = True
    return mask
